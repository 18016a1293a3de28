using System.Security.Cryptography;
using System.Text;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Fleet;
using Microsoft.AspNetCore.Http;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// Basic or bearer credentials checked per <see cref="EndpointGroup"/>: ingest (remote write, <c>_bulk</c>) and query
/// (everything else but the health probes). The group is read from the endpoint routing selected, never from the
/// request's path, so a spelling routing accepts (<c>/API/V1/WRITE</c>, <c>/write/</c>, <c>/x/_Bulk</c>) cannot move a
/// request into another group. A request no endpoint matches (an unknown path, or a known path with another method) is
/// judged as a query. Comparisons are constant-time; nothing about the credentials is logged. With the fleet enabled,
/// the admin API has its own credentials (<c>auth.admin</c>), and routes are kept to their listener by the connection a
/// request came on: the fleet listener answers only the fleet routes and <c>POST /api/v1/write</c> (device routes and
/// remote write there need a device certificate, <see cref="FleetAccess"/>), the HTTP listener answers the fleet routes
/// as unknown paths.
/// </summary>
public sealed class EndpointAuthorization
{
    private readonly byte[]? _ingest;
    private readonly byte[]? _query;
    private readonly byte[]? _admin;
    private readonly bool _ingestBearer;
    private readonly bool _queryBearer;
    private readonly bool _adminBearer;
    private readonly FleetAccess? _fleet;

    /// <param name="ingest">Credentials of <see cref="EndpointGroup.Ingest"/>; null = open.</param>
    /// <param name="query">Credentials of <see cref="EndpointGroup.Query"/>; null = open.</param>
    /// <param name="admin">Credentials of <see cref="EndpointGroup.Admin"/>; null = open.</param>
    /// <param name="fleet">The fleet listener's device check, when the fleet is enabled.</param>
    public EndpointAuthorization(AuthOptions? ingest, AuthOptions? query, AuthOptions? admin = null, FleetAccess? fleet = null)
    {
        (_ingest, _ingestBearer) = Expected(ingest);
        (_query, _queryBearer) = Expected(query);
        (_admin, _adminBearer) = Expected(admin);
        _fleet = fleet;
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
        var fleetRoute = group is EndpointGroup.FleetOpen or EndpointGroup.FleetDevice;
        if (_fleet is not null && FleetAccess.IsFleetConnection(context))
        {
            // The fleet listener serves the fleet routes and remote write (with a device certificate) only: anything else
            // is unknown there, whatever its path.
            var deviceIngest = group == EndpointGroup.Ingest && context.GetEndpoint()?.Metadata.GetMetadata<FleetIngestMetadata>() is not null;
            if (!fleetRoute && !deviceIngest)
            {
                await FleetApi.WriteErrorAsync(context, StatusCodes.Status404NotFound, "not found").ConfigureAwait(false);
                return;
            }

            if ((group == EndpointGroup.FleetDevice || deviceIngest) && !await _fleet.AuthorizeDeviceAsync(context).ConfigureAwait(false))
            {
                return;
            }

            await next().ConfigureAwait(false);
            return;
        }

        // A fleet route reached on another listener is judged and answered as a path that does not exist there.
        var (expected, bearer) = fleetRoute ? (_query, _queryBearer) : group switch
        {
            EndpointGroup.Open => (null, false),
            EndpointGroup.Ingest => (_ingest, _ingestBearer),
            EndpointGroup.Admin => (_admin, _adminBearer),
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

        if (fleetRoute)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await ErrorAnswers.WriteAsync(context, StatusCodes.Status404NotFound, "illegal_argument_exception",
                $"no handler found for uri [{context.Request.Path.Value}] and method [{context.Request.Method}]").ConfigureAwait(false);
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
