using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Http;

/// <summary>
/// Issue 18: the chat widget's assets, public: <c>GET /assets/{name}</c> for the JS SDK (<c>relay-client.js</c>, the
/// ES module; <c>relay-client.global.js</c>, the classic script) and <c>widget.css</c>. A strong <c>ETag</c> (SHA-256
/// of the bytes), <c>Cache-Control: public, max-age=CoreSim:AssetMaxAge</c>; <c>If-None-Match</c> gets 304.
/// </summary>
internal static class AssetsEndpoints
{
    private static readonly FrozenDictionary<string, Asset> s_assets = Load();

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapMethods("/assets/{name}", [HttpMethods.Get, HttpMethods.Head], (string name, HttpContext context, IOptions<CoreSimOptions> options) =>
        {
            if (!s_assets.TryGetValue(name, out var asset))
            {
                return Results.NotFound(new { error = $"no asset {name}" });
            }

            var headers = context.Response.GetTypedHeaders();
            headers.ETag = asset.ETag;
            headers.CacheControl = new CacheControlHeaderValue { Public = true, MaxAge = options.Value.AssetMaxAge };
            var match = context.Request.GetTypedHeaders().IfNoneMatch;
            if (match.Any(m => m.Tag == asset.ETag.Tag || m.Equals(EntityTagHeaderValue.Any)))
            {
                return Results.StatusCode(StatusCodes.Status304NotModified);
            }

            return Results.Bytes(asset.Bytes, asset.ContentType);
        });
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(AssetsEndpoints).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith("assets/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            byte[] bytes = copy.ToArray();
            string name = resource["assets/".Length..];
            string type = name.EndsWith(".css", StringComparison.Ordinal) ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
            assets[name] = new Asset(bytes, type, new EntityTagHeaderValue("\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..32] + "\""));
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private sealed record Asset(byte[] Bytes, string ContentType, EntityTagHeaderValue ETag);
}
