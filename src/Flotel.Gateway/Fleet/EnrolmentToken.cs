using System.Buffers.Text;
using System.Security.Cryptography;
using Flotel.Store.Fleet;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// The enrolment token (docs/fleet.md §4, kubeadm's join model): <c>flotel1.&lt;id&gt;.&lt;secret&gt;.&lt;ca-sha256&gt;</c>,
/// <c>id</c> 8 random bytes and <c>secret</c> 16 random bytes in base64url without padding, <c>ca-sha256</c> the lower-case
/// hex SHA-256 of the fleet CA certificate's DER bytes (the device pins the CA with it before it trusts the listener).
/// <code>
/// flotel1 . AAAAAAAAAAA . SSSSSSSSSSSSSSSSSSSSSS . hhhh…(64 hex)
///  prefix   11 chars      22 chars                 64 chars
/// </code>
/// </summary>
public sealed record EnrolmentToken(string Id, byte[] Secret, string CaSha256)
{
    public const string Prefix = "flotel1";
    private const int IdBytes = 8;
    private const int SecretBytes = 16;

    /// <summary>A fresh token for <paramref name="device"/> and the row to store (the secret's hash only).</summary>
    public static (string Text, FleetToken Stored) Create(string device, DateTimeOffset expires, string caSha256)
    {
        var token = new EnrolmentToken(
            Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(IdBytes)), RandomNumberGenerator.GetBytes(SecretBytes), caSha256);
        return (token.Format(), new FleetToken(token.Id, token.SecretSha256(), device, expires, null));
    }

    /// <summary>Parses the text form; null when it is not one (wrong prefix, part count or lengths).</summary>
    public static EnrolmentToken? TryParse(string? text)
    {
        var parts = (text ?? string.Empty).Trim().Split('.');
        if (parts.Length != 4 || parts[0] != Prefix || parts[3].Length != 64 || !parts[3].All(char.IsAsciiHexDigitLower))
        {
            return null;
        }

        try
        {
            var id = Base64Url.DecodeFromChars(parts[1]);
            var secret = Base64Url.DecodeFromChars(parts[2]);
            return id.Length == IdBytes && secret.Length == SecretBytes && Base64Url.EncodeToString(id) == parts[1]
                ? new EnrolmentToken(parts[1], secret, parts[3])
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>What the store keeps instead of the secret.</summary>
    public byte[] SecretSha256() => SHA256.HashData(Secret);

    /// <summary>The text form, secret included: given to the operator once, never logged.</summary>
    public string Format() => $"{Prefix}.{Id}.{Base64Url.EncodeToString(Secret)}.{CaSha256}";

    /// <summary>The token without its secret, for logs.</summary>
    public override string ToString() => $"{Prefix}.{Id}.***";
}
