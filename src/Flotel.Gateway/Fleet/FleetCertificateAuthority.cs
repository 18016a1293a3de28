using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Flotel.Store.Fleet;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// The fleet CA (docs/fleet.md §2, §4): signs device certificates from CSRs and the fleet listener's server certificate,
/// and verifies the certificates devices present. Loaded from <c>fleet.ca.{certificate,key}</c> or generated once
/// (ECDSA P-256, 10 years) into <c>DATA/fleet/ca.crt</c> and <c>ca.key</c> (mode 0600).
/// </summary>
public sealed class FleetCertificateAuthority : IDisposable
{
    /// <summary>Device certificates start this much before issue, so a device whose clock is a little behind accepts them.</summary>
    public static readonly TimeSpan Backdate = TimeSpan.FromMinutes(5);

    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    /// <summary>Largest CSR accepted (PEM characters): a P-256 or RSA-4096 CSR is well under 4 KiB.</summary>
    public const int MaxCsrChars = 16 * 1024;

    /// <summary>
    /// Most device certificates whose chain check is remembered (<see cref="Verify"/>): two for each device of a fleet
    /// of 20,000 (<c>fleet.maxHeldPolls</c>' default; its certificate and a renewed one) plus room. Past it the memory
    /// is emptied and refills as devices reconnect; an entry is about 200 bytes, so it holds at most ~10 MiB.
    /// </summary>
    public const int MaxVerifiedCertificates = 50_000;

    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _caPublic;
    private readonly ConcurrentDictionary<string, VerifiedCertificate> _verified = new(StringComparer.Ordinal);

    private FleetCertificateAuthority(X509Certificate2 ca)
    {
        _ca = ca;
        _caPublic = X509CertificateLoader.LoadCertificate(ca.RawData);
        Pem = _caPublic.ExportCertificatePem() + "\n";
        Sha256Hex = Convert.ToHexStringLower(SHA256.HashData(_caPublic.RawData));
    }

    /// <summary>The CA certificate, PEM (what <c>GET /fleet/v1/ca</c> answers).</summary>
    public string Pem { get; }

    /// <summary>Lower-case hex SHA-256 of the CA certificate's DER bytes (the token's pin).</summary>
    public string Sha256Hex { get; }

    /// <summary>The CA certificate without its key.</summary>
    public X509Certificate2 Certificate => _caPublic;

    /// <summary>
    /// Loads the CA from <paramref name="certificateFile"/>/<paramref name="keyFile"/> when given, else from
    /// <paramref name="directory"/> (<c>ca.crt</c>, <c>ca.key</c>), generating it there at first start.
    /// </summary>
    public static FleetCertificateAuthority LoadOrCreate(string directory, string? certificateFile, string? keyFile, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (certificateFile is not null && keyFile is not null)
        {
            return new FleetCertificateAuthority(Load(certificateFile, keyFile));
        }

        Directory.CreateDirectory(directory);
        var crt = Path.Combine(directory, "ca.crt");
        var key = Path.Combine(directory, "ca.key");
        if (File.Exists(crt) && File.Exists(key))
        {
            return new FleetCertificateAuthority(Load(crt, key));
        }

        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName("Flotel fleet CA");
        var request = new CertificateRequest(name.Build(), ecdsa, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = time.GetUtcNow();
        using var ca = request.CreateSelfSigned(now - Backdate, now.AddYears(10));

        // The key first, created 0600 from the start (never readable by others, not even briefly), each file via a
        // temporary name so a crash leaves either nothing or a whole file.
        WriteAtomically(key, ecdsa.ExportPkcs8PrivateKeyPem() + "\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        WriteAtomically(crt, ca.ExportCertificatePem() + "\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return new FleetCertificateAuthority(Load(crt, key));
    }

    /// <summary>
    /// The fleet listener's server certificate, issued at every start: loopback addresses, <c>localhost</c>, the host
    /// name and <paramref name="serverNames"/> (DNS names or IP addresses), valid a year.
    /// </summary>
    public X509Certificate2 IssueServerCertificate(IEnumerable<string> serverNames, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(serverNames);
        ArgumentNullException.ThrowIfNull(time);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=flotel fleet listener", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        san.AddDnsName("localhost");
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost" };
        foreach (var n in serverNames.Prepend(Dns.GetHostName()))
        {
            if (IPAddress.TryParse(n, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else if (Uri.CheckHostName(n) == UriHostNameType.Dns && names.Add(n))
            {
                san.AddDnsName(n);
            }
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthOid)], false));
        var now = time.GetUtcNow();
        using var issued = request.Create(_ca, now - Backdate, Min(now.AddYears(1), _ca.NotAfter), RandomSerial());
        using var withKey = issued.CopyWithPrivateKey(key);
        // Re-import as PKCS#12 so SslStream can use the key on every platform (as ServerTls does).
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>
    /// Signs a device certificate from <paramref name="csrPem"/>: the CSR's own signature is checked (proof that the
    /// device holds the key); the subject is forced to CN = <paramref name="device"/> whatever the CSR asks, with URI SAN
    /// <c>urn:flotel:device:NAME</c>, a random 128-bit serial, client-auth EKU, valid from now − 5 min for
    /// <paramref name="lifetime"/>. Throws <see cref="FleetRequestException"/> for a CSR that cannot be accepted.
    /// </summary>
    public (string Pem, FleetCertificate Record) SignDeviceCsr(string csrPem, string device, TimeSpan lifetime, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        if (string.IsNullOrWhiteSpace(csrPem) || csrPem.Length > MaxCsrChars)
        {
            throw new FleetRequestException("`csr` must be a PEM certificate signing request of at most 16 KiB");
        }

        if (!DeviceNames.IsValid(device))
        {
            throw new FleetRequestException($"device name '{device}' is not a valid name");
        }

        CertificateRequest csr;
        try
        {
            // The default load options verify the CSR's signature with the key it carries (proof of possession).
            csr = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA256);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new FleetRequestException("`csr` is not a valid certificate signing request (or its signature does not verify): " + e.Message);
        }

        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(device);
        var request = new CertificateRequest(subject.Build(), csr.PublicKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri("urn:flotel:device:" + device));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ClientAuthOid)], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = time.GetUtcNow();
        X509Certificate2 issued;
        try
        {
            issued = request.Create(_ca, now - Backdate, Min(now + lifetime, _ca.NotAfter), RandomSerial());
        }
        catch (CryptographicException e)
        {
            throw new FleetRequestException("the CSR's public key cannot be certified: " + e.Message);
        }

