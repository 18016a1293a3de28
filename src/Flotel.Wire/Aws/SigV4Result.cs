namespace Flotel.Wire.Aws;

/// <summary>
/// The outcome of signing: the intermediate texts (for diagnostics and the test suite) and what to add to the
/// request. Header signing fills <see cref="HeadersToAdd"/>; presigning fills <see cref="QueryParametersToAdd"/>.
/// </summary>
/// <remarks>
/// The signature of a presigned URL is a bearer credential until it expires: this type does not override
/// <see cref="object.ToString"/>, so logging it prints only its type name.
/// </remarks>
public sealed class SigV4Result
{
    internal SigV4Result(
        string canonicalRequest,
        string stringToSign,
        string signature,
        string signedHeaders,
        string credentialScope,
        string amzDate,
        string? authorization,
        IReadOnlyList<KeyValuePair<string, string>> headersToAdd,
        IReadOnlyList<KeyValuePair<string, string>> queryParametersToAdd)
    {
        CanonicalRequest = canonicalRequest;
        StringToSign = stringToSign;
        Signature = signature;
        SignedHeaders = signedHeaders;
        CredentialScope = credentialScope;
        AmzDate = amzDate;
        Authorization = authorization;
        HeadersToAdd = headersToAdd;
        QueryParametersToAdd = queryParametersToAdd;
    }

    /// <summary>The canonical request (SigV4 task 1).</summary>
    public string CanonicalRequest { get; }

    /// <summary>The string to sign (SigV4 task 2).</summary>
    public string StringToSign { get; }

    /// <summary>The signature, lowercase hex (SigV4 task 3).</summary>
    public string Signature { get; }

    /// <summary>The signed header names, lowercase, sorted, joined with <c>;</c>.</summary>
    public string SignedHeaders { get; }

    /// <summary>The credential scope <c>yyyymmdd/region/service/aws4_request</c>.</summary>
    public string CredentialScope { get; }

    /// <summary>The signing time as <c>yyyyMMddTHHmmssZ</c>.</summary>
    public string AmzDate { get; }

    /// <summary>The <c>Authorization</c> header value (header signing), or <see langword="null"/> when presigning.</summary>
    public string? Authorization { get; }

    /// <summary>
    /// Headers to add, in this order: <c>X-Amz-Security-Token</c> (if any), <c>X-Amz-Date</c>,
    /// <c>X-Amz-Content-Sha256</c> (if enabled), <c>Authorization</c>. Empty when presigning.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> HeadersToAdd { get; }

    /// <summary>
    /// Query parameters to append when presigning, already URI-encoded, in this order: <c>X-Amz-Algorithm</c>,
    /// <c>X-Amz-Credential</c>, <c>X-Amz-Date</c>, <c>X-Amz-SignedHeaders</c>, <c>X-Amz-Expires</c>,
    /// <c>X-Amz-Security-Token</c> (if any), <c>X-Amz-Signature</c>. Empty for header signing.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> QueryParametersToAdd { get; }

    /// <summary>
    /// Appends <see cref="QueryParametersToAdd"/> to a wire query string (without <c>?</c>): the presigned query.
    /// </summary>
    public string AppendQueryParameters(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var builder = new System.Text.StringBuilder(query);
        foreach (var (name, value) in QueryParametersToAdd)
        {
            if (builder.Length > 0)
            {
                builder.Append('&');
            }

            builder.Append(name).Append('=').Append(value);
        }

        return builder.ToString();
    }
}
