namespace Flotel.Model.Manifests;

/// <summary>
/// An HTTP <c>Authorization</c> header value for the metrics receiver: scheme <c>Bearer</c> with a token, or
/// <c>Basic</c> with base64 of <c>username:password</c> (RFC 7617). The credentials are a <see cref="SecretValue"/> and
/// <see cref="ToString"/> never shows them.
/// </summary>
public sealed record ReceiverAuthorization(string Scheme, SecretValue Parameter)
{
    /// <inheritdoc />
    public override string ToString() => Scheme + " (credentials not shown)";
}
