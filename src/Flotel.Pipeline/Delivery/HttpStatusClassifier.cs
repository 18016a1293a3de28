using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Flotel.Pipeline.Delivery;

/// <summary>
/// The status rules every HTTP output shares (style rule 4; the remote-write spec's "retry on 5xx and 429, never on
/// other 4xx"): 2xx success; 408, 429 and every 5xx retryable with the server's <c>Retry-After</c>; 413 too large;
/// every other status permanent.
/// </summary>
public static class HttpStatusClassifier
{
    /// <summary>How a status code is handled.</summary>
    public enum Kind
    {
        /// <summary>2xx.</summary>
        Success,

        /// <summary>408, 429, 5xx.</summary>
        Retryable,

        /// <summary>413.</summary>
        TooLarge,

        /// <summary>Any other status, including 1xx/3xx that HttpClient did not follow.</summary>
        Permanent,
    }

    /// <summary>Classifies <paramref name="status"/>.</summary>
    public static Kind Classify(HttpStatusCode status)
    {
        var code = (int)status;
        return code switch
        {
            >= 200 and < 300 => Kind.Success,
            408 or 429 or >= 500 and < 600 => Kind.Retryable,
            413 => Kind.TooLarge,
            _ => Kind.Permanent,
        };
    }

    /// <summary>
    /// The response's <c>Retry-After</c> (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) as a wait from
    /// <paramref name="now"/>; null when absent or unparseable.
    /// </summary>
    public static TimeSpan? RetryAfter(HttpResponseHeaders headers, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var value = headers.RetryAfter;
        if (value is null)
        {
            // HttpClient drops a malformed header from the typed view; try the raw seconds form anyway.
            return headers.TryGetValues("Retry-After", out var raw)
                && int.TryParse(raw.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var s)
                ? TimeSpan.FromSeconds(s)
                : null;
        }

        if (value.Delta is { } delta)
        {
            return delta;
        }

        return value.Date is { } date ? (date > now ? date - now : TimeSpan.Zero) : null;
    }

    /// <summary>
    /// The answers about credentials (401, 403, 407): an operator fixes them, the data is not at fault, so senders that
    /// hold a backlog retry them (<c>retryAlso</c>) instead of dead-lettering everything while a token is rotated.
    /// </summary>
    public static IReadOnlyCollection<HttpStatusCode> CredentialStatuses { get; } =
        [HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden, HttpStatusCode.ProxyAuthenticationRequired];

    /// <summary>
    /// Like <see cref="ToOutcome{T}(HttpStatusCode, string?, HttpResponseHeaders, DateTimeOffset, int)"/>, but the
    /// statuses in <paramref name="retryAlso"/> (an output's "an operator will fix this" answers: 401/403 for bad
    /// credentials, InfluxDB's 404 for a database not created yet) are retried instead of dead-lettered, with
    /// <paramref name="hint"/> appended to the reason so the retry log says what to fix.
    /// </summary>
    public static DeliveryOutcome<T> ToOutcome<T>(
        HttpStatusCode status, string? body, HttpResponseHeaders headers, DateTimeOffset now, IReadOnlyCollection<HttpStatusCode> retryAlso, string hint)
    {
        ArgumentNullException.ThrowIfNull(retryAlso);
        var outcome = ToOutcome<T>(status, body, headers, now);
        return retryAlso.Contains(status) && outcome is DeliveryOutcome<T>.Rejected rejected
            ? DeliveryOutcome<T>.Retry($"{rejected.Reason} ({hint})", RetryAfter(headers, now))
            : outcome;
    }

    /// <summary>
    /// The outcome for a response whose status is not a success, with the first <paramref name="maxBodyChars"/>
    /// characters of the peer's message in the reason (operators need the receiver's words, the device-worker hid them).
    /// </summary>
    public static DeliveryOutcome<T> ToOutcome<T>(HttpStatusCode status, string? body, HttpResponseHeaders headers, DateTimeOffset now, int maxBodyChars = 512)
    {
        var text = body is null ? string.Empty : body.Length > maxBodyChars ? body[..maxBodyChars] + "…" : body;
        var reason = string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)status}: {text.Trim()}").TrimEnd(':', ' ');
        return Classify(status) switch
        {
            Kind.Success => DeliveryOutcome<T>.Success,
            Kind.Retryable => DeliveryOutcome<T>.Retry(reason, RetryAfter(headers, now)),
            Kind.TooLarge => DeliveryOutcome<T>.TooLarge(reason),
            _ => DeliveryOutcome<T>.Reject(string.Create(CultureInfo.InvariantCulture, $"http_{(int)status}"), reason),
        };
    }

    /// <summary>
    /// The outcome of an HTTP answer: success for 2xx, otherwise <see cref="ToOutcome{T}(HttpStatusCode, string?, HttpResponseHeaders, DateTimeOffset, int)"/>
    /// (or its <paramref name="retryAlso"/> form when given) on the start of the peer's message. Only the first
    /// <see cref="MaxBodyBytes"/> bytes of an error body are read: the reason keeps 512 characters of it, and a peer
    /// answering with a huge page must not make every retry read it all.
    /// </summary>
    public static async Task<DeliveryOutcome<T>> ClassifyAsync<T>(
        HttpResponseMessage response, DateTimeOffset now, CancellationToken cancellationToken, IReadOnlyCollection<HttpStatusCode>? retryAlso = null, string? hint = null)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.IsSuccessStatusCode)
        {
            return DeliveryOutcome<T>.Success;
        }

        var body = await ReadBodyStartAsync(response, cancellationToken).ConfigureAwait(false);
        return retryAlso is null
            ? ToOutcome<T>(response.StatusCode, body, response.Headers, now)
            : ToOutcome<T>(response.StatusCode, body, response.Headers, now, retryAlso, hint ?? string.Empty);
    }

    /// <summary>Bytes of an error body read for its message (4 KiB hold the 512 characters kept, whatever the UTF-8).</summary>
    public const int MaxBodyBytes = 4096;

    private static async Task<string> ReadBodyStartAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new byte[MaxBodyBytes];
                var total = 0;
                int read;
                while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    total += read;
                }

                return System.Text.Encoding.UTF8.GetString(buffer, 0, total);
            }
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }
}
