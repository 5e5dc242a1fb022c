using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using Relay.Contracts.Tokens;

namespace Relay.CoreSim.Http;

/// <summary>
/// Issue 18: <c>POST /files</c> (the websocket's token; the raw body, streamed to disk, at most CoreSim:MaxFileBytes:
/// 413 beyond; past a limit in all or of the token's site and <c>sub</c>: 507; more than MaxUploadsPerUser in progress: 429;
/// see <see cref="FilesStore"/>) answers 201
/// <c>{id, size, url}</c>; <c>GET /files/{id}</c> streams the file back from disk while it is kept (public: the id is the
/// SHA-256 of the bytes), with ETag, <c>Cache-Control: public, max-age=&lt;seconds until it expires&gt;, immutable</c> and ranges.
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

            // The room is taken before the body is read (uploads in progress count against every limit).
            using var upload = files.Reserve(FilesStore.UserKey(verified.Claims!.Site, verified.Claims.Subject), context.Request.ContentLength ?? 0, out string? refused, out bool busy);
            if (upload is null)
            {
                return busy ? Results.Json(new { error = refused }, statusCode: StatusCodes.Status429TooManyRequests) : InsufficientStorage(refused!);
            }

            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = files.MaxBytes + 1; // the store counts and refuses first
            }

            var saved = await files.SaveAsync(upload, context.Request.Body, context.RequestAborted).ConfigureAwait(false);
            if (saved.File is not { } stored)
            {
                return saved.Refused is { } quota ? InsufficientStorage(quota) : TooLarge(files);
            }

            string url = "/files/" + stored.Id;
            context.Response.Headers.Location = url;
            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(new { id = stored.Id, size = stored.Size, url }, statusCode: StatusCodes.Status201Created);
        });

        app.MapMethods("/files/{id}", [HttpMethods.Get, HttpMethods.Head], (string id, HttpContext context, FilesStore files, TimeProvider time) =>
        {
            if (!files.TryGet(id, out string path, out var expiresAt))
            {
                return Results.NotFound(new { error = $"no file {id}" });
            }

            // Cached no longer than it is kept (CoreSim:FileRetention).
            long maxAge = Math.Max(0, (long)(expiresAt - time.GetUtcNow()).TotalSeconds);
            context.Response.Headers.CacheControl = $"public, max-age={maxAge.ToString(System.Globalization.CultureInfo.InvariantCulture)}, immutable";
            return Results.File(path, "application/octet-stream", entityTag: new EntityTagHeaderValue("\"" + id[..32] + "\""), enableRangeProcessing: true);
        });
    }

    private static IResult InsufficientStorage(string error) =>
        Results.Json(new { error }, statusCode: StatusCodes.Status507InsufficientStorage);

    private static IResult TooLarge(FilesStore files) =>
        Results.Json(new { error = $"file over {files.MaxBytes} bytes" }, statusCode: StatusCodes.Status413PayloadTooLarge);
}
