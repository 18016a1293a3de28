using System.Runtime.CompilerServices;

namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// Prometheus naming rules (remote-write spec 1.0, "Labels"; Prometheus data model): metric names
/// <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>, label names <c>[a-zA-Z_][a-zA-Z0-9_]*</c> — enforced by the exposition parser.
/// Remote write is more lenient for label names (<see cref="IsAcceptedLabelName(ReadOnlySpan{byte})"/>): Flotta's
/// device-worker labels every series <c>metric-source=…</c> (docs/reference/flotta-device-worker.md §4), which the 1.0 regex forbids
/// but Prometheus 2.x receivers, VictoriaMetrics, Timestream and remote-write 2.0 ("names may be any UTF-8") accept.
/// Rejecting it would make every Flotta device's push fail with 400 — and Flotta drops data on 4xx.
/// </summary>
internal static class LabelRules
{
    public static ReadOnlySpan<byte> MetricNameLabel => "__name__"u8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsLetterOrUnderscore(int c) => (uint)((c | 0x20) - 'a') <= 'z' - 'a' || c == '_';

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDigit(int c) => (uint)(c - '0') <= 9;

    public static bool IsValidLabelName(ReadOnlySpan<byte> name) => IsValidName(name, allowColon: false);

    public static bool IsValidMetricName(ReadOnlySpan<byte> name) => IsValidName(name, allowColon: true);

    /// <summary>A remote-write label name: non-empty valid UTF-8 without control characters (see the class remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool IsAcceptedLabelName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }

        foreach (var b in name)
        {
            if (b < 0x20 || b == 0x7F)
            {
                return false;
            }
        }

        return System.Text.Unicode.Utf8.IsValid(name);
    }

    /// <summary>A remote-write label name: non-empty, no control characters, no lone surrogates.</summary>
    public static bool IsAcceptedLabelName(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return false;
        }

        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (c < '\u0020' || c == '\u007F')
            {
                return false;
            }

            if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidLabelName(string name) => IsValidName(name.AsSpan(), allowColon: false);

    public static bool IsValidMetricName(string name) => IsValidName(name.AsSpan(), allowColon: true);

    /// <summary>
    /// One rule for both alphabets: a letter or underscore first (or a colon, for metric names), then letters,
    /// digits and underscores (and colons). Generic over UTF-8 bytes and UTF-16 chars so the wire decoder and the
    /// model-side encoder validate identically.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool IsValidName<T>(ReadOnlySpan<T> name, bool allowColon)
        where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        if (name.IsEmpty)
        {
            return false;
        }

        var first = int.CreateTruncating(name[0]);
        if (!IsLetterOrUnderscore(first) && !(allowColon && first == ':'))
        {
            return false;
        }

        for (var i = 1; i < name.Length; i++)
        {
            var c = int.CreateTruncating(name[i]);
            if (!IsLetterOrUnderscore(c) && !IsDigit(c) && !(allowColon && c == ':'))
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
