using System.Globalization;
using Flotel.Gateway.Configuration;

namespace Flotel.Cli.Commands;

/// <summary>Runs the gateway configuration check: one line per problem, then a summary of what the gateway would run.</summary>
internal static class CheckConfig
{
    public static int Run(FileInfo file, TextWriter output)
    {
        if (!file.Exists)
        {
            output.WriteLine($"{file}: file does not exist");
            return ExitCodes.InvalidInput;
        }

        var (options, diagnostics) = GatewayConfigLoader.Load(file.FullName);
        var errors = 0;
        var warnings = 0;
        foreach (var d in diagnostics)
        {
            output.WriteLine(d.ToString());
            if (d.IsError)
            {
                errors++;
            }
            else
            {
                warnings++;
            }
        }

        if (errors == 0)
        {
            output.WriteLine($"http {options.HttpAddress}{(options.HttpTls is null ? string.Empty : " (TLS)")}, syslog tcp{(options.SyslogUdp ? "+udp" : string.Empty)} {options.SyslogAddress}"
                + (options.SyslogTlsAddress is null ? string.Empty : $", syslog tls {options.SyslogTlsAddress}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"data {options.DataDirectory}, queue up to {options.QueueMaxMiB} MiB, index {options.IndexPattern}, logs kept {options.LogRetentionDays} d, metrics kept {options.MetricRetentionDays} d"));
            output.WriteLine($"auth: ingest {Describe(options.IngestAuth)}, query {Describe(options.QueryAuth)}");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"queries: up to {options.QueryMaxConcurrency} at once, each at most {options.QueryTimeout.TotalSeconds} s (waiting included)"
                + $", PromQL at most {options.QueryMaxSamples} samples held and {options.QueryMaxSeries} series per selector"));
            if (options.Fleet is { Enabled: true } fleet)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"fleet {fleet.Address}: at most {fleet.MaxHeldPolls} bundle long polls held, devices over it poll every {fleet.PollIntervalSeconds} s"));
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{errors} errors, {warnings} warnings"));
        return errors > 0 ? ExitCodes.InvalidInput : ExitCodes.Ok;
    }

    private static string Describe(AuthOptions? auth) => auth switch
    {
        null => "open",
        { BearerToken: not null } => "bearer token",
        _ => $"basic ({auth.Username})",
    };
}
