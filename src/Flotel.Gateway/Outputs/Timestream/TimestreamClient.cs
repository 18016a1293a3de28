using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Flotel.Pipeline.Delivery;
using Flotel.Wire.Aws;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs.Timestream;

/// <summary>
/// One signed WriteRecords call (AWS JSON 1.0: <c>POST /</c>, <c>Content-Type: application/x-amz-json-1.0</c>,
/// <c>X-Amz-Target: Timestream_20181101.WriteRecords</c>, SigV4 signing name <c>timestream</c>; docs/reference/timestream-and-remote-write.md §2.1–§2.4),
/// with the mandatory endpoint discovery (§2.3): <c>DescribeEndpoints</c> on the regional endpoint, the first
/// address kept for its <c>CachePeriodInMinutes</c> (refreshed shortly before it expires), and rediscovered when
/// the service answers 421 / <c>InvalidEndpointException</c>; the call is then sent once more to the new endpoint.
/// If a refresh fails while an older endpoint is known, the older one is used for another minute (as the SDKs do).
/// With <see cref="TimestreamOptions.Endpoint"/> set, discovery is skipped.
/// </summary>
public sealed partial class TimestreamClient : IDisposable
{
    /// <summary>The JSON 1.0 content type; no charset parameter (AWS JSON 1.0 protocol).</summary>
    public const string ContentType = "application/x-amz-json-1.0";

    /// <summary>The target prefix of the service model (<c>targetPrefix</c>).</summary>
    public const string TargetPrefix = "Timestream_20181101";

    /// <summary>The SigV4 signing name (not the endpoint prefix <c>ingest.timestream</c>).</summary>
    public const string SigningName = "timestream";

    private static readonly TimeSpan StaleEndpointGrace = TimeSpan.FromMinutes(1);
    private static readonly byte[] EmptyInput = "{}"u8.ToArray();

    private readonly TimestreamOptions _options;
    private readonly Func<CancellationToken, ValueTask<AwsCredentials>> _credentials;
    private readonly HttpClient _http;
    private readonly SigV4Signer _signer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _discovery = new(1, 1);

    /// <summary>The discovered endpoint and when to refresh it; replaced as a whole (read by sends, written under <see cref="_discovery"/>).</summary>
    private volatile CachedEndpoint? _endpoint;

    private long _discoveries;

