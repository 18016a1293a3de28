using System.Security.Cryptography;
using System.Text;
using Flotel.Gateway.Configuration;
using Microsoft.AspNetCore.Http;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// Basic or bearer credentials checked per endpoint group: ingest (remote write, <c>_bulk</c>) and query (everything
/// else but the health probes). Comparisons are constant-time; nothing about the credentials is logged.
/// </summary>
public sealed class EndpointAuthorization
{
    private readonly byte[]? _ingest;
    private readonly byte[]? _query;
    private readonly bool _ingestBearer;
    private readonly bool _queryBearer;

    public EndpointAuthorization(AuthOptions? ingest, AuthOptions? query)
    {
        (_ingest, _ingestBearer) = Expected(ingest);
        (_query, _queryBearer) = Expected(query);
    }

    /// <summary>Paths of the ingest group.</summary>
    public static bool IsIngestPath(PathString path) =>
        path.Equals("/api/v1/write", StringComparison.Ordinal)
        || path.Equals("/write", StringComparison.Ordinal)
        || (path.Value?.EndsWith("/_bulk", StringComparison.Ordinal) ?? false);

    /// <summary>Paths that never need credentials (probes for orchestrators).</summary>
    public static bool IsOpenPath(PathString path) =>
        path.Equals("/healthz", StringComparison.Ordinal) || path.Equals("/readyz", StringComparison.Ordinal);

    /// <summary>Middleware: answers 401 with a challenge when the request's group needs credentials it lacks.</summary>
    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var path = context.Request.Path;
        if (!IsOpenPath(path))
        {
            var ingest = IsIngestPath(path);
            var expected = ingest ? _ingest : _query;
            var bearer = ingest ? _ingestBearer : _queryBearer;
            if (expected is not null && !Matches(context.Request.Headers.Authorization.ToString(), expected, bearer))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = bearer ? "Bearer realm=\"flotel\"" : "Basic realm=\"flotel\"";
                await context.Response.WriteAsync("authentication required\n").ConfigureAwait(false);
                return;
            }
        }

        await next().ConfigureAwait(false);
    }

    private static (byte[]? Expected, bool Bearer) Expected(AuthOptions? auth) => auth switch
    {
        null => (null, false),
        { BearerToken: { } token } => (Encoding.UTF8.GetBytes("Bearer " + token.Reveal()), true),
        _ => (Encoding.UTF8.GetBytes("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{auth.Username}:{auth.Password?.Reveal()}"))), false),
    };

    private static bool Matches(string header, byte[] expected, bool bearer)
    {
        var scheme = bearer ? "Bearer " : "Basic ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Schemes are case-insensitive (RFC 9110 §11.1); compare the credentials part in constant time.
        var normalized = Encoding.UTF8.GetBytes(scheme + header[scheme.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(normalized, expected);
    }
}
