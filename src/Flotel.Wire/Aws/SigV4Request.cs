namespace Flotel.Wire.Aws;

/// <summary>
/// What SigV4 signs: the request as it will go on the wire. Pure data; building it does no I/O.
/// </summary>
/// <remarks>
/// <see cref="Path"/> and <see cref="Query"/> are the wire form (percent-encoded as the client sends them).
/// The signer decodes query parameters and re-encodes them canonically; the path is encoded once more
/// ("each path segment URI-encoded twice", AWS SigV4 "Create a canonical request"), unless
/// <see cref="SigV4SignerOptions.EncodePath"/> is off (S3).
/// </remarks>
public sealed class SigV4Request
{
    /// <summary>The payload hash of an empty body: hex SHA-256 of zero bytes.</summary>
    public const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// <summary>Creates a request.</summary>
    /// <param name="method">The HTTP method, e.g. <c>POST</c>.</param>
    /// <param name="path">The absolute path as sent (e.g. <c>/</c>, <c>/_bulk</c>); empty means <c>/</c>.</param>
    /// <param name="query">The query string as sent, without the leading <c>?</c>; empty for none.</param>
    /// <param name="headers">The headers in order; a name may repeat. Must include <c>Host</c>.</param>
    /// <param name="payloadHash">Lowercase hex SHA-256 of the body (see <see cref="SigV4Signer.HashPayload"/>),
    /// or a literal such as <c>UNSIGNED-PAYLOAD</c> where the service accepts it.</param>
    public SigV4Request(
        string method,
        string path,
        string query,
        IReadOnlyList<KeyValuePair<string, string>> headers,
        string payloadHash)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentException.ThrowIfNullOrEmpty(payloadHash);
        if (query.StartsWith('?'))
        {
            throw new ArgumentException("The query must be given without its leading '?'.", nameof(query));
        }

        Method = method;
        Path = path;
        Query = query;
        Headers = headers;
        PayloadHash = payloadHash;
    }

    /// <summary>The HTTP method.</summary>
    public string Method { get; }

    /// <summary>The absolute path as sent on the wire.</summary>
    public string Path { get; }

    /// <summary>The query string as sent on the wire, without <c>?</c>.</summary>
    public string Query { get; }

    /// <summary>The headers in order (multi-valued: a name may appear several times).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>Lowercase hex SHA-256 of the body, or a literal payload marker.</summary>
    public string PayloadHash { get; }
}
