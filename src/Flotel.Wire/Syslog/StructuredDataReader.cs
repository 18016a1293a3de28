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

        int end = FindElementEnd(_s, _pos + 1);
        if (end < 0)
        {
            return false;
        }

        int i = _pos + 1;
        int idStart = i;
        while (i < end && !IsNameStop(_s[i]))
        {
            i++;
        }

        id = new SyslogTextRange(idStart, i - idStart);
        valid = i > idStart && ValidateParams(_s, i, end);
        _paramPos = i;
        _elementEnd = end;
        _pos = end + 1;
        return true;
    }

    /// <summary>Next param of the current (valid) element; the value is raw, escapes unresolved.</summary>
    public bool TryReadParam(out SyslogTextRange name, out SyslogTextRange value)
    {
        name = value = SyslogTextRange.None;
        int i = _paramPos;
        if (i < 0 || !TryParam(_s, ref i, _elementEnd, out name, out value))
        {
            _paramPos = -1;
            return false;
        }

        _paramPos = i;
        return true;
    }

    private static bool ValidateParams(ReadOnlySpan<byte> s, int i, int end)
    {
        while (i < end)
        {
            if (s[i] != ' ')
            {
                return false;
            }

            int before = i;
            if (!TryParam(s, ref i, end, out _, out _))
            {
                // Only trailing spaces are left, or the grammar is broken.
                while (before < end && s[before] == ' ')
                {
                    before++;
                }

                return before == end;
            }
        }

        return true;
    }

    // At i: SP+ NAME "=" SP* '"' VALUE '"'.
    private static bool TryParam(ReadOnlySpan<byte> s, ref int i, int end, out SyslogTextRange name, out SyslogTextRange value)
    {
        name = value = SyslogTextRange.None;
        int p = i;
        while (p < end && s[p] == ' ')
        {
            p++;
        }

        int nameStart = p;
        while (p < end && !IsNameStop(s[p]))
        {
            p++;
        }

        if (p == nameStart || p >= end || s[p] != '=')
        {
            return false;
        }

        int nameEnd = p++;
        while (p < end && s[p] == ' ')
        {
            p++;
        }

        if (p >= end || s[p] != '"')
        {
            return false;
        }

        int valueStart = ++p;
        while (p < end && s[p] != '"')
        {
            p += s[p] == '\\' ? 2 : 1;
        }

        if (p >= end)
        {
            return false;
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

    // SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', '"' (§6.3.2).
    private static bool IsNameStop(byte b) => b is (byte)' ' or (byte)'=' or (byte)']' or (byte)'"';
}
