namespace Flotel.Wire.Syslog;

/// <summary>How formatted messages are delimited on the transport.</summary>
public enum SyslogOutputFraming
{
    /// <summary>RFC 6587 §3.4.2: the message then LF; CR and LF inside the message are escaped (<c>#015</c>, <c>#012</c>, as rsyslog does).</summary>
    LineFeed = 0,

    /// <summary>RFC 6587 §3.4.1: <c>MSG-LEN SP SYSLOG-MSG</c>; the message is sent unchanged.</summary>
    OctetCounting,

    /// <summary>UDP (RFC 5426): one datagram per message, no delimiter.</summary>
    Datagram,
}
