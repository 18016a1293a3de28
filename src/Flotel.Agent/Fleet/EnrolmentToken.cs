using System.Buffers.Text;

namespace Flotel.Agent.Fleet;

/// <summary>
/// The enrolment token as the device reads it (docs/fleet.md §4): <c>flotel1.&lt;id&gt;.&lt;secret&gt;.&lt;ca-sha256&gt;</c>,
/// <c>id</c> 8 and <c>secret</c> 16 random bytes in base64url without padding, <c>ca-sha256</c> the lower-case hex SHA-256
/// of the fleet CA certificate's DER bytes. The device sends the token back whole; it reads only the CA pin.
/// <code>
/// flotel1 . AAAAAAAAAAA . SSSSSSSSSSSSSSSSSSSSSS . hhhh…(64 hex)
///  prefix   11 chars      22 chars                 64 chars
/// </code>
/// </summary>
public sealed class EnrolmentToken
{
    public const string Prefix = "flotel1";
    private const int IdBytes = 8;
    private const int SecretBytes = 16;

    private EnrolmentToken(string text, string id, string caSha256)
    {
        Text = text;
        Id = id;
        CaSha256 = caSha256;
    }

    /// <summary>The whole token (secret included): sent to the gateway, never logged.</summary>
    public string Text { get; }

    /// <summary>The token's public id (safe to log).</summary>
    public string Id { get; }

    /// <summary>Lower-case hex SHA-256 of the fleet CA certificate (DER) the gateway must present.</summary>
    public string CaSha256 { get; }

    /// <summary>Parses <paramref name="text"/>; false with a reason that names what is wrong (and never the secret).</summary>
    public static bool TryParse(string? text, out EnrolmentToken? token, out string error)
    {
        token = null;
        var trimmed = (text ?? string.Empty).Trim();
        var parts = trimmed.Split('.');
        if (parts.Length != 4 || parts[0] != Prefix)
        {
            error = $"a token has the form {Prefix}.ID.SECRET.CA-SHA256 (as `flotel token create` prints it)";
            return false;
        }

        if (!IsBase64Url(parts[1], IdBytes))
        {
            error = $"the token's ID must be {IdBytes} bytes in base64url";
            return false;
        }

        if (!IsBase64Url(parts[2], SecretBytes))
        {
            error = $"the token's SECRET must be {SecretBytes} bytes in base64url";
            return false;
        }

        if (parts[3].Length != 64 || !parts[3].All(char.IsAsciiHexDigitLower))
        {
            error = "the token's CA-SHA256 must be 64 lower-case hex digits";
            return false;
        }

        token = new EnrolmentToken(trimmed, parts[1], parts[3]);
        error = string.Empty;
        return true;
    }

    /// <summary>The token without its secret.</summary>
    public override string ToString() => $"{Prefix}.{Id}.***";

    private static bool IsBase64Url(string text, int bytes)
    {
        if (text.Length != Base64Url.GetEncodedLength(bytes) || !text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return false;
        }

        // Canonical only (unused trailing bits zero), as the gateway checks: one text per token.
        Span<byte> decoded = stackalloc byte[bytes + 2];
        return Base64Url.TryDecodeFromChars(text, decoded, out var written) && written == bytes
            && Base64Url.EncodeToString(decoded[..written]) == text;
    }
}
