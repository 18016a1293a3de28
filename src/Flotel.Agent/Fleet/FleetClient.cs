using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Flotel.Agent.Fleet;

/// <summary>
/// One HTTP call per method to the gateway's fleet listener (docs/fleet.md §4–§5), each answered as a
/// <see cref="FleetReply{T}"/>. The TLS options say whom to trust and which certificate to present
/// (<see cref="DeviceIdentity.FleetListenerOptions"/>; before enrolment, <see cref="Unverified"/> for the CA alone).
/// Answers are read up to a bound each, so a broken or hostile listener cannot make the agent buffer without limit.
/// </summary>
public sealed class FleetClient : IDisposable
{
    /// <summary>Largest CA, enrol or renew answer read: a CA chain of a few certificates is a few KiB.</summary>
    public const int MaxSmallAnswerBytes = 256 * 1024;

    /// <summary>Largest bundle answer read (documented in docs/fleet.md §5): a device's manifests are kilobytes; 16 MiB leaves room for large ConfigMaps.</summary>
    public const int MaxBundleBytes = 16 * 1024 * 1024;

    /// <summary>What the agent adds to a long poll's <c>wait</c> before it gives up on an answer: the gateway's 10 % jitter plus slack.</summary>
    public static readonly TimeSpan PollSlack = TimeSpan.FromSeconds(30);

    /// <summary>Bound of every call that is not a long poll.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly Uri _gateway;

    /// <param name="gateway">The fleet listener, <c>https://HOST:PORT</c>.</param>
    /// <param name="tls">Whom to trust and what to present; used for https only.</param>
    /// <param name="instance">Sent as <c>X-Flotel-Instance</c> on every call; null = not sent.</param>
    public FleetClient(Uri gateway, SslClientAuthenticationOptions tls, string? instance = null)
        : this(gateway, CreateHandler(tls), disposeHandler: true, instance)
    {
    }

    /// <param name="gateway">The fleet listener, <c>https://HOST:PORT</c>.</param>
    /// <param name="handler">
    /// Its connection pool, made by <see cref="CreateHandler"/> (<see cref="DeviceIdentity.FleetListenerHandler"/>: shared with remote write).
    /// </param>
    /// <param name="disposeHandler">Whether disposing this client disposes <paramref name="handler"/>.</param>
    /// <param name="instance">Sent as <c>X-Flotel-Instance</c> on every call; null = not sent.</param>
    public FleetClient(Uri gateway, HttpMessageHandler handler, bool disposeHandler, string? instance = null)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        _gateway = gateway;
        // Every call is made by Request, which asks for HTTP/2 (see there).
        _http = new HttpClient(handler, disposeHandler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("flotel-agent", AgentVersion.Short));
        if (instance is not null)
        {
            _http.DefaultRequestHeaders.Add("X-Flotel-Instance", instance);
        }
    }

    /// <summary>The connection pool of a client of the fleet listener; <paramref name="tls"/> says whom to trust and what to present.</summary>
    public static SocketsHttpHandler CreateHandler(SslClientAuthenticationOptions tls) => new()
    {
        SslOptions = tls,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
        // A renewed certificate is presented on new connections: pooled ones are renewed well within a lifetime.
        PooledConnectionLifetime = TimeSpan.FromHours(1),
        UseProxy = false,
        AllowAutoRedirect = false,
        // No HTTP/2 PINGs: the long poll answers at least every wait + 10 % and is abandoned after wait + PollSlack,
        // which already bounds how long a dead path (a gateway host gone) goes unnoticed; its traffic keeps NATs open.
    };

    /// <summary>A client that accepts any server certificate: only for <see cref="GetCaAsync"/>, whose answer is checked against the token's pin.</summary>
    // CA5359: this client fetches only the CA certificate, which the caller accepts only if it hashes to the token's pin.
#pragma warning disable CA5359
    public static FleetClient Unverified(Uri gateway) =>
        new(gateway, new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true });
