using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using Flotel.Model.Logs;

namespace Flotel.Wire.Syslog;

/// <summary>
/// Parses one syslog message into a <see cref="LogEvent"/> (architecture §5): RFC 5424 first, then a lenient
/// RFC 3164 that also reads Flotta's layout; anything else is kept as a parse failure (raw line, priority 13,
/// tag <c>_syslogparsefailure</c>) — never dropped, never given priority 0.
/// </summary>
/// <remarks>
/// Two steps, so the hot path can be measured and used on its own: <see cref="Parse"/> finds the fields as offsets
/// and numbers without allocating; <see cref="Materialize"/> makes the strings of the event. Thread-safe: the parser
/// holds only its options.
/// <para>Flotta context: Flotel's own structured data element is <see cref="FlotelSdId"/> with params
/// <c>device</c>, <c>workload</c> and <c>container</c>. <c>32473</c> is the private enterprise number RFC 5424
/// reserves for documentation (§7.2.2 examples); Flotel has no IANA number of its own, and a receiver treats
/// any <c>name@number</c> SD-ID as opaque, so the id is stable and harmless. Without that element, Flotta's layout
/// gives the context: a body starting with a 64-hex container id and <c>": "</c> makes the HOSTNAME the device and
/// the TAG the workload.</para>
/// </remarks>
public sealed class SyslogParser
{
    /// <summary>SD-ID of Flotel's structured data element (see remarks).</summary>
    public const string FlotelSdId = "flotel@32473";

    /// <summary>SD-PARAM of <see cref="FlotelSdId"/> naming the Flotta device.</summary>
    public const string DeviceParam = "device";

    /// <summary>SD-PARAM of <see cref="FlotelSdId"/> naming the workload.</summary>
    public const string WorkloadParam = "workload";

    /// <summary>SD-PARAM of <see cref="FlotelSdId"/> holding the container id.</summary>
    public const string ContainerParam = "container";

    // Podman/Docker full container ids: 64 lowercase hex digits.
    private const int ContainerIdLength = 64;

    // Above this, a multi-segment frame is copied into a pooled array instead of the stack.
    private const int StackCopyLimit = 1024;

    // Invalid UTF-8 becomes U+FFFD (architecture §5); nothing is dropped.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private static readonly SearchValues<byte> HexDigits = SearchValues.Create("0123456789abcdefABCDEF"u8);

    private readonly SyslogTimeZone _zone;

    /// <summary>Creates a parser; throws <see cref="ArgumentException"/> for an unknown <c>timezone</c>.</summary>
    public SyslogParser(SyslogParserOptions? options = null)
    {
        _zone = SyslogTimeZone.Resolve(options?.Timezone);
    }

    /// <summary>A parser for UTC zone-less times.</summary>
    public static SyslogParser Default { get; } = new();

    /// <summary>
    /// Finds the fields of one message (no framing bytes) without allocating. <paramref name="receivedAtUtc"/> is
    /// the time used when the header has none, and gives the year of RFC 3164 times.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public SyslogParseResult Parse(ReadOnlySpan<byte> message, DateTime receivedAtUtc)
    {
        var r = new SyslogParseResult
        {
            Priority = LogEvent.DefaultPriority,
            Timestamp = DateTime.SpecifyKind(receivedAtUtc, DateTimeKind.Utc),
            TimestampText = SyslogTextRange.None,
            Hostname = SyslogTextRange.None,
            AppName = SyslogTextRange.None,
            ProcId = SyslogTextRange.None,
            MsgId = SyslogTextRange.None,
            StructuredData = SyslogTextRange.None,
            DeviceId = SyslogTextRange.None,
            Workload = SyslogTextRange.None,
            ContainerId = SyslogTextRange.None,
        };

        int end = message.Length;
        // Trailing whitespace goes, CR/LF included (architecture §5: no trailing CR/LF; syslog_loose trims the line too).
        while (end > 0 && message[end - 1] is (byte)'\n' or (byte)'\r' or 0 or (byte)' ' or (byte)'\t')
        {
            end--;
        }

        ReadOnlySpan<byte> s = message[..end];
        r.Message = new SyslogTextRange(0, end);
        int pos = 0;
        while (pos < end && s[pos] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            pos++;
        }

        if (pos == end)
        {
            r.Error = SyslogParseError.Empty;
            return r;
        }

        if (s[pos] == '<')
        {
            if (!TryReadPriority(s, ref pos, out int priority))
            {
                r.Error = SyslogParseError.InvalidPriority;
                return r;
            }

            if (pos + 1 < end && s[pos] == '1' && s[pos + 1] == ' ')
            {
                var r5424 = r;
                r5424.Priority = priority;
                r5424.HasPriority = true;
                if (TryParse5424(s, pos + 2, ref r5424))
                {
                    FindContainerId(s, ref r5424);
                    return r5424;
                }
            }

            var r3164 = r;
            r3164.Priority = priority;
            r3164.HasPriority = true;
            if (TryParse3164(s, pos, receivedAtUtc, ref r3164))
            {
                return r3164;
            }
        }
        else if (TryParse3164(s, pos, receivedAtUtc, ref r))
        {
            return r;
        }

        r.Error = SyslogParseError.InvalidTimestamp;
        return r;
    }

