using System.Net.Security;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Net;

namespace Flotel.Agent.Metrics;

/// <summary>
/// One receiver configuration with its HTTP client (docs/reference/flotta-device-worker.md §4.7 "Configuration"): the URL, the per-request timeout,
/// for https the CA from <c>caSecretName</c>'s <c>ca.crt</c> as the only trust root (as Flotta's <c>CAFile</c>), and the
/// credentials of Flotel's <c>authSecretName</c> (basic or bearer) on every request.
/// Immutable: a configuration change builds a new endpoint, so a request in flight finishes on the one it started with.
/// </summary>
internal sealed class ReceiverEndpoint : IDisposable
{
    private readonly CustomCaTrust? _trust;

    /// <param name="fleet">
    /// The device's fleet identity: for https its certificate is presented when the receiver asks, and the fleet CA is
    /// trusted in addition to <c>caSecretName</c> (or the system roots without one; docs/fleet.md §6).
    /// </param>
    public ReceiverEndpoint(MetricsReceiverPlan plan, Fleet.DeviceIdentity? fleet = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Plan = plan;
        Url = new Uri(plan.Url, UriKind.Absolute);
        Timeout = TimeSpan.FromSeconds(plan.TimeoutSeconds > 0 ? plan.TimeoutSeconds : FlottaDefaults.TimeoutSeconds);
        if (Url.Scheme == Uri.UriSchemeHttps && fleet is not null && string.IsNullOrWhiteSpace(plan.CaCertificatePem) && fleet.IsFleetListener(Url))
        {
            // The gateway's fleet listener (docs/fleet.md §6): remote write joins the control plane's HTTP/2 connection,
            // which trusts the fleet CA alone (the CA that issued the listener's certificate) and presents the device's.
            Http = new HttpClient(fleet.FleetListenerHandler, disposeHandler: false) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            Version = System.Net.HttpVersion.Version20;
            ApplyAuthorization(plan);
            return;
        }

        var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            ConnectTimeout = Timeout,
            UseProxy = false,
        };
        if (Url.Scheme == Uri.UriSchemeHttps && fleet is not null)
        {
            _trust = fleet.DataConnectionTrust(plan.CaCertificatePem);
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = _trust.ServerCertificateValidator(alsoSystemRoots: string.IsNullOrWhiteSpace(plan.CaCertificatePem)),
                LocalCertificateSelectionCallback = fleet.CertificateSelector,
            };
        }
        else if (Url.Scheme == Uri.UriSchemeHttps && !string.IsNullOrWhiteSpace(plan.CaCertificatePem))
        {
            // The server's chain must end in one of the Secret's certificates (the system store is not consulted); the host name must match.
            _trust = CustomCaTrust.FromPem(plan.CaCertificatePem);
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = _trust.ServerCertificateValidator(alsoSystemRoots: false),
            };
        }

        Http = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        ApplyAuthorization(plan);
    }

    /// <summary>The HTTP version requests ask for (2.0 or lower on the fleet listener; 1.1 elsewhere, as receivers expect).</summary>
    public Version Version { get; } = System.Net.HttpVersion.Version11;

    /// <summary>The plan this endpoint was built from.</summary>
    public MetricsReceiverPlan Plan { get; }

    public Uri Url { get; }

    /// <summary><c>timeoutSeconds</c>: the bound of one request, including reading the answer.</summary>
    public TimeSpan Timeout { get; }

    public HttpClient Http { get; }

    /// <summary>True when <paramref name="other"/> needs no new client (same URL, CA and credentials).</summary>
    public bool SameConnection(MetricsReceiverPlan other) =>
        string.Equals(Plan.Url, other.Url, StringComparison.Ordinal)
        && string.Equals(Plan.CaCertificatePem, other.CaCertificatePem, StringComparison.Ordinal)
        && Equals(Plan.Authorization, other.Authorization);

    public void Dispose()
    {
        Http.Dispose();
        _trust?.Dispose();
    }

    private void ApplyAuthorization(MetricsReceiverPlan plan)
    {
        if (plan.Authorization is { } auth)
        {
            // Flotel's authSecretName: on every request of this endpoint (a changed Secret builds a new endpoint).
            Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(auth.Scheme, auth.Parameter.Reveal());
        }
    }
}
