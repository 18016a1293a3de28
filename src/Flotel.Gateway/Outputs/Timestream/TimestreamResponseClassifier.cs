using System.Globalization;
using System.Net;
using System.Text.Json;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;

namespace Flotel.Gateway.Outputs.Timestream;

/// <summary>
/// A Timestream answer → what the delivery driver does (style rule 4; docs/reference/timestream-and-remote-write.md §2.5). Never retries a permanent
/// error, never drops a retryable one:
/// <list type="bullet">
/// <item>2xx → success;</item>
/// <item><c>RejectedRecordsException</c> (419) → the records named by <c>RejectedRecords[].RecordIndex</c> are
/// dead-lettered with their <c>Reason</c>, the rest of the call was written (acknowledged); an unreadable list
/// dead-letters the whole call, since which records were written is unknown;</item>
/// <item><c>ThrottlingException</c> (429), <c>InternalServerException</c> and every 5xx, 408, 421 /
/// <c>InvalidEndpointException</c> (the client already rediscovered once) → retry, honouring <c>Retry-After</c>;</item>
/// <item>a credentials or permission answer, from DescribeEndpoints or WriteRecords: <c>AccessDeniedException</c>,
/// <c>InvalidSignatureException</c>, <c>UnrecognizedClientException</c>, <c>ExpiredTokenException</c>, … (400/403), or
/// an untyped 401/403/407 (<see cref="HttpStatusClassifier.CredentialStatuses"/>) → retry with a reason that says to
/// check the credentials. The records are not at fault: dead-lettering them would empty the queue into a file while
/// an operator rotates a key or adds a permission, as the other outputs and the agent already avoid;</item>
/// <item><c>ValidationException</c> (400), <c>ResourceNotFoundException</c> (404) and any other 4xx → reject:
/// dead-lettered with the service's message (a wrong table is an operator's to fix; the records stay replayable in
/// the dead-letter file).</item>
/// </list>
/// The error type decides before the status: AWS JSON services also answer throttling with 400.
/// </summary>
public static class TimestreamResponseClassifier
{
    /// <summary>Error types that are retried whatever the status.</summary>
    private static readonly HashSet<string> RetryableTypes = new(StringComparer.Ordinal)
    {
        "ThrottlingException", "InternalServerException", "ServiceUnavailable", "ServiceUnavailableException",
        "InvalidEndpointException", "RequestTimeout", "RequestTimeoutException", "InvalidDescribeEndpointsResponse",
    };

    /// <summary>
    /// Error types about the caller's credentials, signature or permissions (the AWS JSON protocol's common errors and
    /// Timestream's <c>AccessDeniedException</c>): retried whatever the status, with <see cref="CredentialsHint"/>.
    /// </summary>
    private static readonly HashSet<string> CredentialTypes = new(StringComparer.Ordinal)
    {
        "AccessDeniedException", "InvalidSignatureException", "UnrecognizedClientException", "ExpiredToken",
        "ExpiredTokenException", "RequestExpired", "IncompleteSignature", "IncompleteSignatureException",
        "InvalidClientTokenId", "MissingAuthenticationToken", "MissingAuthenticationTokenException",
        "SignatureDoesNotMatch", "NotAuthorized", "AccessDenied",
    };

    /// <summary>Error types that are permanent whatever the status, with their metric code.</summary>
    private static readonly Dictionary<string, string> PermanentTypes = new(StringComparer.Ordinal)
    {
        ["ValidationException"] = "validation",
        ["ResourceNotFoundException"] = "resource_not_found",
    };

    /// <summary>Appended to the reason of a credentials answer, so the retry log says what to fix.</summary>
    public const string CredentialsHint = "check the output's AWS credentials (keys, session token, clock) and its IAM permissions for timestream:DescribeEndpoints and timestream:WriteRecords; retrying, nothing is dead-lettered";

    /// <summary>Classifies <paramref name="response"/> to a call that carried <paramref name="sent"/> (in body order).</summary>
    public static DeliveryOutcome<TimeSeries> Classify(TimestreamResponse response, IReadOnlyList<TimeSeries> sent)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(sent);
        if (response.IsSuccess)
        {
            return DeliveryOutcome<TimeSeries>.Success;
        }

        var status = (int)response.Status;
        var type = response.ErrorType;
        var reason = Reason(response);
        if (response.Operation == "WriteRecords" && (type == "RejectedRecordsException" || (type is null && status == 419)))
        {
            return Rejected(response, sent, reason);
        }

