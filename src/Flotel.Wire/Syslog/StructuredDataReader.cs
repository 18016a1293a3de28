using System.Buffers;

namespace Flotel.Wire.Syslog;

/// <summary>
/// Walks RFC 5424 STRUCTURED-DATA (§6.3) without allocating:
/// <code>
///   SD-ELEMENT = "[" SD-ID *(SP SD-PARAM) "]"      SD-PARAM = PARAM-NAME "=" %d34 PARAM-VALUE %d34
/// </code>
/// Lenient where senders are (syslog_loose): spaces before a name and after <c>=</c> are allowed; an element that
/// does not follow the grammar (<c>[incorrect x]</c>) is skipped as a whole. An element without a closing
/// <c>]</c> ends the structured data: it and what follows are the message.
/// </summary>
internal ref struct StructuredDataReader
{
    // SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', '"' (§6.3.2).
    private static readonly SearchValues<byte> NameStops = SearchValues.Create(" =]\""u8);

    private readonly ReadOnlySpan<byte> _s;
    private int _pos;
    private int _elementEnd;
    private int _paramPos;

    public StructuredDataReader(ReadOnlySpan<byte> s, int start)
    {
        _s = s;
        _pos = start;
        _elementEnd = -1;
        _paramPos = -1;
    }

    /// <summary>Offset just after the last complete element read.</summary>
    public readonly int Position => _pos;

    /// <summary>
    /// Moves to the next element. False at the end of the structured data. <paramref name="valid"/> is false for
    /// an element that breaks the grammar: it is skipped and has no params.
    /// </summary>
    public bool TryReadElement(out SyslogTextRange id, out bool valid)
    {
        id = SyslogTextRange.None;
        valid = false;
        if (_pos >= _s.Length || _s[_pos] != '[')
        {
            return false;
        }

        int idStart = _pos + 1;
        int idEnd = _s[idStart..].IndexOfAny(NameStops);
        idEnd = idEnd < 0 ? _s.Length : idStart + idEnd;

        // One pass in the common case: read the params up to ']'; only a broken element needs the quote-aware scan.
        int end = idEnd > idStart ? FindEndByParams(_s, idEnd) : -1;
        if (end >= 0)
        {
            valid = true;
        }
        else
        {
            end = FindElementEnd(_s, idStart);
            if (end < 0)
            {
                return false;
            }
        }

        id = new SyslogTextRange(idStart, Math.Min(idEnd, end) - idStart);
        _paramPos = valid ? idEnd : -1;
        _elementEnd = end;
        _pos = end + 1;
        return true;
    }

    /// <summary>Next param of the current (valid) element; the value is raw, escapes unresolved.</summary>
    public bool TryReadParam(out SyslogTextRange name, out SyslogTextRange value)
    {
        name = value = SyslogTextRange.None;
        int i = _paramPos;
        if (i < 0 || i >= _elementEnd || !TryParam(_s, ref i, out name, out value))
        {
            _paramPos = -1;
            return false;
        }

        _paramPos = i;
        return true;
    }

    // From just after the SD-ID: *(SP+ PARAM) SP* "]". Returns the index of ']' or -1 when the grammar breaks.
    private static int FindEndByParams(ReadOnlySpan<byte> s, int i)
    {
        while (i < s.Length)
        {
            byte b = s[i];
            if (b == ']')
            {
                return i;
            }

            if (b != ' ')
            {
                return -1;
            }

            int p = i;
            if (!TryParam(s, ref p, out _, out _))
            {
                // Only trailing spaces before ']' are allowed.
                while (i < s.Length && s[i] == ' ')
                {
                    i++;
                }

                return i < s.Length && s[i] == ']' ? i : -1;
            }

            i = p;
        }

        return -1;
    }

    // At i: SP* NAME "=" SP* '"' VALUE '"'.
    private static bool TryParam(ReadOnlySpan<byte> s, ref int i, out SyslogTextRange name, out SyslogTextRange value)
    {
        name = value = SyslogTextRange.None;
        int p = i;
        while (p < s.Length && s[p] == ' ')
        {
            p++;
        }

        int nameStart = p;
        int stop = s[p..].IndexOfAny(NameStops);
        if (stop <= 0 || s[p + stop] != '=')
        {
            return false;
        }

        p += stop;
        int nameEnd = p++;
        while (p < s.Length && s[p] == ' ')
        {
            p++;
        }

        if (p >= s.Length || s[p] != '"')
        {
            return false;
        }

        int valueStart = ++p;
        while (true)
        {
            int q = s[p..].IndexOfAny((byte)'"', (byte)'\\');
            if (q < 0)
            {
                return false;
            }

            p += q;
            if (s[p] == '"')
            {
                break;
            }

            p += 2; // an escaped character never ends the value
            if (p > s.Length)
            {
                return false;
            }
        }

        name = new SyslogTextRange(nameStart, nameEnd - nameStart);
        value = new SyslogTextRange(valueStart, p - valueStart);
        i = p + 1;
        return true;
    }

    // Index of the ']' closing the element whose content starts at i, skipping quoted values; -1 when none.
    private static int FindElementEnd(ReadOnlySpan<byte> s, int i)
    {
        bool quoted = false;
        for (; i < s.Length; i++)
        {
            byte b = s[i];
            if (quoted)
            {
                if (b == '\\')
                {
                    i++;
                }
                else if (b == '"')
                {
                    quoted = false;
                }
            }
            else if (b == '"')
            {
                quoted = true;
            }
            else if (b == ']')
            {
                return i;
            }
        }

        return -1;
    }

}
