using System.Globalization;
using System.Net;
using System.Text.Json;
using Flotel.Pipeline.Delivery;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Gateway.Outputs.Elasticsearch;

/// <summary>
/// A <c>_bulk</c> response → outcome, item by item (docs/reference/syslog-and-elasticsearch.md §3.3 and §9.3 O3–O6, Logstash's policy
/// without its flaws):
/// <list type="bullet">
/// <item>HTTP 429/5xx/408 → the whole batch is retried (with <c>Retry-After</c>); 413 → the driver halves it;
/// 401/403 → retried (fix the credentials; dead-lettering the backlog would not help); other 4xx → dead-lettered.</item>
/// <item>2xx with <c>"errors":false</c> → success. With <c>"errors":true</c> each item: 2xx accepted; 409
/// (version conflict: the document is already there) dropped and counted; 429 and 5xx retried (only those items);
/// every other status (400 <c>mapper_parsing_exception</c>, 404 <c>index_not_found_exception</c>, …) dead-lettered
/// with the item's <c>type: reason</c> as the reason (<c>item status N</c> when it has no error) and <c>http_N</c> as
/// the counter's reason label. A whole request refused with another 4xx is dead-lettered with <c>HTTP N: body</c>.</item>
/// <item>A response whose item count differs from the request's, or that is not JSON, is retried whole
/// (Logstash's guard against the ES 7.10.2/7.11.1 bug).</item>
/// </list>
/// </summary>
public static class ElasticsearchResponseClassifier
{
    private static readonly HttpStatusCode[] RetriedStatuses = [HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden];

    /// <summary>Classifies <paramref name="response"/> to the request that sent <paramref name="batch"/>.</summary>
    public static async Task<DeliveryOutcome<LogDocument>> ClassifyAsync(
        HttpResponseMessage response, IReadOnlyList<LogDocument> batch, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var text = System.Text.Encoding.UTF8.GetString(body);
            return HttpStatusClassifier.ToOutcome<LogDocument>(response.StatusCode, text, response.Headers, now, RetriedStatuses, "check the output's credentials");
        }

        return ClassifyBody(body, batch, HttpStatusClassifier.RetryAfter(response.Headers, now));
    }

    /// <summary>Classifies a 2xx bulk response body.</summary>
    public static DeliveryOutcome<LogDocument> ClassifyBody(ReadOnlyMemory<byte> body, IReadOnlyList<LogDocument> batch, TimeSpan? retryAfter = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (HasNoErrors(body.Span))
        {
            return DeliveryOutcome<LogDocument>.Success;
        }

        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            return DeliveryOutcome<LogDocument>.Retry("bulk response is not JSON: " + e.Message);
        }

        using (json)
        {
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return DeliveryOutcome<LogDocument>.Retry("bulk response is not a JSON object");
            }

            if (!root.TryGetProperty("errors"u8, out var errors) || errors.ValueKind != JsonValueKind.True)
            {
                return DeliveryOutcome<LogDocument>.Success;
            }

            if (!root.TryGetProperty("items"u8, out var items) || items.ValueKind != JsonValueKind.Array || items.GetArrayLength() != batch.Count)
            {
                var count = items.ValueKind == JsonValueKind.Array ? items.GetArrayLength() : 0;
                return DeliveryOutcome<LogDocument>.Retry(string.Create(CultureInfo.InvariantCulture, $"bulk response has {count} items for {batch.Count} actions"));
            }

            var retry = new List<LogDocument>();
            var failed = new List<ItemFailure<LogDocument>>();
            string? retryReason = null;
            var i = 0;
            foreach (var item in items.EnumerateArray())
            {
                var (status, reason) = ReadItem(item);
                var document = batch[i++];
                if (status is >= 200 and < 300)
                {
                    continue;
                }

                if (status == 409)
                {
                    failed.Add(new ItemFailure<LogDocument>(document, "version_conflict", reason, FailureAction.Drop));
                }
                else if (status is 429 or >= 500 || status == 0)
                {
                    retry.Add(document);
                    retryReason ??= string.Create(CultureInfo.InvariantCulture, $"item status {status}: {reason}");
                }
                else
                {
                    // The item's own words (docs/operations.md, "Dead letters"): the bulk request itself succeeded, so no
                    // "HTTP …" prefix; the item status stays in the counter's reason label.
                    failed.Add(new ItemFailure<LogDocument>(document, string.Create(CultureInfo.InvariantCulture, $"http_{status}"),
                        reason.Length > 0 ? reason : string.Create(CultureInfo.InvariantCulture, $"item status {status}"), FailureAction.DeadLetter));
                }
            }

            return DeliveryOutcome<LogDocument>.Partial(retry, failed, retryReason, retryAfter);
        }
    }

    /// <summary>
    /// True when the top-level <c>errors</c> is <c>false</c>, read without building a document: the common answer is
    /// settled without parsing one item per document (Elasticsearch writes <c>errors</c> before <c>items</c>).
    /// </summary>
    private static bool HasNoErrors(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.CurrentDepth == 1 && reader.ValueTextEquals("errors"u8))
                {
                    return reader.Read() && reader.TokenType == JsonTokenType.False;
                }

                if (!reader.Read() || !reader.TrySkip())
                {
                    return false;
                }
            }
        }
        catch (JsonException)
        {
            // Malformed: the full parse below reports it.
        }

        return false;
    }

    /// <summary>One response item: <c>{"index":{"status":400,"error":{"type":"…","reason":"…"}}}</c> (the error may be a string on old servers).</summary>
    private static (int Status, string Reason) ReadItem(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            return (0, "malformed item");
        }

        foreach (var action in item.EnumerateObject())
        {
            var result = action.Value;
            if (result.ValueKind != JsonValueKind.Object)
            {
                break;
            }

            var status = result.TryGetProperty("status"u8, out var s) && s.TryGetInt32(out var code) ? code : 0;
            var reason = string.Empty;
            if (result.TryGetProperty("error"u8, out var error))
            {
                reason = error.ValueKind switch
                {
                    JsonValueKind.Object => $"{Text(error, "type"u8)}: {Text(error, "reason"u8)}".Trim(' ', ':'),
                    JsonValueKind.String => error.GetString() ?? string.Empty,
                    _ => error.GetRawText(),
                };
            }

            return (status, reason);
        }

        return (0, "malformed item");
    }

    private static string Text(JsonElement element, ReadOnlySpan<byte> name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? string.Empty : string.Empty;
}