    /// <summary>
    /// Makes the event of a message parsed by <see cref="Parse"/>. <paramref name="message"/> must be the same bytes;
    /// <paramref name="peerAddress"/> becomes <c>host</c>. A <paramref name="pool"/> (one per connection) reuses the
    /// strings of repeating header fields.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static LogEvent Materialize(ReadOnlySpan<byte> message, in SyslogParseResult result, string? peerAddress, SyslogStringPool? pool = null)
    {
        var e = new LogEvent
        {
            Timestamp = result.Timestamp,
            Priority = result.Priority,
            Host = peerAddress,
            Message = Text(result.Message, message, null) ?? string.Empty,
        };

        if (result.Dialect == SyslogDialect.NotSyslog)
        {
            e.Priority = LogEvent.DefaultPriority;
            e.MarkParseFailure();
            return e;
        }

        e.TimestampText = Text(result.TimestampText, message, null);
        e.LogSource = Text(result.Hostname, message, pool);
        e.Program = Text(result.AppName, message, pool);
        e.Pid = Text(result.ProcId, message, pool);
        e.MsgId = Text(result.MsgId, message, pool);
        if (result.StructuredData.IsPresent)
        {
            e.StructuredData = ReadStructuredData(message, result.StructuredData);
        }

        if (result.ContextFromStructuredData)
        {
            e.DeviceId = Unescape(result.DeviceId, message, pool);
            e.Workload = Unescape(result.Workload, message, pool);
        }
        else
        {
            // Flotta's layout: the device is the HOSTNAME and the workload the TAG — same bytes, same strings.
            e.DeviceId = result.DeviceId == result.Hostname ? e.LogSource : Text(result.DeviceId, message, pool);
            e.Workload = result.Workload == result.AppName ? e.Program : Text(result.Workload, message, pool);
        }

        e.ContainerId = result.ContainerFromStructuredData ? Unescape(result.ContainerId, message, pool) : Text(result.ContainerId, message, pool);
        return e;
    }

    /// <summary>Parses and materializes one message held in a span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public LogEvent ParseEvent(ReadOnlySpan<byte> message, DateTime receivedAtUtc, string? peerAddress, SyslogStringPool? pool = null)
    {
        SyslogParseResult result = Parse(message, receivedAtUtc);
        return Materialize(message, result, peerAddress, pool);
    }