#pragma warning restore CA5359

    /// <summary><c>GET /fleet/v1/ca</c>: the CA certificate, PEM (not yet trusted: the caller compares it with the pin).</summary>
    public async Task<FleetReply<string>> GetCaAsync(CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, "/fleet/v1/ca");
        var (reply, body) = await SendAsync<string>(request, MaxSmallAnswerBytes, CallTimeout, cancellationToken).ConfigureAwait(false);
        return reply.Kind == FleetReplyKind.Ok ? FleetReply<string>.Ok(Encoding.UTF8.GetString(body)) : reply;
    }

    /// <summary><c>POST /fleet/v1/enroll</c> with the token and the CSR.</summary>
    public Task<FleetReply<CertificateAnswer>> EnrolAsync(EnrolmentToken token, string csrPem, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        return PostAsync("/fleet/v1/enroll", new EnrolRequest(token.Text, csrPem), FleetJson.Default.EnrolRequest, FleetJson.Default.CertificateAnswer, cancellationToken);
    }

    /// <summary><c>POST /fleet/v1/renew</c> with a CSR of a new key (presenting the current certificate).</summary>
    public Task<FleetReply<CertificateAnswer>> RenewAsync(string csrPem, CancellationToken cancellationToken) =>
        PostAsync("/fleet/v1/renew", new RenewRequest(csrPem), FleetJson.Default.RenewRequest, FleetJson.Default.CertificateAnswer, cancellationToken);

    /// <summary>
    /// <c>GET /fleet/v1/bundle?wait=SECONDS</c> with <c>If-None-Match</c> = <paramref name="digest"/>: 200 with a new
    /// bundle, or 304 after up to <paramref name="wait"/> when it did not change. A gateway over <c>fleet.maxHeldPolls</c>
    /// answers the 304 at once with <c>Retry-After</c> (<see cref="FleetReply{T}.RetryAfter"/>; docs/fleet.md §5).
    /// </summary>
    public async Task<FleetReply<BundleAnswer>> GetBundleAsync(string? digest, TimeSpan wait, CancellationToken cancellationToken)
    {
        var seconds = (int)Math.Clamp(wait.TotalSeconds, 0, 300);
        using var request = Request(HttpMethod.Get, "/fleet/v1/bundle?wait=" + seconds.ToString(CultureInfo.InvariantCulture));
        if (digest is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", "\"" + digest + "\"");
        }

        var (reply, body) = await SendAsync<BundleAnswer>(request, MaxBundleBytes, TimeSpan.FromSeconds(seconds) + PollSlack, cancellationToken).ConfigureAwait(false);
        return reply.Kind == FleetReplyKind.Ok ? Parse(body, FleetJson.Default.BundleAnswer, reply.Status) : reply;
    }

    /// <summary><c>POST /fleet/v1/status</c>.</summary>
    public async Task<FleetReply<bool>> PostStatusAsync(StatusReport status, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Post, "/fleet/v1/status");
        request.Content = Json(status, FleetJson.Default.StatusReport);
        var (reply, _) = await SendAsync<bool>(request, MaxSmallAnswerBytes, CallTimeout, cancellationToken).ConfigureAwait(false);
        return reply.Kind == FleetReplyKind.Ok ? FleetReply<bool>.Ok(true) : reply;
    }

    public void Dispose() => _http.Dispose();

    private async Task<FleetReply<TAnswer>> PostAsync<TRequest, TAnswer>(
        string path, TRequest body, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TAnswer> answerType, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Post, path);
        request.Content = Json(body, requestType);
        var (reply, bytes) = await SendAsync<TAnswer>(request, MaxSmallAnswerBytes, CallTimeout, cancellationToken).ConfigureAwait(false);
        return reply.Kind == FleetReplyKind.Ok ? Parse(bytes, answerType, reply.Status) : reply;
    }

    private static ByteArrayContent Json<T>(T value, JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private static FleetReply<T> Parse<T>(byte[] body, JsonTypeInfo<T> type, int status)
    {
        try
        {
            var value = JsonSerializer.Deserialize(body, type);
            return value is null
                ? new FleetReply<T>(FleetReplyKind.Unavailable, default, "the gateway answered null", null, status)
                : FleetReply<T>.Ok(value);
        }
        catch (JsonException e)
        {
            return new FleetReply<T>(FleetReplyKind.Unavailable, default, "the gateway's answer is not the expected JSON: " + e.Message, null, status);
        }
    }

    /// <summary>
    /// A request to the fleet listener as HTTP/2 or lower: HTTP/2 (ALPN "h2") so the long poll, status reports and
    /// renewals share one TLS connection as streams, one socket per device on both sides (docs/fleet.md §5,
    /// "Connections"); "or lower" keeps a listener that offers only HTTP/1.1 (a proxy in front of the gateway) working,
    /// with one connection per concurrent call. The message carries its version itself:
    /// <see cref="HttpClient.DefaultRequestVersion"/> applies only to the client's own GetAsync/PostAsync methods.
    /// </summary>
    private HttpRequestMessage Request(HttpMethod method, string pathAndQuery) => new(method, new Uri(_gateway, pathAndQuery))
    {
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
    };

    private async Task<(FleetReply<T> Reply, byte[] Body)> SendAsync<T>(HttpRequestMessage request, int maxBytes, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(timeout);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, bound.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var body = await ReadBoundedAsync(response.Content, maxBytes, bound.Token).ConfigureAwait(false);
            if (body is null)
            {
                return (new FleetReply<T>(FleetReplyKind.Unavailable, default, $"the gateway's answer is larger than {maxBytes} bytes", null, status), []);
            }

            if (response.IsSuccessStatusCode)
            {
                return (new FleetReply<T>(FleetReplyKind.Ok, default, string.Empty, null, status), body);
            }

            var message = ErrorMessage(body, status);
            var kind = response.StatusCode switch
            {
                HttpStatusCode.NotModified => FleetReplyKind.NotModified,
                HttpStatusCode.NotFound => FleetReplyKind.NotFound,
                HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout => FleetReplyKind.Unavailable,
                _ when status >= 500 => FleetReplyKind.Unavailable,
                _ => FleetReplyKind.Refused,
            };
            return (new FleetReply<T>(kind, default, message, RetryAfter(response), status), []);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (new FleetReply<T>(FleetReplyKind.Unavailable, default, $"no answer within {timeout.TotalSeconds:0} s"), []);
        }
        catch (HttpRequestException e)
        {
            return (new FleetReply<T>(FleetReplyKind.Unavailable, default, Describe(e)), []);
        }
    }

    private static string Describe(HttpRequestException e) =>
        e.InnerException is { } inner && !string.IsNullOrEmpty(inner.Message) && !e.Message.Contains(inner.Message, StringComparison.Ordinal)
            ? e.Message + " (" + inner.Message + ")"
            : e.Message;

    /// <summary>The gateway's <c>{"error": "…"}</c> message, else the status line.</summary>
    private static string ErrorMessage(byte[] body, int status)
    {
        if (body.Length > 0)
        {
            try
            {
                if (JsonSerializer.Deserialize(body, FleetJson.Default.ErrorAnswer) is { Error: { Length: > 0 } error })
                {
                    return error;
                }
            }
            catch (JsonException)
            {
                // Not the fleet's error shape (a proxy's page): the status says enough.
            }
        }

        return "HTTP " + status.ToString(CultureInfo.InvariantCulture);
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is not { } header)
        {
            return null;
        }

        return header.Delta ?? (header.Date is { } date ? date - DateTimeOffset.UtcNow : null);
    }

    private static async Task<byte[]?> ReadBoundedAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > maxBytes)
        {
            return null;
        }

        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }
}
