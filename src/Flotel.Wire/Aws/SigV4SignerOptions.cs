namespace Flotel.Wire.Aws;

/// <summary>
/// How a <see cref="SigV4Signer"/> builds the canonical request. The defaults are right for every AWS service
/// except S3 (Timestream, OpenSearch/Elasticsearch <c>es</c>, …).
/// </summary>
public sealed class SigV4SignerOptions
{
    /// <summary>The defaults.</summary>
    public static SigV4SignerOptions Default { get; } = new();

    /// <summary>
    /// Remove <c>.</c>, <c>..</c> and empty segments from the path before encoding it. Default <see langword="true"/>;
    /// S3 signs the path as sent (suite: <c>normalize</c> in <c>context.json</c>).
    /// </summary>
    public bool NormalizePath { get; init; } = true;

    /// <summary>
    /// URI-encode the (wire-form) path once more for the canonical URI, which makes an already escaped path
    /// doubly encoded as AWS requires for every service but S3. Default <see langword="true"/>.
    /// </summary>
    public bool EncodePath { get; init; } = true;

    /// <summary>
    /// In header signing, add and sign <c>X-Amz-Content-Sha256</c> carrying the payload hash (suite:
    /// <c>sign_body</c>). Default <see langword="false"/>; S3 requires it.
    /// </summary>
    public bool AddContentSha256Header { get; init; }

    /// <summary>
    /// Add the session token after signing instead of signing it (suite: <c>omit_session_token</c>; some
    /// services, e.g. IoT presigned URLs, want it unsigned). Default <see langword="false"/>: the token is signed.
    /// </summary>
    public bool OmitSessionTokenFromSignature { get; init; }
}
