using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Flotel.Agent.Fleet;
using Flotel.Agent.Hosting;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Diagnostics;

namespace Flotel.Agent.Tests.Fleet;

/// <summary>
/// A test fleet CA that signs device CSRs as docs/fleet.md §4 says the gateway does (CN forced to the device, client-auth
/// EKU), and bundles and answers in the fleet wire format, for a gateway fake on <see cref="LocalHttpServer"/>.
/// </summary>
internal sealed class FleetTestCa : IDisposable
{
    public FleetTestCa(string name = "Test fleet CA")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        Certificate = X509CertificateLoader.LoadPkcs12(ca.Export(X509ContentType.Pkcs12), null);
        Pem = Certificate.ExportCertificatePem() + "\n";
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(Certificate.RawData));
    }

    public X509Certificate2 Certificate { get; }

    public string Pem { get; }

    public string Sha256 { get; }

    /// <summary>A syntactically valid token pinning this CA.</summary>
    public string Token(string secret = "AAAAAAAAAAAAAAAAAAAAAA") => $"flotel1.AAAAAAAAAAA.{secret}.{Sha256}";

    /// <summary>Signs <paramref name="csrPem"/> (its signature checked) for <paramref name="device"/>, valid from <paramref name="notBefore"/> to <paramref name="notAfter"/>.</summary>
    public string Sign(string csrPem, string device, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var csr = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + device), csr.PublicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var issued = request.Create(Certificate, notBefore, notAfter, RandomNumberGenerator.GetBytes(16));
        return issued.ExportCertificatePem() + "\n";
    }

    /// <summary>Writes an enrolled device's files (key, certificate, CA) into <paramref name="files"/>.</summary>
    public DeviceIdentity Enrol(FleetFiles files, string device, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var crt = Sign(FleetEnrolment.CreateCsr(key), device, notBefore, notAfter);
        files.WriteAtomically(files.Key, key.ExportPkcs8PrivateKeyPem(), secret: true);
        files.WriteAtomically(files.Certificate, crt, secret: false);
        files.WriteAtomically(files.Ca, Pem, secret: false);
        return DeviceIdentity.Load(files);
    }

    public void Dispose() => Certificate.Dispose();

    /// <summary>A device named <paramref name="device"/>, optionally with a label (a second content for the same device).</summary>
    public static string Bundle(string device, string? label = null) => $"""
        apiVersion: management.project-flotta.io/v1alpha1
        kind: EdgeDevice
        metadata:
          name: {device}
        {(label is null ? string.Empty : "  labels:\n    version: " + label + "\n")}
        """;

    /// <summary>A device whose log target names a ConfigMap that is not there: does not resolve.</summary>
    public static string BrokenBundle(string device) => $"""
        apiVersion: management.project-flotta.io/v1alpha1
        kind: EdgeDevice
        metadata:
          name: {device}
        spec:
          logCollection:
            syslog1:
              kind: syslog
              syslogConfig:
                name: missing-cm
        """;

    /// <summary>The 200 body of <c>GET /fleet/v1/bundle</c> for <paramref name="yaml"/>.</summary>
    public static byte[] BundleBody(long generation, string yaml) => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["generation"] = generation,
        ["digest"] = LastGoodBundle.Digest(yaml),
        ["manifests"] = yaml,
        ["errors"] = Array.Empty<object>(),
    });

    public static async Task Json(HttpListenerResponse response, int status, object body)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body);
        await response.OutputStream.WriteAsync(bytes);
    }

    public static async Task Bytes(HttpListenerResponse response, int status, byte[] body, string contentType = "application/json")
    {
        response.StatusCode = status;
        response.ContentType = contentType;
        await response.OutputStream.WriteAsync(body);
    }

    public static string Text(byte[] body) => Encoding.UTF8.GetString(body);
}

/// <summary>An <see cref="IPlanTarget"/> that records the plans it is given and answers with <see cref="Errors"/>.</summary>
internal sealed class RecordingTarget : IPlanTarget
{
    public List<DevicePlan> Applied { get; } = [];

    public List<IReadOnlyList<string>> Refused { get; } = [];

    public IReadOnlyList<string> Errors { get; set; } = [];

    public IReadOnlyList<IAgentComponent> Components => [];

    public MetricsRegistry Metrics { get; } = new();

    public Task<PlanApplyResult> ApplyAsync(DevicePlan plan, CancellationToken cancellationToken)
    {
        lock (Applied)
        {
            Applied.Add(plan);
        }

        return Task.FromResult(new PlanApplyResult(true, Errors));
    }

    public void PlanRefused(IReadOnlyList<string> problems)
    {
        lock (Refused)
        {
            Refused.Add(problems);
        }
    }
}
