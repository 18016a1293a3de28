using System.CommandLine;
using System.Globalization;
using System.Net;

namespace Flotel.Bench;

/// <summary>
/// Option kinds the bench programs share (System.CommandLine): whole numbers above zero, loopback URLs and loopback
/// endpoints, each refusing a bad value as a usage error that names the option. Linked into each bench project.
/// </summary>
internal static class BenchOptions
{
    /// <summary>A whole number greater than 0.</summary>
    public static Option<int> Positive(string name, int defaultValue, string description) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0)
            {
                return value;
            }

            result.AddError($"'{name}' must be a whole number greater than 0, got '{text}'");
            return 0;
        },
    };

    /// <summary>A whole number of 0 or more.</summary>
    public static Option<int> NonNegative(string name, int defaultValue, string description) => new(name)
    {
        Description = description,
        HelpName = "N",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }

            result.AddError($"'{name}' must be a whole number of 0 or more, got '{text}'");
            return 0;
        },
    };

    /// <summary>An absolute URL whose host is a loopback address (bench traffic never leaves the machine).</summary>
    public static Option<Uri?> LoopbackUrl(string name, Uri? defaultValue, string description) => new(name)
    {
        Description = description,
        HelpName = "URL",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (Uri.TryCreate(text, UriKind.Absolute, out var url) && url.IsLoopback)
            {
                return url;
            }

            result.AddError($"'{name}' must be an absolute URL on loopback (127.0.0.1), got '{text}'");
            return null;
        },
    };

    /// <summary>A loopback <c>HOST:PORT</c> with a port other than 0.</summary>
    public static Option<IPEndPoint?> LoopbackEndpoint(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "HOST:PORT",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            if (IPEndPoint.TryParse(text, out var endpoint) && IPAddress.IsLoopback(endpoint.Address) && endpoint.Port != 0)
            {
                return endpoint;
            }

            result.AddError($"'{name}' must be a loopback HOST:PORT, got '{text}'");
            return null;
        },
    };

    /// <summary>
    /// Runs <paramref name="run"/> unless <paramref name="problem"/> names a conflict between options (checked once
    /// every option parsed on its own): then it is printed as a usage error and the exit code is 2.
    /// </summary>
    public static async Task<int> RunCheckedAsync<T>(string program, T options, string? problem, Func<T, Task<int>> run)
    {
        if (problem is null)
        {
            return await run(options).ConfigureAwait(false);
        }

        await Console.Error.WriteLineAsync($"{program}: {problem}").ConfigureAwait(false);
        await Console.Error.WriteLineAsync($"Run '{program} --help' for usage.").ConfigureAwait(false);
        return 2;
    }

    /// <summary>
    /// Parses <paramref name="args"/> against <paramref name="root"/> and runs it; parse errors are printed one per
    /// line with a hint to <c>--help</c> and exit with 2 (the scripts tell usage errors from failed runs by it).
    /// </summary>
    public static async Task<int> RunAsync(RootCommand root, string program, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"{program}: {error.Message}").ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync($"Run '{program} --help' for usage.").ConfigureAwait(false);
            return 2;
        }

        return await parse.InvokeAsync().ConfigureAwait(false);
    }
}