        if (type is not null && RetryableTypes.Contains(type))
        {
            return DeliveryOutcome<TimeSeries>.Retry(reason, response.RetryAfter);
        }

        if (type is not null ? CredentialTypes.Contains(type) : HttpStatusClassifier.CredentialStatuses.Contains(response.Status))
        {
            return DeliveryOutcome<TimeSeries>.Retry($"{reason} ({CredentialsHint})", response.RetryAfter);
        }

        if (type is not null && PermanentTypes.TryGetValue(type, out var code))
        {
            return DeliveryOutcome<TimeSeries>.Reject(code, reason);
        }

        return HttpStatusClassifier.Classify(response.Status) switch
        {
            HttpStatusClassifier.Kind.Retryable => DeliveryOutcome<TimeSeries>.Retry(reason, response.RetryAfter),
            HttpStatusClassifier.Kind.TooLarge => DeliveryOutcome<TimeSeries>.TooLarge(reason),
            _ when status == 421 => DeliveryOutcome<TimeSeries>.Retry(reason, response.RetryAfter),
            _ => DeliveryOutcome<TimeSeries>.Reject(string.Create(CultureInfo.InvariantCulture, $"http_{status}"), reason),
        };
    }

    /// <summary>
    /// <c>{"Message":…,"RejectedRecords":[{"RecordIndex":0,"Reason":"…","ExistingVersion":1}]}</c> (0-based indexes
    /// into the call's <c>Records</c>).
    /// </summary>
    private static DeliveryOutcome<TimeSeries> Rejected(TimestreamResponse response, IReadOnlyList<TimeSeries> sent, string reason)
    {
        var failures = new List<ItemFailure<TimeSeries>>();
        var seen = new HashSet<int>();
        var readable = false;
        try
        {
            using var document = JsonDocument.Parse(response.Body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && TryGetCaseInsensitive(document.RootElement, "RejectedRecords", out var list)
                && list.ValueKind == JsonValueKind.Array)
            {
                readable = true;
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Object
                        || !TryGetCaseInsensitive(item, "RecordIndex", out var indexElement)
                        || !indexElement.TryGetInt32(out var index) || index < 0 || index >= sent.Count)
                    {
                        readable = false;
                        break;
                    }

                    var why = TryGetCaseInsensitive(item, "Reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                    if (TryGetCaseInsensitive(item, "ExistingVersion", out var version) && version.ValueKind == JsonValueKind.Number)
                    {
                        why = string.Create(CultureInfo.InvariantCulture, $"{why} (existing version {version.GetRawText()})");
                    }

                    if (seen.Add(index))
                    {
                        failures.Add(new ItemFailure<TimeSeries>(sent[index], "rejected_record", "HTTP 419 RejectedRecordsException: " + (why ?? "no reason given"), FailureAction.DeadLetter));
                    }
                }
            }
        }
        catch (JsonException)
        {
            readable = false;
        }

        if (!readable || failures.Count == 0)
        {
            // Which records were written is unknown: keep them all for an operator rather than guess.
            return DeliveryOutcome<TimeSeries>.Reject("rejected_records_unreadable", reason + " (RejectedRecords missing or unreadable)");
        }

        return DeliveryOutcome<TimeSeries>.Partial([], failures);
    }

    private static string Reason(TimestreamResponse response)
    {
        string? message = null;
        if (response.Body.Length > 0 && response.Body[0] == '{')
        {
            try
            {
                using var document = JsonDocument.Parse(response.Body);
                if (document.RootElement.ValueKind == JsonValueKind.Object
                    && TryGetCaseInsensitive(document.RootElement, "Message", out var m) && m.ValueKind == JsonValueKind.String)
                {
                    message = m.GetString();
                }
            }
            catch (JsonException)
            {
                // Not JSON: quote the body below.
            }
        }

        message ??= response.Body.Length > 300 ? response.Body[..300] + "…" : response.Body;
        var type = response.ErrorType is null ? string.Empty : " " + response.ErrorType;
        var operation = response.Operation == "WriteRecords" ? string.Empty : " (" + response.Operation + ")";
        return string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)response.Status}{type}{operation}: {message.Trim()}").TrimEnd(':', ' ');
    }

    /// <summary>The message member is <c>Message</c> but often sent as <c>message</c> (docs/reference/timestream-and-remote-write.md §2.2): accept any case.</summary>
    private static bool TryGetCaseInsensitive(JsonElement element, string name, out JsonElement value)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (property.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                value = property.Value;
                return true;
            }
        }

        value = default;
        return false;
    }
}
