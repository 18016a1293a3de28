using System.Security.Cryptography;
using System.Text;
using Flotel.Gateway.Configuration;
using Microsoft.AspNetCore.Http;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// Basic or bearer credentials checked per <see cref="EndpointGroup"/>: ingest (remote write, <c>_bulk</c>) and query
/// (everything else but the health probes). The group is read from the endpoint routing selected, never from the
/// request's path, so a spelling routing accepts (<c>/API/V1/WRITE</c>, <c>/write/</c>, <c>/x/_Bulk</c>) cannot move a
/// request into another group. A request no endpoint matches (an unknown path, or a known path with another method) is
/// judged as a query. Comparisons are constant-time; nothing about the credentials is logged.
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

    /// <summary>The group of the endpoint routing selected for <paramref name="context"/>; <see cref="EndpointGroup.Query"/> when none or unmarked.</summary>
    public static EndpointGroup GroupOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.GetEndpoint()?.Metadata.GetMetadata<EndpointGroupMetadata>()?.Group ?? EndpointGroup.Query;
    }

    /// <summary>Middleware (after routing): answers 401 with a challenge when the endpoint's group needs credentials the request lacks.</summary>
    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var group = GroupOf(context);
        var (expected, bearer) = group switch
        {
            EndpointGroup.Open => (null, false),
            EndpointGroup.Ingest => (_ingest, _ingestBearer),
            EndpointGroup.UiAssets when _queryBearer => (null, false),
            _ => (_query, _queryBearer),
        };
        if (expected is not null && !Matches(context.Request.Headers.Authorization.ToString(), expected, bearer))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = bearer ? "Bearer realm=\"flotel\"" : "Basic realm=\"flotel\"";
            await ErrorAnswers.WriteAsync(context, StatusCodes.Status401Unauthorized, "security_exception", "authentication required").ConfigureAwait(false);
            return;
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
