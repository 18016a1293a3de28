namespace Flotel.Pipeline.Net;

/// <summary>URLs as logs and messages show them (style rule 10): scheme, host, port and path; no user info, no query, no fragment.</summary>
public static class UrlRedaction
{
    /// <summary>What is shown for a text that is not an absolute URL (it may hold a credential a typo moved).</summary>
    public const string Invalid = "<invalid URL>";

    /// <summary><paramref name="url"/> without user info, query and fragment.</summary>
    public static string Redact(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
    }

    /// <summary><paramref name="url"/> without user info, query and fragment; <see cref="Invalid"/> when it is not an absolute URL.</summary>
    public static string Redact(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? Redact(parsed) : Invalid;
}
