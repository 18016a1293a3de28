namespace Flotel.Model.Logs;

/// <summary>
/// One log event with Logstash's legacy syslog field names (architecture §5, the contract): what the gateway stores,
/// returns from <c>_search</c> and sends to Elasticsearch.
/// </summary>
/// <remarks>
/// Optional fields are null when absent. <see cref="Timestamp"/> is kept as a <see cref="DateTime"/> (UTC) and only
/// formatted (<see cref="LogTimestamp"/>) when the event is serialized, so building an event costs no date formatting.
/// </remarks>
public sealed class LogEvent
{
    /// <summary>The tag set on a line that is not syslog (architecture §5; nothing else sets tags).</summary>
    public const string ParseFailureTag = "_syslogparsefailure";

    /// <summary>Value of <c>@version</c>.</summary>
    public const string Version = "1";

    /// <summary>Priority given to a line without a valid PRI: facility 1 (user-level), severity 5 (notice), RFC 3164 §4.3.3.</summary>
    public const int DefaultPriority = (SyslogFacility.UserLevel * 8) + SyslogSeverity.Notice;

    private static readonly System.Collections.ObjectModel.ReadOnlyCollection<string> ParseFailureTags = Array.AsReadOnly([ParseFailureTag]);

    /// <summary><c>@timestamp</c>: the header time in UTC; the receive time when the header has none or parsing failed.</summary>
    public DateTime Timestamp { get; set; }

    /// <summary><c>message</c>: the body after the header (no trailing CR/LF, leading spaces removed); the raw line on parse failure.</summary>
    public string Message { get; set; } = string.Empty;

    /// <summary><c>host</c>: the sender's IP address as seen by the receiver.</summary>
    public string? Host { get; set; }

    /// <summary><c>logsource</c>: the header HOSTNAME (absent when empty or <c>-</c>).</summary>
    public string? LogSource { get; set; }

    /// <summary><c>program</c>: the RFC 3164 TAG or RFC 5424 APP-NAME.</summary>
    public string? Program { get; set; }

    /// <summary><c>pid</c>: the <c>[pid]</c> of the TAG or the RFC 5424 PROCID.</summary>
    public string? Pid { get; set; }

    /// <summary><c>msgid</c>: the RFC 5424 MSGID.</summary>
    public string? MsgId { get; set; }

    /// <summary><c>priority</c>: facility × 8 + severity.</summary>
    public int Priority { get; set; } = DefaultPriority;

    /// <summary><c>facility</c> (priority / 8).</summary>
    public int Facility => Priority >> 3;

    /// <summary><c>severity</c> (priority % 8).</summary>
    public int Severity => Priority & 7;

    /// <summary><c>facility_label</c> (Logstash's label list).</summary>
    public string? FacilityLabel => SyslogFacility.Label(Facility);

    /// <summary><c>severity_label</c> (Logstash's label list).</summary>
    public string? SeverityLabel => SyslogSeverity.Label(Severity);

    /// <summary><c>timestamp</c>: the header's timestamp text as received (absent when the header has none).</summary>
    public string? TimestampText { get; set; }

    /// <summary><c>structured_data</c>: RFC 5424 SD-ID → param → value, escapes resolved; null when there is none.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? StructuredData { get; set; }

    /// <summary><c>device_id</c>: the Flotta device (Flotel's structured data, or the HOSTNAME of Flotta's layout).</summary>
    public string? DeviceId { get; set; }

    /// <summary><c>workload</c>: the Flotta workload (Flotel's structured data, or the TAG of Flotta's layout).</summary>
    public string? Workload { get; set; }

    /// <summary><c>container_id</c>: the container (Flotel's structured data, or a leading 64-hex id + <c>": "</c> in the body).</summary>
    public string? ContainerId { get; set; }

    /// <summary><c>tags</c>: <c>["_syslogparsefailure"]</c> when the line is not syslog, otherwise null.</summary>
    public IReadOnlyList<string>? Tags { get; set; }

    /// <summary>True when the line could not be parsed as syslog (<see cref="Tags"/> holds <see cref="ParseFailureTag"/>).</summary>
    public bool IsParseFailure => Tags is { Count: > 0 } tags && tags.Contains(ParseFailureTag);

    /// <summary>Marks the event as a parse failure (shares one immutable tag list, so it allocates nothing).</summary>
    public void MarkParseFailure() => Tags = ParseFailureTags;
}
