using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Flotel.Cli.Commands;

/// <summary>The log format of the long-running commands (gateway, agent), shared by the full and the device build.</summary>
internal static class ConsoleLogging
{
    /// <summary>Logs go to stderr, one line each, so stdout carries only the command's status line.</summary>
    public static ILoggerFactory CreateLoggerFactory() => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(LogLevel.Information)
        .AddFilter("Microsoft", LogLevel.Warning)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        })
        .Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
}
