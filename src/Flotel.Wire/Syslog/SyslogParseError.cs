namespace Flotel.Wire.Syslog;

/// <summary>Why a line was not recognized as syslog (the line is still kept, see <see cref="SyslogDialect.NotSyslog"/>).</summary>
public enum SyslogParseError
{
    /// <summary>Parsed.</summary>
    None = 0,

    /// <summary>Nothing but whitespace.</summary>
    Empty,

    /// <summary><c>&lt;</c> not followed by 1–3 digits and <c>&gt;</c>, or a value above 191 (RFC 5424 §6.2.1).</summary>
    InvalidPriority,

    /// <summary>No RFC 3164 or RFC 3339 timestamp where the header needs one, or an impossible date.</summary>
    InvalidTimestamp,
}
