using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Flotel.Cli.Commands;

/// <summary>
/// The device build's logger: the same single-line format on stderr as the full build's console logger
/// (<c>2026-11-27T16:22:36.671Z info: Category[EventId] message</c>), written synchronously under a lock. It replaces
/// Microsoft.Extensions.Logging's console provider (with its dependency injection, options and configuration
/// binding, and a thread of its own) because the agent's RSS is a budget: measured in docs/benchmarks.md.
/// The agent logs a few lines a minute (never one per record), so writing inline costs nothing measurable.
/// </summary>
internal static class ConsoleLogging
{
    /// <summary>Information and above; Microsoft.* categories from Warning, as in the full build.</summary>
    public static ILoggerFactory CreateLoggerFactory() => new StderrLoggerFactory(Console.Error);

    private sealed class StderrLoggerFactory(TextWriter output) : ILoggerFactory
    {
        private readonly Lock _gate = new();

        public ILogger CreateLogger(string categoryName) =>
            new StderrLogger(this, categoryName, categoryName.StartsWith("Microsoft", StringComparison.Ordinal) ? LogLevel.Warning : LogLevel.Information);

        public void AddProvider(ILoggerProvider provider) =>
            throw new NotSupportedException("the device build logs to stderr only");

        public void Dispose() => output.Flush();

        public void Write(LogLevel level, string category, EventId eventId, string message, Exception? exception)
        {
            var line = new StringBuilder(64 + category.Length + message.Length)
                .Append(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ ", CultureInfo.InvariantCulture))
                .Append(LogLevelLabels.Short(level)).Append(": ").Append(category)
                .Append('[').Append(eventId.Id.ToString(CultureInfo.InvariantCulture)).Append("] ")
                .Append(message.ReplaceLineEndings(" "));
            if (exception is not null)
            {
                line.Append(' ').Append(exception.ToString().ReplaceLineEndings(" "));
            }

            lock (_gate)
            {
                output.WriteLine(line.ToString());
                output.Flush();
            }
        }
    }

    private sealed class StderrLogger(StderrLoggerFactory factory, string category, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                factory.Write(logLevel, category, eventId, formatter(state, exception), exception);
            }
        }
    }
}
