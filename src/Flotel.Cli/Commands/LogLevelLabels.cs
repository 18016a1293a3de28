using Microsoft.Extensions.Logging;

namespace Flotel.Cli.Commands;

/// <summary>The four-letter level names of the single-line log format (as Microsoft.Extensions.Logging's console uses).</summary>
internal static class LogLevelLabels
{
    public static string Short(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };
}