    /// <summary>Parses and materializes one frame from <see cref="SyslogFramer"/> (copied once if it spans segments).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public LogEvent ParseEvent(in ReadOnlySequence<byte> frame, DateTime receivedAtUtc, string? peerAddress, SyslogStringPool? pool = null)
    {
        if (frame.IsSingleSegment)
        {
            return ParseEvent(frame.FirstSpan, receivedAtUtc, peerAddress, pool);
        }

        int length = checked((int)frame.Length);
        if (length <= StackCopyLimit)
        {
            Span<byte> copy = stackalloc byte[length];
            frame.CopyTo(copy);
            return ParseEvent(copy, receivedAtUtc, peerAddress, pool);
        }

        byte[] rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            frame.CopyTo(rented);
            return ParseEvent(rented.AsSpan(0, length), receivedAtUtc, peerAddress, pool);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // PRI = "<" 1*3DIGIT ">", value 0..191 (RFC 5424 §6.2.1); pos moves past '>'.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryReadPriority(ReadOnlySpan<byte> s, ref int pos, out int priority)
    {
        priority = 0;
        int i = pos + 1;
        int digits = 0;
        while (i < s.Length && digits <= 3 && (uint)(s[i] - '0') <= 9)
        {
            priority = (priority * 10) + (s[i] - '0');
            digits++;
            i++;
        }

        if (digits is 0 or > 3 || i >= s.Length || s[i] != '>' || priority > 191)
        {
            return false;
        }

        pos = i + 1;
        return true;
    }

    // RFC 5424 §6: after "<PRI>1 ": TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryParse5424(ReadOnlySpan<byte> s, int pos, ref SyslogParseResult r)
    {
        int tsEnd = TokenEnd(s, pos);
        if (tsEnd == pos)
        {
            return false;
        }

        if (!(tsEnd - pos == 1 && s[pos] == '-'))
        {
            if (!SyslogTimestampParser.TryReadRfc3339(s, pos, out int end, out DateTime wall, out bool hasOffset, out TimeSpan offset) || end != tsEnd)
            {
                return false;
            }

            r.Timestamp = hasOffset ? DateTime.SpecifyKind(wall - offset, DateTimeKind.Utc) : _zone.ToUtc(wall);
            r.HasHeaderTimestamp = true;
            r.TimestampText = new SyslogTextRange(pos, tsEnd - pos);
        }

        pos = tsEnd;
        if (!TryHeaderField(s, ref pos, out SyslogTextRange host)
            || !TryHeaderField(s, ref pos, out SyslogTextRange app)
            || !TryHeaderField(s, ref pos, out SyslogTextRange procId)
            || !TryHeaderField(s, ref pos, out SyslogTextRange msgId))
        {
            return false;
        }

        r.Hostname = host;
        r.AppName = app;
        r.ProcId = procId;
        r.MsgId = msgId;
        r.Dialect = SyslogDialect.Rfc5424;
        if (pos < s.Length && s[pos] == ' ')
        {
            pos = SkipSpaces(s, pos);
        }

        if (pos < s.Length && s[pos] == '-' && (pos + 1 == s.Length || s[pos + 1] == ' '))
        {
            pos++;
        }
        else if (pos < s.Length && s[pos] == '[')
        {
            pos = ReadStructuredDataContext(s, pos, ref r);
        }

        pos = SkipSpaces(s, pos);

        // RFC 5424 §6.4: MSG may start with a UTF-8 BOM; it is not part of the text.
        if (s[pos..].StartsWith("\uFEFF"u8))
        {
            pos += 3;
        }

        r.Message = new SyslogTextRange(pos, s.Length - pos);
        return true;
    }

    // Walks the SD once: remembers its extent and the values of Flotel's element.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ReadStructuredDataContext(ReadOnlySpan<byte> s, int pos, ref SyslogParseResult r)
    {
        var reader = new StructuredDataReader(s, pos);
        bool any = false;
        while (reader.TryReadElement(out SyslogTextRange id, out bool valid))
        {
            any = true;
            if (!valid || !id.Slice(s).SequenceEqual("flotel@32473"u8))
            {
                continue;
            }

            while (reader.TryReadParam(out SyslogTextRange name, out SyslogTextRange value))
            {
                ReadOnlySpan<byte> n = name.Slice(s);
                if (n.SequenceEqual("device"u8))
                {
                    r.DeviceId = value;
                    r.ContextFromStructuredData = true;
                }
                else if (n.SequenceEqual("workload"u8))
                {
                    r.Workload = value;
                    r.ContextFromStructuredData = true;
                }
                else if (n.SequenceEqual("container"u8))
                {
                    r.ContainerId = value;
                    r.ContainerFromStructuredData = true;
                }
            }
        }

        if (any)
        {
            r.StructuredData = new SyslogTextRange(pos, reader.Position - pos);
        }

        return reader.Position;
    }

    // SP then a header field; "-" (NILVALUE) gives an absent field.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryHeaderField(ReadOnlySpan<byte> s, ref int pos, out SyslogTextRange field)
    {
        field = SyslogTextRange.None;
        if (pos >= s.Length || s[pos] != ' ')
        {
            return false;
        }

        int start = pos + 1;
        int end = TokenEnd(s, start);
        if (end == start)
        {
            return false;
        }

        if (!(end - start == 1 && s[start] == '-'))
        {
            field = new SyslogTextRange(start, end - start);
        }

        pos = end;
        return true;
    }

    // Lenient RFC 3164 (architecture §5): [PRI] TIMESTAMP [SP HOSTNAME] [SP TAG] SP* MSG.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryParse3164(ReadOnlySpan<byte> s, int pos, DateTime receivedAtUtc, ref SyslogParseResult r)
    {
        pos = SkipSpaces(s, pos);
        if (!TryReadTimestamp3164(s, pos, receivedAtUtc, out int tsTextEnd, out int tsEnd, out DateTime utc))
        {
            return false;
        }

        r.Dialect = SyslogDialect.Rfc3164;
        r.Timestamp = utc;
        r.HasHeaderTimestamp = true;
        r.TimestampText = new SyslogTextRange(pos, tsTextEnd - pos);
        pos = tsEnd;
        if (pos >= s.Length)
        {
            r.Message = new SyslogTextRange(s.Length, 0);
            return true;
        }

        pos++; // the SP after the timestamp
        bool tagPosition;
        if (pos < s.Length && s[pos] == ' ')
        {
            // Double space: the HOSTNAME is empty (Flotta's layout before the device id is known).
            pos++;
            tagPosition = true;
        }
        else
        {
            int tokenEnd = TokenEnd(s, pos);
            if (TryTag(s, pos, tokenEnd, ref r, out int messageStart))
            {
                SetMessage3164(s, messageStart, ref r);
                return true;
            }

            r.Hostname = new SyslogTextRange(pos, tokenEnd - pos);
            pos = tokenEnd;

            // One SP then a token: maybe the TAG. Two SPs: no TAG.
            tagPosition = pos + 1 < s.Length && s[pos + 1] != ' ';
            pos = Math.Min(pos + 1, s.Length);
        }

        if (tagPosition)
        {
            int tokenEnd = TokenEnd(s, pos);
            if (tokenEnd > pos && TryTag(s, pos, tokenEnd, ref r, out int messageStart))
            {
                SetMessage3164(s, messageStart, ref r);
                return true;
            }
        }

        SetMessage3164(s, pos, ref r);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SetMessage3164(ReadOnlySpan<byte> s, int pos, ref SyslogParseResult r)
    {
        pos = SkipSpaces(s, pos);
        r.Message = new SyslogTextRange(pos, s.Length - pos);
        if (FindContainerId(s, ref r) && r.AppName.IsPresent)
        {
            // Flotta's layout: HOSTNAME = device, TAG = workload, body = "<container id>: <line>".
            r.Workload = r.AppName;
            r.DeviceId = r.Hostname;
        }
    }

    // A TAG is a token ending in ':' or holding "name[pid]:" (then the message may follow the ':' directly).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryTag(ReadOnlySpan<byte> s, int start, int tokenEnd, ref SyslogParseResult r, out int messageStart)
    {
        messageStart = tokenEnd;
        ReadOnlySpan<byte> token = s[start..tokenEnd];
        int tagLength;
        if (token.Length > 0 && token[^1] == ':')
        {
            tagLength = token.Length - 1;
        }
        else
        {
            int close = token.IndexOf("]:"u8);
            if (close < 0 || token[..close].IndexOf((byte)'[') < 0)
            {
                return false;
            }

            tagLength = close + 1;
            messageStart = start + close + 2;
        }

        ReadOnlySpan<byte> tag = token[..tagLength];
        int open = tag.IndexOf((byte)'[');
        if (open >= 0 && tag.Length > 0 && tag[^1] == ']')
        {
            if (open > 0)
            {
                r.AppName = new SyslogTextRange(start, open);
            }

            if (tag.Length - open - 2 > 0)
            {
                r.ProcId = new SyslogTextRange(start + open + 1, tag.Length - open - 2);
            }
        }
        else if (tagLength > 0)
        {
            r.AppName = new SyslogTextRange(start, tagLength);
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryReadTimestamp3164(ReadOnlySpan<byte> s, int pos, DateTime receivedAtUtc, out int textEnd, out int end, out DateTime utc)
    {
        utc = default;
        if (SyslogTimestampParser.TryReadRfc3339(s, pos, out end, out DateTime wall, out bool hasOffset, out TimeSpan offset)
            && (end == s.Length || s[end] == ' '))
        {
            textEnd = end;
            utc = hasOffset ? DateTime.SpecifyKind(wall - offset, DateTimeKind.Utc) : _zone.ToUtc(wall);
            return true;
        }

        if (!SyslogTimestampParser.TryReadBsd(s, pos, out textEnd, out end, out int year, out int month, out int day, out long timeOfDay))
        {
            return false;
        }

        if (year == 0)
        {
            // The year comes from the receive time; a December message received in January is from last year.
            DateTime received = _zone.FromUtc(receivedAtUtc);
            year = received.Year;
            if (month == 12 && received.Month == 1)
            {
                year--;
            }
        }

        if (!SyslogTimestampParser.TryBuild(year, month, day, timeOfDay, out DateTime local))
        {
            return false;
        }

        utc = _zone.ToUtc(local);
        return true;
    }

    // A leading "<64 hex>: " in the body is the container id (Flotta's podman log reader adds it).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool FindContainerId(ReadOnlySpan<byte> s, ref SyslogParseResult r)
    {
        if (r.ContainerFromStructuredData)
        {
            return false;
        }

        // "<id>: <line>", or "<id>:" alone when the container printed an empty line (trailing space trimmed).
        ReadOnlySpan<byte> body = r.Message.Slice(s);
        if (body.Length < ContainerIdLength + 1 || body[ContainerIdLength] != ':'
            || (body.Length > ContainerIdLength + 1 && body[ContainerIdLength + 1] != ' ')
            || body[..ContainerIdLength].ContainsAnyExcept(HexDigits))
        {
            return false;
        }

        r.ContainerId = new SyslogTextRange(r.Message.Start, ContainerIdLength);
        return true;
    }

    private static Dictionary<string, IReadOnlyDictionary<string, string>>? ReadStructuredData(ReadOnlySpan<byte> s, SyslogTextRange range)
    {
        Dictionary<string, IReadOnlyDictionary<string, string>>? result = null;
        var reader = new StructuredDataReader(s[..(range.Start + range.Length)], range.Start);
        while (reader.TryReadElement(out SyslogTextRange id, out bool valid))
        {
            if (!valid)
            {
                continue;
            }

            var element = new Dictionary<string, string>(StringComparer.Ordinal);
            while (reader.TryReadParam(out SyslogTextRange name, out SyslogTextRange value))
            {
                element[Utf8.GetString(name.Slice(s))] = Unescape(value, s)!;
            }

            result ??= new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
            result[Utf8.GetString(id.Slice(s))] = element;
        }

        return result;
    }

    // RFC 5424 §6.3.3: in PARAM-VALUE, '\' escapes '"', '\' and ']'; before any other character it is kept.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string? Unescape(SyslogTextRange range, ReadOnlySpan<byte> s, SyslogStringPool? pool = null)
    {
        if (!range.IsPresent)
        {
            return null;
        }

        ReadOnlySpan<byte> raw = range.Slice(s);
        if (raw.IndexOf((byte)'\\') < 0)
        {
            return pool is null ? Utf8.GetString(raw) : pool.Get(raw, Utf8);
        }

        byte[]? rented = raw.Length > StackCopyLimit ? ArrayPool<byte>.Shared.Rent(raw.Length) : null;
        Span<byte> buffer = rented ?? stackalloc byte[StackCopyLimit];
        int n = 0;
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\\' && i + 1 < raw.Length && raw[i + 1] is (byte)'"' or (byte)'\\' or (byte)']')
            {
                i++;
            }

            buffer[n++] = raw[i];
        }

        string text = Utf8.GetString(buffer[..n]);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return text;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string? Text(SyslogTextRange range, ReadOnlySpan<byte> s, SyslogStringPool? pool) =>
        !range.IsPresent ? null : pool is null ? Utf8.GetString(range.Slice(s)) : pool.Get(range.Slice(s), Utf8);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int TokenEnd(ReadOnlySpan<byte> s, int pos)
    {
        int i = s[pos..].IndexOf((byte)' ');
        return i < 0 ? s.Length : pos + i;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SkipSpaces(ReadOnlySpan<byte> s, int pos)
    {
        while (pos < s.Length && s[pos] == ' ')
        {
            pos++;
        }

        return pos;
    }
}
