namespace Flotel.Wire.Syslog;

/// <summary>Which header layout a message was parsed with.</summary>
public enum SyslogDialect
{
    /// <summary>Not syslog: the event keeps the raw line and gets the parse-failure tag (architecture §5).</summary>
    NotSyslog = 0,

    /// <summary>RFC 3164 and its lenient relatives (Flotta's layout, Go's log/syslog, rsyslog's forwarding format).</summary>
    Rfc3164,

    /// <summary>RFC 5424 (<c>&lt;PRI&gt;1 </c>).</summary>
    Rfc5424,
}
