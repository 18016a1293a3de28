namespace Flotel.Wire.RemoteWrite;

/// <summary>
/// HTTP headers of Prometheus remote write 1.0 (remote-write spec 1.0, "Protocol"): the body is a snappy
/// block (never the framed format) of a protobuf <c>prometheus.WriteRequest</c>.
/// </summary>
public static class RemoteWriteHeaders
{
    /// <summary>Header name: <c>Content-Encoding</c>.</summary>
    public const string ContentEncodingName = "Content-Encoding";

    /// <summary>The only accepted and sent <c>Content-Encoding</c>: snappy block format.</summary>
    public const string ContentEncoding = "snappy";

    /// <summary>Header name: <c>Content-Type</c>.</summary>
    public const string ContentTypeName = "Content-Type";

    /// <summary>The <c>Content-Type</c> sent; a <c>proto=prometheus.WriteRequest</c> parameter is also accepted (spec 2.0 §"Content-Type").</summary>
    public const string ContentType = "application/x-protobuf";

    /// <summary>Header name: <c>X-Prometheus-Remote-Write-Version</c>.</summary>
    public const string VersionName = "X-Prometheus-Remote-Write-Version";

    /// <summary>Value sent with 1.0 requests (Prometheus <c>RemoteWriteVersion1HeaderValue</c>).</summary>
    public const string Version = "0.1.0";

    /// <summary>
    /// Checks the request's <c>Content-Type</c> and <c>Content-Encoding</c>, throwing a
    /// <see cref="RemoteWriteException"/> that maps to HTTP 415 when they are not remote write 1.0.
    /// A missing Content-Type is tolerated (old senders); a missing or other Content-Encoding is not,
    /// because the body would then not be snappy.
    /// </summary>
    public static void Validate(string? contentType, string? contentEncoding)
    {
        if (!IsAcceptedContentType(contentType))
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.UnsupportedContentType, "unsupported Content-Type '" + contentType + "', expected " + ContentType);
        }

        if (contentEncoding is null || !string.Equals(contentEncoding.Trim(), ContentEncoding, StringComparison.OrdinalIgnoreCase))
        {
            throw new RemoteWriteException(RemoteWriteRejectReason.UnsupportedContentEncoding, "unsupported Content-Encoding '" + contentEncoding + "', expected snappy");
        }
    }

    private static bool IsAcceptedContentType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return true;
        }

        var span = contentType.AsSpan();
        var semicolon = span.IndexOf(';');
        var media = (semicolon < 0 ? span : span[..semicolon]).Trim();
        if (!media.Equals(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (semicolon < 0)
        {
            return true;
        }

        // Only the v1 schema is understood; "proto=io.prometheus.write.v2.Request" must get 415 (spec 2.0).
        foreach (var part in contentType[(semicolon + 1)..].Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.StartsWith("proto=", StringComparison.OrdinalIgnoreCase)
                && !string.Equals(part[6..].Trim('"'), "prometheus.WriteRequest", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