    public TimestreamClient(
        TimestreamOptions options,
        Func<CancellationToken, ValueTask<AwsCredentials>> credentials,
        HttpMessageHandler handler,
        TimeProvider time,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        _options = options;
        _credentials = credentials;
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds) };
        _signer = new SigV4Signer(options.Region, SigningName);
        _time = time;
        _logger = logger;
    }

    /// <summary>DescribeEndpoints calls made so far (successful or not).</summary>
    public long Discoveries => Interlocked.Read(ref _discoveries);

    /// <summary>The endpoint WriteRecords goes to now (the override, the cached discovery, or null before the first).</summary>
    public Uri? CurrentEndpoint => _options.Endpoint ?? _endpoint?.Uri;

    /// <summary>
    /// Sends one WriteRecords <paramref name="body"/>. Returns the answer of the call that decided the outcome
    /// (a failed DescribeEndpoints, or WriteRecords); throws on transport errors and when no credentials are available
    /// (both retryable for the delivery driver).
    /// </summary>
    public async Task<TimestreamResponse> WriteRecordsAsync(byte[] body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var (endpoint, failure) = await GetEndpointAsync(refresh: false, cancellationToken).ConfigureAwait(false);
        if (endpoint is null)
        {
            return failure!;
        }

        var response = await CallAsync(endpoint, "WriteRecords", body, cancellationToken).ConfigureAwait(false);
        if (_options.Endpoint is null && IsInvalidEndpoint(response))
        {
            // The cell moved (docs/reference/timestream-and-remote-write.md §2.5: InvalidEndpointException, 421): discover again and resend once.
            LogEndpointInvalid(_logger, _options.Name, endpoint.Host);
            (endpoint, failure) = await GetEndpointAsync(refresh: true, cancellationToken).ConfigureAwait(false);
            if (endpoint is null)
            {
                return failure!;
            }

            response = await CallAsync(endpoint, "WriteRecords", body, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        _discovery.Dispose();
    }

    /// <summary>Sanitised AWS JSON error type: header first, then body <c>__type</c> / <c>code</c> (AWS JSON 1.0 "Operation error serialization").</summary>
    public static string? ParseErrorType(string? header, string body)
    {
        var raw = header;
        if (string.IsNullOrEmpty(raw) && body.Length > 0 && body[0] == '{')
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    foreach (var property in document.RootElement.EnumerateObject())
                    {
                        if (property.Value.ValueKind == JsonValueKind.String
                            && (property.NameEquals("__type") || property.Name.Equals("code", StringComparison.OrdinalIgnoreCase)))
                        {
                            raw = property.Value.GetString();
                            break;
                        }
                    }
                }
            }
            catch (JsonException)
            {
                return null;
            }
        }

        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }

        // Keep what is before the first ':' and, of that, what is after the first '#'.
        var colon = raw.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            raw = raw[..colon];
        }

        var hash = raw.IndexOf('#', StringComparison.Ordinal);
        return (hash >= 0 ? raw[(hash + 1)..] : raw).Trim();
    }

    private static bool IsInvalidEndpoint(TimestreamResponse response) =>
        (int)response.Status == 421 || response.ErrorType == "InvalidEndpointException";

    private async Task<(Uri? Endpoint, TimestreamResponse? Failure)> GetEndpointAsync(bool refresh, CancellationToken cancellationToken)
    {
        if (_options.Endpoint is { } fixedEndpoint)
        {
            return (fixedEndpoint, null);
        }

        var cached = _endpoint;
        if (!refresh && cached is not null && _time.GetUtcNow() < cached.RefreshAt)
        {
            return (cached.Uri, null);
        }

        await _discovery.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = _endpoint;
            if (current is not null && !ReferenceEquals(current, cached) && _time.GetUtcNow() < current.RefreshAt)
            {
                return (current.Uri, null); // another send refreshed it meanwhile
            }

            Interlocked.Increment(ref _discoveries);
            var discoveryUri = _options.EffectiveDiscoveryEndpoint;
            TimestreamResponse response;
            try
            {
                response = await CallAsync(discoveryUri, "DescribeEndpoints", EmptyInput, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (!refresh && current is not null)
            {
                return (KeepStale(current), null);
            }

            if (!response.IsSuccess)
            {
                if (!refresh && current is not null && (int)response.Status >= 500)
                {
                    return (KeepStale(current), null);
                }

                return (null, response);
            }

            if (!TryParseEndpoints(response.Body, discoveryUri, out var uri, out var minutes))
            {
                return (null, response with
                {
                    Status = HttpStatusCode.BadGateway,
                    ErrorType = "InvalidDescribeEndpointsResponse",
                    Body = "DescribeEndpoints answered without a usable Endpoints list: " + Shorten(response.Body),
                });
            }

            var now = _time.GetUtcNow();
            var period = TimeSpan.FromMinutes(minutes);

            // Refresh a little before the TTL ends (smithy-rs reloads with < 120 s left), by at most a tenth of it.
            var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(1).Ticks, period.Ticks / 10));
            _endpoint = new CachedEndpoint(uri, now + period - margin);
            LogDiscovered(_logger, _options.Name, uri.Host, minutes);
            return (uri, null);
        }
        finally
        {
            _discovery.Release();
        }
    }

    private Uri KeepStale(CachedEndpoint stale)
    {
        LogDiscoveryFailedKeepingEndpoint(_logger, _options.Name, stale.Uri.Host);
        _endpoint = stale with { RefreshAt = _time.GetUtcNow() + StaleEndpointGrace };
        return stale.Uri;
    }

    /// <summary><c>{"Endpoints":[{"Address":"host","CachePeriodInMinutes":n}]}</c>; the address is a bare host (SDKs add https://).</summary>
    private static bool TryParseEndpoints(string body, Uri discovery, out Uri endpoint, out long minutes)
    {
        endpoint = discovery;
        minutes = 0;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (!document.RootElement.TryGetProperty("Endpoints", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                return false;
            }

            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object
                    || !item.TryGetProperty("Address", out var address) || address.ValueKind != JsonValueKind.String
                    || !item.TryGetProperty("CachePeriodInMinutes", out var period) || !period.TryGetInt64(out minutes) || minutes <= 0)
                {
                    continue;
                }

                var text = address.GetString()!;

                // The scheme follows the discovery endpoint (https in AWS; http only for a loopback test fake).
                var candidate = text.Contains("://", StringComparison.Ordinal) ? text : discovery.Scheme + "://" + text;
                if (Uri.TryCreate(candidate, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                {
                    endpoint = new Uri(uri.GetLeftPart(UriPartial.Authority) + "/");
                    minutes = Math.Min(minutes, 7 * 24 * 60);
                    return true;
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }

        return false;
    }

    private async Task<TimestreamResponse> CallAsync(Uri endpoint, string operation, byte[] body, CancellationToken cancellationToken)
    {
        var credentials = await _credentials(cancellationToken).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint);
        request.Headers.TryAddWithoutValidation("X-Amz-Target", TargetPrefix + "." + operation);
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("flotel", typeof(TimestreamClient).Assembly.GetName().Version?.ToString(3) ?? "0"));
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(ContentType);
        await _signer.SignAsync(request, credentials, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var header = response.Headers.TryGetValues("X-Amzn-Errortype", out var values) ? values.FirstOrDefault() : null;
        var success = (int)response.StatusCode is >= 200 and < 300;
        return new TimestreamResponse(
            operation,
            response.StatusCode,
            success ? null : ParseErrorType(header, text),
            text,
            success ? null : HttpStatusClassifier.RetryAfter(response.Headers, _time.GetUtcNow()));
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";

    [LoggerMessage(Level = LogLevel.Information, Message = "Output {Output}: Timestream endpoint {Host} discovered, cached for {Minutes} min")]
    private static partial void LogDiscovered(ILogger logger, string output, string host, long minutes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Output {Output}: endpoint {Host} is no longer valid (421); discovering again")]
    private static partial void LogEndpointInvalid(ILogger logger, string output, string host);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Output {Output}: endpoint discovery failed; using the previous endpoint {Host} for another minute")]
    private static partial void LogDiscoveryFailedKeepingEndpoint(ILogger logger, string output, string host);

    /// <summary>A discovered endpoint and when it must be refreshed.</summary>
    private sealed record CachedEndpoint(Uri Uri, DateTimeOffset RefreshAt);
}
