using System.Buffers;
using System.Text;
using Flotel.Model.Logs;

namespace Flotel.Wire.Syslog;

/// <summary>
/// Formats the agent's log lines for one syslog target, writing into an <see cref="IBufferWriter{T}"/> without
/// allocating per line. The device name and the agent's process id are fixed per formatter.
/// </summary>
/// <remarks>
/// <code>
///  Flotta:   &lt;PRI&gt;2022-05-12T20:22:01.494Z SP device SP workload[pid]: SP container-id: SP message
///  RFC 5424: &lt;PRI&gt;1 SP 2022-05-12T20:22:01.494Z SP device SP workload SP pid SP - SP
///            [flotel@32473 device="…" workload="…" container="…"] SP message
/// </code>
/// Header fields are made safe for their position (RFC 5424 §6.2: printable US-ASCII, APP-NAME ≤ 48 and HOSTNAME
/// ≤ 255 bytes; a TAG also avoids <c>[ ] :</c>): any other byte becomes <c>_</c>. SD values are escaped (§6.3.3).
/// A trailing CR/LF of the message is removed.
/// </remarks>
public sealed class SyslogFormatter
{
    private const int MaxHostname = 255;
    private const int MaxAppName = 48;
    private const int MaxLengthPrefix = 11; // 10 digits + SP

    private readonly byte[] _hostname;
    private readonly byte[] _procId;
    private readonly byte[] _escapedDevice;

