using System.Runtime.CompilerServices;

namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// Prometheus naming rules (remote-write spec 1.0, "Labels"; Prometheus data model): metric names
/// <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>, label names <c>[a-zA-Z_][a-zA-Z0-9_]*</c>.
/// </summary>
internal static class LabelRules
{
    public static ReadOnlySpan<byte> MetricNameLabel => "__name__"u8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsLetterOrUnderscore(int c) => (uint)((c | 0x20) - 'a') <= 'z' - 'a' || c == '_';

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDigit(int c) => (uint)(c - '0') <= 9;

    public static bool IsValidLabelName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || !IsLetterOrUnderscore(name[0]))
        {
            return false;
        }

        for (var i = 1; i < name.Length; i++)
        {
            var c = name[i];
            if (!IsLetterOrUnderscore(c) && !IsDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidMetricName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || !(IsLetterOrUnderscore(name[0]) || name[0] == ':'))
        {
            return false;
        }

        for (var i = 1; i < name.Length; i++)
        {
            var c = name[i];
            if (!IsLetterOrUnderscore(c) && !IsDigit(c) && c != ':')
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidLabelName(string name)
    {
        if (name.Length == 0 || !IsLetterOrUnderscore(name[0]))
        {
            return false;
        }

        for (var i = 1; i < name.Length; i++)
        {
            var c = name[i];
            if (!IsLetterOrUnderscore(c) && !IsDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidMetricName(string name)
    {
        if (name.Length == 0 || !(IsLetterOrUnderscore(name[0]) || name[0] == ':'))
        {
            return false;
        }

        for (var i = 1; i < name.Length; i++)
        {
            var c = name[i];
            if (!IsLetterOrUnderscore(c) && !IsDigit(c) && c != ':')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A printable, bounded rendering of untrusted bytes for one-line error messages.</summary>
    public static string Quote(ReadOnlySpan<byte> bytes)
    {
        const int Max = 64;
        var text = System.Text.Encoding.UTF8.GetString(bytes.Length > Max ? bytes[..Max] : bytes);
        var sb = new System.Text.StringBuilder(text.Length + 2);
        sb.Append('"');
        foreach (var ch in text)
        {
            sb.Append(char.IsControl(ch) ? '?' : ch);
        }

        if (bytes.Length > Max)
        {
            sb.Append('…');
        }

        return sb.Append('"').ToString();
    }
}
