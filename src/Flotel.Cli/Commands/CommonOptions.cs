using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Flotel.Pipeline.Net;

namespace Flotel.Cli.Commands;

/// <summary>Options shared by several commands, with the contract's names and validation (architecture §3).</summary>
internal static class CommonOptions
{
    /// <summary><c>--data DIR</c>: where durable state lives.</summary>
    public static Option<DirectoryInfo> Data(string description) => new("--data")
    {
        Description = description,
        HelpName = "DIR",
    };

    /// <summary><c>--manifests DIR</c>: a directory of Flotta manifests (architecture §4).</summary>
    public static Option<DirectoryInfo> Manifests(string description, bool required) => new("--manifests")
    {
        Description = description,
        HelpName = "DIR",
        Required = required,
    };

    /// <summary>An address option (<c>HOST:PORT</c>, port 0 = pick a free port) with a contract default.</summary>
    public static Option<string> Address(string name, string defaultValue, string description)
    {
        var option = new Option<string>(name)
        {
            Description = $"{description} (HOST:PORT; port 0 picks a free port)",
            HelpName = "ADDR",
            DefaultValueFactory = _ => defaultValue,
        };
        // The examples carry the option's own default port: --http's error quoting the syslog port sent users to 5140.
        var port = HostPort.TryParse(defaultValue, out var parsed)
            ? parsed.Port
            : throw new ArgumentException($"default '{defaultValue}' of {name} is not HOST:PORT", nameof(defaultValue));
        option.Validators.Add(result => ValidateAddress(result, name, port));
        return option;
    }

    /// <summary><c>--url URL</c>: the gateway to talk to.</summary>
    public static Option<Uri> Url() =>
        HttpUrl("--url", "http://127.0.0.1:9201", "Gateway base URL; credentials as http://USER:PASS@HOST:PORT, or a bearer token in FLOTEL_TOKEN");

    /// <summary>
    /// An http(s) URL option. System.CommandLine has no Uri converter: without this parser any value given crashed the
    /// command instead of being used or refused as a usage error.
    /// </summary>
    public static Option<Uri> HttpUrl(string name, string defaultValue, string description) => new(name)
    {
        Description = description,
        HelpName = "URL",
        DefaultValueFactory = _ => new Uri(defaultValue),
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            {
                return uri;
            }

            result.AddError($"{name}: '{text}' is not an http(s) URL, e.g. {defaultValue}");
            return null;
        },
    };

    /// <summary><c>--since DURATION</c> (<c>30s</c>, <c>15m</c>, <c>2h</c>, <c>1d</c>).</summary>
    public static Option<string> Since(string defaultValue)
    {
        var option = new Option<string>("--since")
        {
            Description = $"How far back to look: a number with s, m, h or d (e.g. 15m)",
            HelpName = "DURATION",
            DefaultValueFactory = _ => defaultValue,
        };
        option.Validators.Add(result =>
        {
            var text = result.GetValueOrDefault<string>();
            if (!Durations.TryParse(text, out _))
            {
                result.AddError($"--since: '{text}' is not a duration; use a number with s, m, h or d, e.g. 15m");
            }
        });
        return option;
    }

    private static void ValidateAddress(OptionResult result, string name, int defaultPort)
    {
        var text = result.GetValueOrDefault<string>();
        if (!HostPort.TryParse(text, out _))
        {
            var port = defaultPort.ToString(CultureInfo.InvariantCulture);
            result.AddError($"{name}: '{text}' is not an address; use HOST:PORT, e.g. 127.0.0.1:{port}, [::1]:{port} or 0.0.0.0:0");
        }
    }
}

/// <summary>Durations as users type them on the command line.</summary>
internal static class Durations
{
    /// <summary>Parses <c>N</c> followed by <c>s</c>, <c>m</c>, <c>h</c> or <c>d</c>.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrEmpty(text) || text.Length < 2)
        {
            return false;
        }

        if (!long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        const long maxSeconds = 3650L * 24 * 3600; // ten years: anything longer is a typo
        long seconds = text[^1] switch
        {
            's' => n,
            'm' => n <= maxSeconds / 60 ? n * 60 : long.MaxValue,
            'h' => n <= maxSeconds / 3600 ? n * 3600 : long.MaxValue,
            'd' => n <= maxSeconds / 86400 ? n * 86400 : long.MaxValue,
            _ => -1,
        };
        if (seconds <= 0 || seconds > maxSeconds)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(seconds);
        return true;
    }
}
