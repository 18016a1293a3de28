using System.Net.Http.Headers;
using System.Text;
using Flotel.Gateway.Configuration;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Net;
using Flotel.Wire.Manifests;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Outputs.Shared;

/// <summary>
/// The HTTP keys every HTTP output shares (<c>url</c>, <c>timeoutSeconds</c>, <c>auth</c>, <c>headers</c>,
/// <c>tls.caFile</c>, <c>tls.insecureSkipVerify</c>, <c>minBackoffMs</c>, <c>maxBackoffSeconds</c>), declared once here
/// and included in each HTTP output's options (<c>[ConfigSection("")]</c>, so they sit in the output's own mapping and its
/// docs table), and the two things built from them: the <see cref="HttpClient"/> (timeout, custom CA) and the
/// per-request headers (auth, custom).
/// </summary>
public sealed class HttpOutputSettings
{
    /// <summary>The peer's URL (absolute http or https).</summary>
    [ConfigKey("url", "the backend (see each type for what is appended)", DefaultText = "required")]
    public Uri Url { get; set; } = new("http://127.0.0.1/");

    /// <summary>Whole-request timeout (connect, send, response); a timeout is a retryable failure.</summary>
    [ConfigKey("timeoutSeconds", "whole request (connect at most 10 s of it); a timeout is retried",
        TimeUnit = ConfigTimeUnit.Seconds, Min = 1, Max = 3600)]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Basic or bearer credentials sent with every request; null = none.</summary>
    [ConfigKey("auth", "HTTP basic auth, or `Authorization: Bearer …` (`${ENV}` allowed)", DefaultText = "none")]
    public AuthOptions? Auth { get; set; }

    /// <summary>Extra request headers (e.g. <c>X-Scope-OrgID</c> for Mimir/Thanos tenants).</summary>
    [ConfigKey("headers", "extra request headers (e.g. `X-Scope-OrgID`); headers the output sets itself (content type/encoding, "
        + "`Authorization`, `Host`, `Content-Length`, protocol headers) are refused", Format = ConfigFormat.HeaderName)]
    public IReadOnlyDictionary<string, string> Headers { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>PEM CA bundle that the peer's certificate must chain to (instead of, or besides, the system roots).</summary>
    [ConfigKey("tls.caFile", "the backend's certificate must chain to one of these (or to a system root); host names are always checked",
        Format = ConfigFormat.PemCertificates, Unit = "PEM file", DefaultText = "system roots")]
    public string? CaFile { get; set; }

    /// <summary>Accept any server certificate (tests and labs only; logged at startup).</summary>
    [ConfigKey("tls.insecureSkipVerify", "accept any certificate (labs only)")]
    public bool InsecureSkipVerify { get; set; }

    /// <summary>First retry wait.</summary>
    [ConfigKey("minBackoffMs", "first retry wait", TimeUnit = ConfigTimeUnit.Milliseconds, Min = 1, Max = 600_000)]
    public TimeSpan MinBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest retry wait (a peer's <c>Retry-After</c> may ask for more, up to 5 minutes).</summary>
    [ConfigKey("maxBackoffSeconds", "longest computed retry wait; not less than `minBackoffMs`", TimeUnit = ConfigTimeUnit.Seconds, Min = 1, Max = 3600)]
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The URL without user info and query, for logs (style rule 10: URLs are redacted).</summary>
    public string RedactedUrl => UrlRedaction.Redact(Url);

    /// <summary>
    /// A node of <paramref name="node"/> with a source position, for messages about the entry as a whole: the entry
    /// mapping handed to an output reader is rebuilt without <c>name</c> and <c>type</c> and has no line of its own.
    /// </summary>
    public static YamlNode Anchor(YamlMappingNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.Children.Count > 0 ? node.Children.First().Key : node;
    }

    /// <summary>Cross-key checks after every key was read; <paramref name="node"/> is the output's mapping.</summary>
    public void Validate(YamlFieldReader r, YamlMappingNode node, string path)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (YamlFieldReader.Get(node, "url") is null)
        {
            r.Error(Anchor(node), YamlFieldReader.Join(path, "url"), "`url` is required");
        }

        if (MaxBackoff < MinBackoff)
        {
            r.Error(YamlFieldReader.Get(node, "maxBackoffSeconds"), YamlFieldReader.Join(path, "maxBackoffSeconds"),
                "`maxBackoffSeconds` must not be less than `minBackoffMs`");
        }
    }

    /// <summary>Copies the retry settings into the driver's options.</summary>
    public void ApplyTo(DeliveryOptions delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        delivery.RetryInitial = MinBackoff;
        delivery.RetryMax = MaxBackoff < MinBackoff ? MinBackoff : MaxBackoff;
    }

    /// <summary>A client for this peer: pooled connections recycled every 5 minutes (DNS changes), the timeout, the CA.</summary>
    public HttpClient CreateClient()
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = Timeout < TimeSpan.FromSeconds(10) ? Timeout : TimeSpan.FromSeconds(10),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            AllowAutoRedirect = false,
        };
        if (InsecureSkipVerify)
        {
#pragma warning disable CA5359 // Explicitly configured by the operator (tls.insecureSkipVerify), documented as labs-only.
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (CaFile is not null)
        {
            // A certificate the system trusts, or one that chains to the CA file; a host-name mismatch is never accepted.
            handler.SslOptions.RemoteCertificateValidationCallback = CustomCaTrust.FromPemFile(CaFile).ServerCertificateValidator(alsoSystemRoots: true);
        }

        return new HttpClient(handler, disposeHandler: true) { Timeout = Timeout };
    }

    /// <summary>Adds the credentials and custom headers to <paramref name="request"/>.</summary>
    public void ApplyTo(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Auth?.BearerToken is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Reveal());
        }
        else if (Auth is { Username: { } user, Password: { } password })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue(
                "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password.Reveal())));
        }

        foreach (var (name, value) in Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
    }
}
