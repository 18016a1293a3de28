namespace Flotel.Model.Manifests;

/// <summary>
/// An HTTP <c>Authorization</c> header value for the metrics receiver: scheme <c>Bearer</c> with a token, or
/// <c>Basic</c> with base64 of <c>username:password</c> (RFC 7617). <see cref="ToString"/> never shows the credentials.
/// </summary>
public sealed record ReceiverAuthorization(string Scheme, string Parameter)
{
    /// <inheritdoc />
    public override string ToString() => Scheme + " (credentials not shown)";
}
