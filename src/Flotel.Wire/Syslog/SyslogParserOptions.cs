namespace Flotel.Wire.Syslog;

/// <summary>Options of a syslog input's parser (architecture §5).</summary>
public sealed class SyslogParserOptions
{
    /// <summary>
    /// <c>timezone</c>: the zone of RFC 3164 times written without an offset. <c>UTC</c> (default), a fixed offset
    /// (<c>-05:00</c>, <c>+0530</c>) or an IANA zone id (<c>Europe/Paris</c>, resolved from the system's tz data).
    /// </summary>
    public string Timezone { get; set; } = "UTC";
}
