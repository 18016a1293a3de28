using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Flotel.Pipeline.Net;

namespace Flotel.Agent.Fleet;

/// <summary>
/// The device's fleet identity: its certificate and key (<c>device.crt</c>, <c>device.key</c>) and the pinned fleet CA
/// (<c>ca.crt</c>). The certificate is replaced on renewal (<see cref="Replace"/>); every TLS connection picks the
/// current one when it is opened, so connections opened before a renewal finish with the previous, still valid one.
/// </summary>
public sealed class DeviceIdentity : IDisposable
{
    private readonly List<X509Certificate2> _retired = [];
    private readonly Lock _gate = new();
    private X509Certificate2 _certificate;
    private GracefulCloseRetryHandler? _fleetHandler;

    private DeviceIdentity(X509Certificate2 certificate, string caPem)
    {
        _certificate = certificate;
        CaPem = caPem;
        Ca = CustomCaTrust.FromPem(caPem);
        DeviceName = NameOf(certificate);
    }

    /// <summary>The certificate's CN: the EdgeDevice this agent runs.</summary>
    public string DeviceName { get; }

    /// <summary>The fleet CA, PEM.</summary>
    public string CaPem { get; }

    /// <summary>The fleet CA as a trust bundle.</summary>
    public CustomCaTrust Ca { get; }

    /// <summary>The current device certificate, with its private key.</summary>
    public X509Certificate2 Certificate => Volatile.Read(ref _certificate);

    /// <summary>Loads the identity the files hold (after finishing an interrupted renewal).</summary>
    /// <exception cref="FleetException">A file is missing or unreadable, or the key does not match the certificate.</exception>
    public static DeviceIdentity Load(FleetFiles files)
    {
        ArgumentNullException.ThrowIfNull(files);
        try
        {
            files.RecoverCandidate();
            var certificate = LoadPair(File.ReadAllText(files.Certificate), File.ReadAllText(files.Key));
            return new DeviceIdentity(certificate, File.ReadAllText(files.Ca));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new FleetException($"the device's fleet files in {files.Directory} cannot be used: {e.Message}", e);
        }
    }

    /// <summary>A certificate with its key, usable by <see cref="SslStream"/> on every platform (re-imported as PKCS#12).</summary>
    public static X509Certificate2 LoadPair(string certificatePem, string keyPem)
    {
        using var pair = X509Certificate2.CreateFromPem(certificatePem, keyPem);
        return X509CertificateLoader.LoadPkcs12(pair.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>The CN of <paramref name="certificate"/>.</summary>
    public static string NameOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
    }

    /// <summary>When the current certificate should be renewed: at 2/3 of its lifetime (docs/fleet.md §5).</summary>
    public DateTimeOffset RenewAt()
    {
        var certificate = Certificate;
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        return notBefore + ((notAfter - notBefore) * 2 / 3);
    }

    /// <summary>Switches to a renewed certificate; the previous one is kept until disposal (connections may hold it).</summary>
    public void Replace(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        lock (_gate)
        {
            _retired.Add(Interlocked.Exchange(ref _certificate, certificate));
        }
    }

    /// <summary>
    /// TLS options of a connection to the fleet listener: the server must chain to the fleet CA (only to it) and the
    /// device certificate is presented when asked for.
    /// </summary>
    public SslClientAuthenticationOptions FleetListenerOptions() => new()
    {
        RemoteCertificateValidationCallback = Ca.ServerCertificateValidator(alsoSystemRoots: false),
        LocalCertificateSelectionCallback = CertificateSelector,
    };

    /// <summary>The fleet listener this identity talks to (<c>https://HOST:PORT</c>), set by the plan source; null before.</summary>
    public Uri? Gateway { get; set; }

    /// <summary>
    /// The one connection pool to the fleet listener (<see cref="FleetListenerOptions"/>, HTTP/2): the control plane's
    /// calls and a remote write to the same listener ride one connection (docs/fleet.md §5, "Connections"). A request cut
    /// by the gateway's graceful close of that connection is sent once more (<see cref="GracefulCloseRetryHandler"/>).
    /// Disposed with the identity.
    /// </summary>
    public HttpMessageHandler FleetListenerHandler
    {
        get
        {
            lock (_gate)
            {
                return _fleetHandler ??= new GracefulCloseRetryHandler(FleetClient.CreateHandler(FleetListenerOptions()));
            }
        }
    }

    /// <summary>True when <paramref name="url"/> is on the fleet listener (same scheme, host and port as <see cref="Gateway"/>).</summary>
    public bool IsFleetListener(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return Gateway is { } gateway
            && Uri.Compare(gateway, url, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
    }

    /// <summary>Presents the current device certificate whenever a server asks for one.</summary>
    public LocalCertificateSelectionCallback CertificateSelector => (_, _, _, _, _) => Certificate;

    /// <summary>
    /// The trust of a data connection (syslog TLS target, remote-write receiver; docs/fleet.md §6): the manifests' CA
    /// Secret <paramref name="configuredCaPem"/> plus the fleet CA. Without a configured CA the system roots stay trusted
    /// too (<see cref="CustomCaTrust.ServerCertificateValidator"/> with <c>alsoSystemRoots</c> = true). The caller owns
    /// the bundle.
    /// </summary>
    public CustomCaTrust DataConnectionTrust(string? configuredCaPem) =>
        CustomCaTrust.FromPem(string.IsNullOrWhiteSpace(configuredCaPem) ? CaPem : configuredCaPem + "\n" + CaPem);

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var old in _retired)
            {
                old.Dispose();
            }

            _retired.Clear();
            _fleetHandler?.Dispose();
        }

        Certificate.Dispose();
        Ca.Dispose();
    }
}
