namespace Flotel.Model.Logs;

/// <summary>Syslog severity codes (RFC 5424 §6.2.1, table 2) and Logstash's <c>severity_labels</c>.</summary>
public static class SyslogSeverity
{
    /// <summary>Number of severities (0–7).</summary>
    public const int Count = 8;

    /// <summary>Severity 5, used with facility 1 (priority 13) for lines without a valid PRI (RFC 3164 §4.3.3).</summary>
    public const int Notice = 5;

    private static readonly string[] Labels =
    [
        "Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug",
    ];

    /// <summary>Logstash's label for <paramref name="severity"/>, or null when it is outside 0–7.</summary>
    public static string? Label(int severity) => (uint)severity < (uint)Labels.Length ? Labels[severity] : null;
}