    /// <summary>Creates a formatter for one target.</summary>
    /// <param name="format">The line layout.</param>
    /// <param name="framing">How lines are delimited on the transport.</param>
    /// <param name="deviceName">The Flotta device name (HOSTNAME; must not be empty).</param>
    /// <param name="processId">The agent's process id (PID / PROCID).</param>
    public SyslogFormatter(SyslogOutputFormat format, SyslogOutputFraming framing, string deviceName, int processId)
    {
        ArgumentException.ThrowIfNullOrEmpty(deviceName);
        Format = format;
        Framing = framing;
        _hostname = Sanitize(deviceName, MaxHostname, tag: false);
        _procId = Encoding.ASCII.GetBytes(processId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        byte[] raw = Encoding.UTF8.GetBytes(deviceName);
        _escapedDevice = new byte[raw.Length * 2];
        _escapedDevice = _escapedDevice.AsSpan(0, EscapeSdValue(raw, _escapedDevice)).ToArray();
    }

    /// <summary>The line layout.</summary>
    public SyslogOutputFormat Format { get; }

    /// <summary>The transport framing.</summary>
    public SyslogOutputFraming Framing { get; }

    /// <summary>Writes one framed message.</summary>
    /// <param name="output">Where the bytes go.</param>
    /// <param name="priority">PRI (facility × 8 + severity), 0–191.</param>
    /// <param name="timestamp">The capture time (written in UTC with milliseconds).</param>
    /// <param name="workload">The workload name (TAG / APP-NAME).</param>
    /// <param name="containerId">The container id, or null.</param>
    /// <param name="message">The log line as captured (UTF-8; a trailing CR/LF is removed).</param>
    public void Write(IBufferWriter<byte> output, int priority, DateTime timestamp, string workload, string? containerId, ReadOnlySpan<byte> message)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)priority, 191u, nameof(priority));
        message = message.TrimEnd("\r\n"u8);

        bool escapeLines = Framing == SyslogOutputFraming.LineFeed;
        int messageMax = escapeLines ? message.Length * 4 : message.Length;
        int workloadMax = Encoding.UTF8.GetMaxByteCount(workload.Length);
        int containerMax = containerId is null ? 0 : Encoding.UTF8.GetMaxByteCount(containerId.Length);
        int max = MaxLengthPrefix + 5 + 2 + LogTimestamp.Length + 1 + _hostname.Length + 1 + (workloadMax * 3) + _procId.Length
            + (_escapedDevice.Length + (containerMax * 2) + 64) + 4 + messageMax + 1;

        Span<byte> span = output.GetSpan(max);
        int bodyStart = Framing == SyslogOutputFraming.OctetCounting ? MaxLengthPrefix : 0;
        int n = bodyStart;
        span[n++] = (byte)'<';
        n += WriteInt(priority, span[n..]);
        span[n++] = (byte)'>';
        if (Format == SyslogOutputFormat.Rfc5424)
        {
            span[n++] = (byte)'1';
            span[n++] = (byte)' ';
        }

        LogTimestamp.TryFormatUtf8(timestamp, span[n..], out int written);
        n += written;
        span[n++] = (byte)' ';
        _hostname.CopyTo(span[n..]);
        n += _hostname.Length;
        span[n++] = (byte)' ';

        if (Format == SyslogOutputFormat.Rfc5424)
        {
            n += WriteSanitized(workload, MaxAppName, tag: false, span[n..]);
            span[n++] = (byte)' ';
            _procId.CopyTo(span[n..]);
            n += _procId.Length;
            n += Copy(" - [flotel@32473 device=\""u8, span[n..]);
            _escapedDevice.CopyTo(span[n..]);
            n += _escapedDevice.Length;
            n += Copy("\" workload=\""u8, span[n..]);
            n += WriteEscaped(workload, span[n..]);
            if (containerId is not null)
            {
                n += Copy("\" container=\""u8, span[n..]);
                n += WriteEscaped(containerId, span[n..]);
            }

            n += Copy("\"]"u8, span[n..]);
            if (!message.IsEmpty)
            {
                span[n++] = (byte)' ';
            }
        }
        else
        {
            n += WriteSanitized(workload, MaxAppName, tag: true, span[n..]);
            span[n++] = (byte)'[';
            _procId.CopyTo(span[n..]);
            n += _procId.Length;
            n += Copy("]: "u8, span[n..]);
            if (containerId is not null)
            {
                n += WriteSanitized(containerId, int.MaxValue, tag: true, span[n..]);
                n += Copy(": "u8, span[n..]);
            }
        }

        n += escapeLines ? WriteLineEscaped(message, span[n..]) : Copy(message, span[n..]);
        if (escapeLines)
        {
            span[n++] = (byte)'\n';
        }

        if (Framing == SyslogOutputFraming.OctetCounting)
        {
            int bodyLength = n - bodyStart;
            int prefix = WriteInt(bodyLength, span);
            span[prefix++] = (byte)' ';
            span.Slice(bodyStart, bodyLength).CopyTo(span[prefix..]); // overlapping copy is a memmove
            n = prefix + bodyLength;
        }

        output.Advance(n);
    }

    private static int Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return source.Length;
    }

    private static int WriteInt(int value, Span<byte> destination)
    {
        value.TryFormat(destination, out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        return written;
    }

    // LF framing: a CR or LF inside the message would split it; escape as rsyslog does (#ooo octal).
    private static int WriteLineEscaped(ReadOnlySpan<byte> message, Span<byte> destination)
    {
        int n = 0;
        while (true)
        {
            int at = message.IndexOfAny((byte)'\n', (byte)'\r'); // vectorized: most lines have none
            if (at < 0)
            {
                message.CopyTo(destination[n..]);
                return n + message.Length;
            }

            message[..at].CopyTo(destination[n..]);
            n += at;
            destination[n++] = (byte)'#';
            destination[n++] = (byte)'0';
            destination[n++] = (byte)'1';
            destination[n++] = message[at] == '\n' ? (byte)'2' : (byte)'5';
            message = message[(at + 1)..];
        }
    }

    private static int WriteSanitized(string text, int maxBytes, bool tag, Span<byte> destination)
    {
        int n = Encoding.UTF8.GetBytes(text, destination);
        n = Math.Min(n, maxBytes);
        SanitizeInPlace(destination[..n], tag);
        if (n == 0)
        {
            destination[n++] = (byte)'-';
        }

        return n;
    }

    private static byte[] Sanitize(string text, int maxBytes, bool tag)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        Span<byte> span = bytes.AsSpan(0, Math.Min(bytes.Length, maxBytes));
        SanitizeInPlace(span, tag);
        return span.ToArray();
    }

    private static void SanitizeInPlace(Span<byte> bytes, bool tag)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            byte b = bytes[i];
            if (b is < 33 or > 126 || (tag && b is (byte)'[' or (byte)']' or (byte)':'))
            {
                bytes[i] = (byte)'_';
            }
        }
    }

    private static int WriteEscaped(string value, Span<byte> destination)
    {
        // Encode at the end of the free space, then escape forward into the start (never overlaps harmfully:
        // the escaped form is written left to right and is at most twice as long).
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        Span<byte> raw = destination.Slice(max, max);
        int length = Encoding.UTF8.GetBytes(value, raw);
        return EscapeSdValue(raw[..length], destination);
    }

    // RFC 5424 §6.3.3: '"', '\' and ']' are escaped with '\' inside PARAM-VALUE.
    private static int EscapeSdValue(ReadOnlySpan<byte> raw, Span<byte> destination)
    {
        int n = 0;
        foreach (byte b in raw)
        {
            if (b is (byte)'"' or (byte)'\\' or (byte)']')
            {
                destination[n++] = (byte)'\\';
            }

            destination[n++] = b;
        }

        return n;
    }
}
