namespace Flotel.Wire.Aws;

/// <summary>
/// A raw HTTP/1.1 request as written in the SigV4 suite's <c>request.txt</c> and <c>*-signed-request.txt</c>
/// (and usable by an AWS fake): request line, header lines with obsolete line folding, a blank line, the body.
/// </summary>
/// <remarks>
/// <code>
/// METHOD SP request-target SP HTTP/1.1 LF      target may hold raw spaces (suite case get-space-*),
/// Name:value LF                                value kept verbatim after the first ':' (leading space too),
/// SP/HT continuation LF                        appended to the previous value as LF + the line (RFC 9112 §5.2),
/// LF                                           optional when there is no body,
/// body                                         everything after the blank line, byte for byte.
/// </code>
/// Lines end with LF or CRLF. Values are kept raw so a signed request can be written back exactly; the signer
/// canonicalises them.
/// </remarks>
internal sealed class RawHttpRequest
{
    private RawHttpRequest(string method, string target, string version, List<KeyValuePair<string, string>> headers, string body)
    {
        Method = method;
        Target = target;
        Version = version;
        Headers = headers;
        Body = body;
    }

    /// <summary>The method, e.g. <c>GET</c>.</summary>
    public string Method { get; }

    /// <summary>The request target as written (path and optional <c>?query</c>).</summary>
    public string Target { get; }

    /// <summary>The protocol version, e.g. <c>HTTP/1.1</c>.</summary>
    public string Version { get; }

    /// <summary>The path part of <see cref="Target"/>.</summary>
    public string Path => Target.IndexOf('?', StringComparison.Ordinal) is var q and >= 0 ? Target[..q] : Target;

    /// <summary>The query part of <see cref="Target"/>, without <c>?</c>; empty if none.</summary>
    public string Query => Target.IndexOf('?', StringComparison.Ordinal) is var q and >= 0 ? Target[(q + 1)..] : string.Empty;

    /// <summary>Headers in order, values verbatim (folded lines joined with LF).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The body, verbatim.</summary>
    public string Body { get; }

    /// <summary>Parses a complete request text.</summary>
    /// <exception cref="RawHttpRequestFormatException">The text is malformed.</exception>
    public static RawHttpRequest Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var position = 0;
        var lineNumber = 1;
        if (!TryReadLine(text, ref position, out var requestLine) || requestLine.Length == 0)
        {
            throw new RawHttpRequestFormatException(RawHttpRequestError.MissingRequestLine, lineNumber);
        }

        // The target may contain spaces in the suite, so split at the first and the last space.
        var firstSpace = requestLine.IndexOf(' ', StringComparison.Ordinal);
        var lastSpace = requestLine.LastIndexOf(' ');
        if (firstSpace <= 0 || lastSpace <= firstSpace + 1 || !requestLine.AsSpan(lastSpace + 1).StartsWith("HTTP/", StringComparison.Ordinal))
        {
            throw new RawHttpRequestFormatException(RawHttpRequestError.MalformedRequestLine, lineNumber);
        }

        var method = requestLine[..firstSpace];
        var target = requestLine[(firstSpace + 1)..lastSpace];
        var version = requestLine[(lastSpace + 1)..];

        var headers = new List<KeyValuePair<string, string>>();
        while (TryReadLine(text, ref position, out var line))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                break;
            }

            if (line[0] is ' ' or '\t')
            {
                if (headers.Count == 0)
                {
                    throw new RawHttpRequestFormatException(RawHttpRequestError.ContinuationWithoutHeader, lineNumber);
                }

                var last = headers[^1];
                headers[^1] = new(last.Key, last.Value + "\n" + line);
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line.AsSpan(0, colon).ContainsAny(" \t"))
            {
                throw new RawHttpRequestFormatException(RawHttpRequestError.MalformedHeader, lineNumber);
            }

            headers.Add(new(line[..colon], line[(colon + 1)..]));
        }

        return new RawHttpRequest(method, target, version, headers, text[position..]);
    }

    /// <summary>Reads one line (without its LF or CRLF); false at the end of the text.</summary>
    private static bool TryReadLine(string text, ref int position, out string line)
    {
        if (position >= text.Length)
        {
            line = string.Empty;
            return false;
        }

        var end = text.IndexOf('\n', position);
        var next = end < 0 ? text.Length : end + 1;
        var lineEnd = end < 0 ? text.Length : end;
        if (lineEnd > position && text[lineEnd - 1] == '\r')
        {
            lineEnd--;
        }

        line = text[position..lineEnd];
        position = next;
        return true;
    }
}
