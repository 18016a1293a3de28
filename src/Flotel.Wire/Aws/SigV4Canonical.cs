using System.Text;

namespace Flotel.Wire.Aws;

/// <summary>
/// The canonical forms of SigV4 task 1 ("Create a canonical request", AWS IAM User Guide, Signature Version 4):
/// URI encoding, path normalisation, canonical query and canonical headers. Pure functions over strings.
/// </summary>
internal static class SigV4Canonical
{
    private const string HexUpper = "0123456789ABCDEF";

    /// <summary>
    /// Appends <paramref name="value"/>'s UTF-8 bytes URI-encoded the SigV4 way: unreserved characters
    /// (<c>A-Z a-z 0-9 - _ . ~</c>) as they are, everything else as <c>%XX</c> with uppercase hex. With
    /// <paramref name="keepSlash"/> a <c>/</c> stays literal (path encoding); in query components it is <c>%2F</c>.
    /// </summary>
    public static void AppendUriEncoded(StringBuilder builder, string value, bool keepSlash)
        => AppendUriEncodedBytes(builder, Encoding.UTF8.GetBytes(value), keepSlash);

    /// <summary>URI-encodes a query component (keys, values) as a new string; <c>/</c> becomes <c>%2F</c>.</summary>
    public static string UriEncode(string value)
    {
        var builder = new StringBuilder(value.Length + 16);
        AppendUriEncoded(builder, value, keepSlash: false);
        return builder.ToString();
    }

    private static void AppendUriEncodedBytes(StringBuilder builder, ReadOnlySpan<byte> bytes, bool keepSlash)
    {
        foreach (var b in bytes)
        {
            if (IsUnreserved(b) || (keepSlash && b == (byte)'/'))
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(HexUpper[b >> 4]).Append(HexUpper[b & 0xF]);
            }
        }
    }

    private static bool IsUnreserved(byte b)
        => b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~';

    /// <summary>
    /// The canonical URI. The wire path is normalised (optional: RFC 3986 §5.2.4 dot segments plus empty segments,
    /// which every AWS service but S3 collapses) and then encoded once more (optional: the "encode twice" rule,
    /// off for S3). An empty path is <c>/</c>.
    /// </summary>
    public static string CanonicalUri(string wirePath, bool normalize, bool encode)
    {
        var path = wirePath.Length == 0 ? "/" : wirePath;
        if (normalize)
        {
            path = NormalizePath(path);
        }

        if (!encode)
        {
            return path;
        }

        var builder = new StringBuilder(path.Length + 16);
        AppendUriEncoded(builder, path, keepSlash: true);
        return builder.ToString();
    }

    /// <summary>
    /// Removes <c>.</c>, <c>..</c> and empty segments. A trailing slash survives (as does one implied by a
    /// final <c>.</c>/<c>..</c>, as in RFC 3986 §5.2.4), except that the root stays a single <c>/</c>.
    /// Suite cases: <c>get-slashes-normalized</c> <c>//example//</c> → <c>/example/</c>,
    /// <c>get-relative-relative-normalized</c> <c>/example1/example2/../..</c> → <c>/</c>.
    /// </summary>
    public static string NormalizePath(string path)
    {
        var segments = path.Split('/');
        var kept = new List<string>(segments.Length);
        foreach (var segment in segments)
        {
            switch (segment)
            {
                case "":
                case ".":
                    break;
                case "..":
                    if (kept.Count > 0)
                    {
                        kept.RemoveAt(kept.Count - 1);
                    }

                    break;
                default:
                    kept.Add(segment);
                    break;
            }
        }

        if (kept.Count == 0)
        {
            return "/";
        }

        var last = segments[^1];
        var trailingSlash = last is "" or "." or "..";
        return "/" + string.Join('/', kept) + (trailingSlash ? "/" : string.Empty);
    }

    /// <summary>
    /// Splits a wire query into canonically encoded (key, value) pairs: each component is percent-decoded
    /// (only <c>%XX</c>; <c>+</c> is a literal plus, not a space) and re-encoded, so <c>%E1%88%B4</c> and a raw
    /// <c>ሴ</c> both become <c>%E1%88%B4</c>. A key without <c>=</c> has an empty value. Empty pieces
    /// (<c>a&amp;&amp;b</c>) carry no parameter and are dropped.
    /// </summary>
    public static List<KeyValuePair<string, string>> EncodedQueryParameters(string wireQuery)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var piece in wireQuery.Split('&'))
        {
            if (piece.Length == 0)
            {
                continue;
            }

            var equals = piece.IndexOf('=', StringComparison.Ordinal);
            var key = equals < 0 ? piece : piece[..equals];
            var value = equals < 0 ? string.Empty : piece[(equals + 1)..];
            result.Add(new(Reencode(key), Reencode(value)));
        }

        return result;
    }

    /// <summary>Sorts encoded pairs by key, then value (ordinal, i.e. by byte), and joins them with <c>&amp;</c>.</summary>
    public static string CanonicalQuery(List<KeyValuePair<string, string>> encodedParameters)
    {
        encodedParameters.Sort(static (a, b) =>
        {
            var byKey = string.CompareOrdinal(a.Key, b.Key);
            return byKey != 0 ? byKey : string.CompareOrdinal(a.Value, b.Value);
        });
        var builder = new StringBuilder();
        foreach (var (key, value) in encodedParameters)
        {
            if (builder.Length > 0)
            {
                builder.Append('&');
            }

            builder.Append(key).Append('=').Append(value);
        }

        return builder.ToString();
    }

    private static string Reencode(string component)
    {
        var bytes = new List<byte>(component.Length);
        Span<byte> scratch = stackalloc byte[4];
        for (var i = 0; i < component.Length; i++)
        {
            var c = component[i];
            if (c == '%' && i + 2 < component.Length && IsHex(component[i + 1]) && IsHex(component[i + 2]))
            {
                bytes.Add((byte)((HexValue(component[i + 1]) << 4) | HexValue(component[i + 2])));
                i += 2;
            }
            else if (c < 0x80)
            {
                bytes.Add((byte)c);
            }
            else
            {
                // A raw non-ASCII character (suite case get-vanilla-utf8-query): its UTF-8 bytes.
                var length = char.IsHighSurrogate(c) && i + 1 < component.Length && char.IsLowSurrogate(component[i + 1])
                    ? Encoding.UTF8.GetBytes(component.AsSpan(i++, 2), scratch)
                    : Encoding.UTF8.GetBytes(component.AsSpan(i, 1), scratch);
                for (var j = 0; j < length; j++)
                {
                    bytes.Add(scratch[j]);
                }
            }
        }

        var builder = new StringBuilder(bytes.Count + 16);
        AppendUriEncodedBytes(builder, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes), keepSlash: false);
        return builder.ToString();
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>
    /// A header value in canonical form: leading and trailing whitespace trimmed and every run of whitespace
    /// (spaces, tabs, and the CR/LF of obsolete line folding, RFC 9112 §5.2) collapsed to one space.
    /// Suite cases <c>get-header-value-trim</c>, <c>get-header-value-multiline</c>.
    /// </summary>
    public static string CanonicalHeaderValue(string value)
    {
        var span = value.AsSpan().Trim(" \t\r\n");
        var builder = new StringBuilder(span.Length);
        var inWhitespace = false;
        foreach (var c in span)
        {
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                inWhitespace = true;
                continue;
            }

            if (inWhitespace)
            {
                builder.Append(' ');
                inWhitespace = false;
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}
