using System.Globalization;
using System.Net;

namespace Flotel.Pipeline.Net;

/// <summary>A listen or connect address as the contract writes it: <c>HOST:PORT</c> or <c>[IPv6]:PORT</c>; port 0 = any free port.</summary>
public readonly record struct HostPort(string Host, int Port)
{
    /// <summary>Splits <c>HOST:PORT</c> or <c>[IPv6]:PORT</c>; the port must be 0–65535.</summary>
    public static bool TryParse(string? text, out HostPort value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            return false;
        }

        var host = text[..colon];
        if (host.StartsWith('['))
        {
            if (!host.EndsWith(']') || host.Length < 3)
            {
                return false;
            }

            host = host[1..^1];
        }
        else if (host.Contains(':', StringComparison.Ordinal))
        {
            return false; // a bare IPv6 address must be bracketed
        }

        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return false;
        }

        value = new HostPort(host, port);
        return true;
    }

    /// <summary>The address to bind: a literal IP, <c>localhost</c> as loopback, <c>*</c> or empty as any.</summary>
    public IPAddress ToBindAddress() => Host switch
    {
        "localhost" => IPAddress.Loopback,
        "*" or "" => IPAddress.Any,
        _ when IPAddress.TryParse(Host, out var ip) => ip,
        _ => throw new FormatException($"'{Host}' is not an IP address to listen on; use an address such as 0.0.0.0 or 127.0.0.1"),
    };

    /// <inheritdoc/>
    public override string ToString() =>
        Host.Contains(':', StringComparison.Ordinal)
            ? string.Create(CultureInfo.InvariantCulture, $"[{Host}]:{Port}")
            : string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");
}
