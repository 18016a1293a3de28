using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotel.Gateway.Ui;

/// <summary>
/// The web UI at <c>/ui/</c>: three static files (Ui/wwwroot, embedded in the assembly, no build step) that call the
/// gateway's own <c>_search</c> and Prometheus endpoints from the browser. The files hold no data: with basic query auth
/// they are protected like the query API (the browser's prompt signs the user in); with a bearer token they load
/// without credentials and the page asks for the token (<see cref="Hosting.EndpointGroup.UiAssets"/>).
/// Every file is sent with a Content-Security-Policy that allows only the gateway's own script, style and requests
/// (no inline script or style attribute) and no framing.
/// </summary>
public static class WebUi
{
    /// <summary>The policy: the UI's three files, fetches to its own origin, no plugins, no framing, no foreign form targets.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly Dictionary<string, (byte[] Body, string ContentType)> Files = Load();

    /// <summary>Maps <c>/ui</c> (redirect), <c>/ui/</c> and <c>/ui/{file}</c>.</summary>
    public static void MapWebUi(this IEndpointRouteBuilder routes)
    {
        // Routing ignores a trailing slash, so "/ui" and "/ui/" reach the same endpoint: tell them apart by the raw path
        // (relative URLs in index.html need the slash).
        routes.MapGet("/ui/{file?}", (HttpContext context, string? file) =>
            file is null && !context.Request.Path.Value!.EndsWith('/') ? Results.Redirect("/ui/") : Serve(context, file ?? "index.html"));
    }

    private static IResult Serve(HttpContext context, string file)
    {
        if (!Files.TryGetValue(file, out var entry))
        {
            return Results.NotFound();
        }

        // Small files that change with the gateway's version: let the browser revalidate every time.
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Content-Type-Options"] = "nosniff";
        context.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        context.Response.Headers.XFrameOptions = "DENY";
        context.Response.Headers["Referrer-Policy"] = "no-referrer";
        return Results.Bytes(entry.Body, entry.ContentType);
    }

    private static Dictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(WebUi).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith("ui/", StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var file = name["ui/".Length..];
            var type = Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                _ => "application/octet-stream",
            };
            files[file] = (copy.ToArray(), type);
        }

        return files;
    }
}
