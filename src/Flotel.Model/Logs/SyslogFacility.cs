namespace Flotel.Model.Logs;

/// <summary>
/// Syslog facility codes (RFC 5424 §6.2.1, table 1) and the labels Logstash's syslog input gives them.
/// </summary>
/// <remarks>
/// The labels are logstash-input-syslog's <c>facility_labels</c> default, copied as is so dashboards built on
/// Logstash's legacy field names keep working (architecture §5). Logstash's list repeats
/// "security/authorization" (4 and 10) and "clock" (9 and 15); the duplicates are intentional.
/// </remarks>
public static class SyslogFacility
{
    /// <summary>Number of facilities defined by RFC 5424 (0–23); a PRI above 191 has no facility.</summary>
    public const int Count = 24;

    /// <summary>Facility 1, used with severity 5 (priority 13) for lines without a valid PRI (RFC 3164 §4.3.3).</summary>
    public const int UserLevel = 1;

    private static readonly string[] Labels =
    [
        "kernel", "user-level", "mail", "system", "security/authorization", "syslogd", "line printer",
        "network news", "UUCP", "clock", "security/authorization", "FTP", "NTP", "log audit", "log alert",
        "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    ];

    /// <summary>Logstash's label for <paramref name="facility"/>, or null when it is outside 0–23.</summary>
    public static string? Label(int facility) => (uint)facility < (uint)Labels.Length ? Labels[facility] : null;
}
