namespace Flotel.Wire.Syslog;

/// <summary>UDP framing (RFC 5426 §3.1): one datagram is one message.</summary>
public static class SyslogDatagram
{
    /// <summary>
    /// The message carried by <paramref name="datagram"/>: trailing LF, CR and NUL bytes removed (many senders end
    /// UDP messages with <c>\n</c> or <c>\0</c>). Returns an empty span for a datagram with nothing else.
    /// </summary>
    public static ReadOnlySpan<byte> GetMessage(ReadOnlySpan<byte> datagram) => datagram.TrimEnd("\n\r\0"u8);
}