        using (issued)
        {
            return (issued.ExportCertificatePem() + "\n",
                new FleetCertificate(issued.SerialNumber.ToLowerInvariant(), device, issued.NotAfter.ToUniversalTime(), false));
        }
    }

    /// <summary>
    /// Checks that <paramref name="certificate"/> was issued by this CA for client authentication and names a device
    /// (its CN); null with a reason otherwise. Expiry is reported, not refused: the caller decides (renewal grace).
    /// </summary>
    public DeviceIdentity? Verify(X509Certificate2 certificate, DateTimeOffset now, out string reason)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        // A device that reconnects presents the same certificate on every connection (a resumed TLS session too): its
        // chain, built against this CA alone and independent of time (IgnoreNotTimeValid), is built once (~0.2 ms of
        // CPU each, docs/benchmarks.md "Control plane: cheaper reconnections"). Validity is judged at every call here,
        // revocation by the caller at every request.
        var key = Convert.ToHexString(certificate.GetCertHash(HashAlgorithmName.SHA256));
        if (!_verified.TryGetValue(key, out var verified))
        {
            if (VerifyChain(certificate, out reason) is not { } checkedNow)
            {
                return null;
            }

            if (_verified.Count >= MaxVerifiedCertificates)
            {
                _verified.Clear();
            }

            verified = checkedNow;
            _verified[key] = verified;
        }

        if (verified.NotBefore > now)
        {
            reason = "the client certificate is not valid yet";
            return null;
        }

        reason = string.Empty;
        return new DeviceIdentity(verified.Device, verified.Serial, verified.NotAfter, verified.NotAfter < now);
    }

    /// <summary>Device certificates whose chain check is remembered now (at most <see cref="MaxVerifiedCertificates"/>).</summary>
    internal int VerifiedCertificates => _verified.Count;

    private VerifiedCertificate? VerifyChain(X509Certificate2 certificate, out string reason)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_caPublic);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ClientAuthOid));
        if (!chain.Build(certificate) || chain.ChainElements.Count != 2
            || !chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(_caPublic.RawDataMemory.Span))
        {
            reason = "the client certificate is not a device certificate of this fleet";
            return null;
        }

        var device = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (!DeviceNames.IsValid(device))
        {
            reason = "the client certificate names no device";
            return null;
        }

        reason = string.Empty;
        return new VerifiedCertificate(
            device,
            certificate.SerialNumber.ToLowerInvariant(),
            new DateTimeOffset(certificate.NotBefore.ToUniversalTime()),
            new DateTimeOffset(certificate.NotAfter.ToUniversalTime()));
    }

    public void Dispose()
    {
        _ca.Dispose();
        _caPublic.Dispose();
    }

    private static X509Certificate2 Load(string certificateFile, string keyFile)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            var ca = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
            var constraints = ca.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
            if (constraints is not { CertificateAuthority: true })
            {
                ca.Dispose();
                throw new InvalidOperationException($"fleet CA certificate '{certificateFile}' is not a CA certificate (basicConstraints CA:TRUE is missing)");
            }

            return ca;
        }
        catch (Exception e) when (e is CryptographicException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"cannot load the fleet CA '{certificateFile}' with key '{keyFile}': {e.Message}", e);
        }
    }

    private static void WriteAtomically(string path, string text, UnixFileMode mode)
    {
        var tmp = path + ".tmp";
        File.Delete(tmp);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        using (var stream = new FileStream(tmp, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>
    /// 128 random bits behind a 0x01 byte: the serial stays a positive integer of at most 20 octets (RFC 5280 §4.1.2.2)
    /// whatever the random bits are, without giving any of them up.
    /// </summary>
    private static byte[] RandomSerial()
    {
        var serial = new byte[17];
        serial[0] = 0x01;
        RandomNumberGenerator.Fill(serial.AsSpan(1));
        return serial;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTime b)
    {
        var other = new DateTimeOffset(b.ToUniversalTime());
        return a < other ? a : other;
    }

    /// <summary>What a device certificate's chain check found: its device, serial and validity (judged at each use).</summary>
    private sealed record VerifiedCertificate(string Device, string Serial, DateTimeOffset NotBefore, DateTimeOffset NotAfter);
}
