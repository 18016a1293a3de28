namespace Flotel.Wire.Aws;

/// <summary>
/// An AWS access key pair with an optional session token (STS). The secret and the token never appear in
/// <see cref="ToString"/> or in exception messages (style.md rule 10: secrets are a type whose text is <c>***</c>).
/// </summary>
/// <remarks>
/// Deliberately a class, not a record: a record would print every member. Instances are immutable; rotating
/// credentials means creating a new instance, which also invalidates <see cref="SigV4Signer"/>'s key cache.
/// </remarks>
public sealed class AwsCredentials
{
    /// <summary>Creates credentials.</summary>
    /// <param name="accessKeyId">The access key id (an identifier, not a secret; it is part of every signature).</param>
    /// <param name="secretAccessKey">The secret access key.</param>
    /// <param name="sessionToken">The session token of temporary credentials, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The access key id or secret is empty (the message never quotes them).</exception>
    public AwsCredentials(string accessKeyId, string secretAccessKey, string? sessionToken = null)
    {
        ArgumentNullException.ThrowIfNull(accessKeyId);
        ArgumentNullException.ThrowIfNull(secretAccessKey);
        if (accessKeyId.Length == 0)
        {
            throw new ArgumentException("The AWS access key id must not be empty.", nameof(accessKeyId));
        }

        if (secretAccessKey.Length == 0)
        {
            throw new ArgumentException("The AWS secret access key must not be empty.", nameof(secretAccessKey));
        }

        if (sessionToken is { Length: 0 })
        {
            throw new ArgumentException("The AWS session token must be null or non-empty.", nameof(sessionToken));
        }

        AccessKeyId = accessKeyId;
        SecretAccessKey = secretAccessKey;
        SessionToken = sessionToken;
    }

    /// <summary>The access key id (e.g. <c>AKIDEXAMPLE</c>).</summary>
    public string AccessKeyId { get; }

    /// <summary>The secret access key. Only the signer reads it; never log it.</summary>
    internal string SecretAccessKey { get; }

    /// <summary>The session token of temporary credentials, or <see langword="null"/>. Sent as <c>X-Amz-Security-Token</c>.</summary>
    public string? SessionToken { get; }

    /// <summary>Prints the access key id and <c>***</c> in place of the secret and the token.</summary>
    public override string ToString()
        => SessionToken is null
            ? $"AwsCredentials(AccessKeyId={AccessKeyId}, SecretAccessKey=***)"
            : $"AwsCredentials(AccessKeyId={AccessKeyId}, SecretAccessKey=***, SessionToken=***)";
}
