using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using Relay.Contracts.Tokens;

namespace Relay.CoreSim.Http;

/// <summary>
/// Issue 18: <c>POST /files</c> (the websocket's token; the raw body, streamed to disk, at most CoreSim:MaxFileBytes:
/// 413 beyond) answers 201 <c>{id, size, url}</c>; <c>GET /files/{id}</c> streams the file back from disk (public: the id
/// is the SHA-256 of the bytes), with ETag, <c>Cache-Control: public, max-age=31536000, immutable</c> and ranges.
/// </summary>
internal static class FilesEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/files", async (HttpContext context, TokenVerifier verifier, FilesStore files) =>
        {
            string? token = context.Request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal)
                ? auth["Bearer ".Length..]
                : context.Request.Query["access_token"].ToString();
            var verified = verifier.Verify(token);
            if (!verified.IsValid)
            {
                return Results.Json(new { error = $"token refused: {verified.Error}" }, statusCode: StatusCodes.Status401Unauthorized);
            }

            if (context.Request.ContentLength > files.MaxBytes)
            {
                return TooLarge(files);
            }

            if (!files.HasRoom())
            {
                return Results.Json(new { error = "no room for more files" }, statusCode: StatusCodes.Status507InsufficientStorage);
            }

            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = files.MaxBytes + 1; // the store counts and refuses first
            }

            var stored = await files.SaveAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
            if (stored is null)
            {
                return TooLarge(files);
            }

            string url = "/files/" + stored.Id;
            context.Response.Headers.Location = url;
            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(new { id = stored.Id, size = stored.Size, url }, statusCode: StatusCodes.Status201Created);
        });

        app.MapMethods("/files/{id}", [HttpMethods.Get, HttpMethods.Head], (string id, HttpContext context, FilesStore files) =>
        {
            if (files.PathOf(id) is not { } path)
            {
                return Results.NotFound(new { error = $"no file {id}" });
            }

            context.Response.Headers.CacheControl = "public, max-age=31536000, immutable";
            return Results.File(path, "application/octet-stream", entityTag: new EntityTagHeaderValue("\"" + id[..32] + "\""), enableRangeProcessing: true);
        });
    }

    private static IResult TooLarge(FilesStore files) =>
        Results.Json(new { error = $"file over {files.MaxBytes} bytes" }, statusCode: StatusCodes.Status413PayloadTooLarge);
}
