using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace Flotel.Gateway.Tests.Fleet;

/// <summary>
/// What an agent does against the fleet listener (docs/fleet.md §4–5), written from the contract: fetch the CA and
/// accept it only if its SHA-256 is the token's pin, make an ECDSA P-256 key and a CSR, enrol, then talk over mutual TLS
/// with every connection's server certificate checked against the pinned CA.
/// </summary>
internal sealed class FleetDeviceClient : IDisposable
{
    private int _connections;

    private FleetDeviceClient(Uri baseAddress, X509Certificate2 ca, X509Certificate2? certificate, string instance, bool http2 = false)
    {
        Ca = ca;
        Certificate = certificate;
        var handler = new SocketsHttpHandler { ConnectCallback = ConnectAsync };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
            (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && ChainsTo(cert, ca);
        if (certificate is not null)
        {
            handler.SslOptions.ClientCertificates = [certificate];
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate;
        }

        Http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(100) };
        Http.DefaultRequestHeaders.Add("X-Flotel-Instance", instance);
        if (http2)
        {
            // As the agent does (FleetClient): every call a stream of one HTTP/2 connection.
            Http.DefaultRequestVersion = HttpVersion.Version20;
            Http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }
    }

    /// <summary>TCP connections this client opened so far (one per HTTP/2 connection).</summary>
    public int ConnectionsOpened => Volatile.Read(ref _connections);

    public HttpClient Http { get; }

    public X509Certificate2 Ca { get; }

    public X509Certificate2? Certificate { get; }

    /// <summary>GET /fleet/v1/ca without trusting the server yet; the CA is accepted only when it matches the token's pin.</summary>
    public static async Task<X509Certificate2> FetchPinnedCaAsync(Uri fleet, string token)
    {
        using var handler = new SocketsHttpHandler();
#pragma warning disable CA5359 // the first contact trusts nothing yet: the CA it returns is checked against the token's pin
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true; // not trusted yet: the pin decides below
#pragma warning restore CA5359
        using var http = new HttpClient(handler) { BaseAddress = fleet };
        var pem = await http.GetStringAsync(new Uri("fleet/v1/ca", UriKind.Relative));
        var ca = X509Certificate2.CreateFromPem(pem);
        var pin = token.Split('.')[3];
        Assert.Equal(pin, Convert.ToHexStringLower(SHA256.HashData(ca.RawData)));
        return ca;
    }

    /// <summary>Enrols with <paramref name="token"/>: returns the enrolled client, or the gateway's status and error.</summary>
    public static async Task<(FleetDeviceClient? Client, HttpStatusCode Status, string? Error)> EnrollAsync(
        Uri fleet, string token, string csrName = "whatever", string instance = "instance-1", bool http2 = false)
    {
        var ca = await FetchPinnedCaAsync(fleet, token);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=" + csrName, key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        using var anonymous = new FleetDeviceClient(fleet, ca, null, instance);
        using var response = await anonymous.Http.PostAsJsonAsync(new Uri("fleet/v1/enroll", UriKind.Relative), new JsonObject { ["token"] = token, ["csr"] = csr });
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return (null, response.StatusCode, (string?)body["error"]);
        }

        Assert.Equal(ca.RawData, X509Certificate2.CreateFromPem((string)body["ca"]!).RawData);
        using var issued = X509Certificate2.CreateFromPem((string)body["certificate"]!);
        using var withKey = issued.CopyWithPrivateKey(key);
        var certificate = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        return (new FleetDeviceClient(fleet, ca, certificate, instance, http2), response.StatusCode, null);
    }

    /// <summary>A client with another certificate (e.g. one of another CA) and the same pinned CA.</summary>
    public static FleetDeviceClient WithCertificate(Uri fleet, X509Certificate2 ca, X509Certificate2 certificate, string instance = "instance-1") =>
        new(fleet, ca, certificate, instance);

    /// <summary>GET /fleet/v1/bundle with <c>If-None-Match</c> and <c>wait</c>.</summary>
    public async Task<(HttpStatusCode Status, JsonNode? Body, string? ETag)> GetBundleAsync(string? ifNoneMatch, int wait, CancellationToken cancellationToken = default)
    {
        using var response = await GetBundleResponseAsync(ifNoneMatch, wait, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response.Headers.ETag?.Tag);
    }

    /// <summary>GET /fleet/v1/bundle, the whole response (headers such as <c>Retry-After</c>).</summary>
    public async Task<HttpResponseMessage> GetBundleResponseAsync(string? ifNoneMatch, int wait, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"fleet/v1/bundle?wait={wait}", UriKind.Relative))
        {
            Version = Http.DefaultRequestVersion,
            VersionPolicy = Http.DefaultVersionPolicy,
        };
        if (ifNoneMatch is not null)
        {
            request.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"" + ifNoneMatch + "\""));
        }

        var response = await Http.SendAsync(request, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        return response;
    }

    public async Task<HttpStatusCode> PostStatusAsync(JsonObject status)
    {
        using var content = new StringContent(status.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync(new Uri("fleet/v1/status", UriKind.Relative), content);
        return response.StatusCode;
    }

    public void Dispose()
    {
        Http.Dispose();
        Certificate?.Dispose();
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _connections);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static bool ChainsTo(X509Certificate? presented, X509Certificate2 ca)
    {
        if (presented is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var certificate = new X509Certificate2(presented);
        return chain.Build(certificate);
    }
}
