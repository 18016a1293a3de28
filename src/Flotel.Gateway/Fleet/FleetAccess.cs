using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// Who may use the fleet routes (docs/fleet.md §5): the fleet listener marks its connections, so routes are kept to
/// their listener by the connection a request came on, never by its path; a device route needs a certificate of the
/// fleet CA, not revoked and not expired (renewal excepted). TLS itself only asks for a client certificate (the CA and
/// enrolment routes work without one); the check is here, verified once per connection, revocation every request.
/// </summary>
public sealed class FleetAccess
{
    private const string ListenerItem = "flotel.fleet.listener";
    private const string IdentityItem = "flotel.fleet.identity";

    private readonly FleetService _fleet;
    private readonly TimeProvider _time;

    public FleetAccess(FleetService fleet, TimeProvider time)
    {
        _fleet = fleet;
        _time = time;
    }

    /// <summary>Connection middleware of the fleet listener: marks every connection it accepts.</summary>
    public static ConnectionDelegate MarkConnections(ConnectionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(next);
        return connection =>
        {
            connection.Items[ListenerItem] = true;
            return next(connection);
        };
    }

    /// <summary>True when <paramref name="context"/> arrived on the fleet listener.</summary>
    public static bool IsFleetConnection(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(ListenerItem) == true;
    }

    /// <summary>The device a device route was authorized for (set by <see cref="AuthorizeDeviceAsync"/>).</summary>
    public static DeviceIdentity DeviceOf(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items[IdentityItem] as DeviceIdentity ?? throw new InvalidOperationException("device route without an authorized device");
    }

    /// <summary>The device a request on the fleet listener was authorized for; null for any other request.</summary>
    public static DeviceIdentity? DeviceOrNull(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items.TryGetValue(IdentityItem, out var identity) ? identity as DeviceIdentity : null;
    }

    /// <summary>
    /// Asks Kestrel to close the request's connection once its open requests are answered: HTTP/2 sends GOAWAY (streams
    /// already open complete; the client retries any it opened after), HTTP/1.1 answers with "Connection: close".
    /// </summary>
    public static void CloseWhenIdle(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Features.Get<IConnectionLifetimeNotificationFeature>()?.RequestClose();
    }

    /// <summary>Checks the device certificate; on refusal writes 401 <c>{"error": …}</c> and returns false.</summary>
    public async Task<bool> AuthorizeDeviceAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var items = context.Features.Get<IConnectionItemsFeature>()?.Items;
        var now = _time.GetUtcNow();
        DeviceIdentity? identity = items?[IdentityItem] as DeviceIdentity;
        string reason = "a device certificate is required";
        if (identity is null && context.Connection.ClientCertificate is X509Certificate2 certificate)
        {
            identity = _fleet.Authority.Verify(certificate, now, out reason);
            if (identity is not null && items is not null)
            {
                items[IdentityItem] = identity;
            }
        }

        if (identity is not null)
        {
            // A connection may outlive its certificate: expiry is judged at each request.
            identity = identity with { Expired = identity.NotAfter < now };
            var renewing = context.GetEndpoint()?.Metadata.GetMetadata<FleetRenewMetadata>() is not null;
            if (_fleet.Admit(identity, renewing) is not { } refusal)
            {
                context.Items[IdentityItem] = identity;
                if (_fleet.PollsByInterval(identity.Device) && context.GetEndpoint()?.Metadata.GetMetadata<FleetBundleMetadata>() is null)
                {
                    // A device over fleet.maxHeldPolls holds no connection between its calls (docs/fleet.md §5): its status
                    // reports and remote writes close theirs once done too. The bundle route decides for itself.
                    CloseWhenIdle(context);
                }

                return true;
            }

            reason = refusal;
        }

        await FleetApi.WriteErrorAsync(context, StatusCodes.Status401Unauthorized, reason).ConfigureAwait(false);
        return false;
    }
}

/// <summary>
/// Marks an ingest route the fleet listener also serves, with a device certificate (remote write, docs/fleet.md §6): on
/// the HTTP listener it stays an ingest route with the ingest credentials.
/// </summary>
public sealed class FleetIngestMetadata
{
}

/// <summary>Marks the bundle route: it decides itself whether its connection closes (a deferred poll, docs/fleet.md §5).</summary>
public sealed class FleetBundleMetadata
{
}

/// <summary>Marks the renewal route: it accepts a recently expired certificate (<c>fleet.renewGraceDays</c>).</summary>
public sealed class FleetRenewMetadata
{
}
