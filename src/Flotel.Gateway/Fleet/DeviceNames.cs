namespace Flotel.Gateway.Fleet;

/// <summary>
/// What a device name may be: a Kubernetes object name (RFC 1123 subdomain: lower-case letters, digits, '-' and '.',
/// starting and ending with a letter or digit, at most 253 characters). It becomes a certificate CN, a URI SAN and a
/// label value, so nothing else is let in.
/// </summary>
public static class DeviceNames
{
    public const int MaxLength = 253;

    public static bool IsValid(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength || !char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
