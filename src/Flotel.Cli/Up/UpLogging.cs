using Flotel.Cli.Commands;
using Microsoft.Extensions.Logging;

namespace Flotel.Cli.Up;

/// <summary>
/// Logging for <c>flotel up</c>: with a live status view on the terminal, log lines go to a file (they would tear the
/// view) and the last warning or error is kept for the view's "last error" line; without a terminal they go to stderr.
/// </summary>
internal sealed class UpLogging : ILoggerProvider
{
    private readonly StreamWriter? _file;
    private readonly Lock _gate = new();
    private string? _lastProblem;

    public UpLogging(string? file)
    {
        if (file is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            _file = new StreamWriter(new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        }
    }

    /// <summary>The newest warning or error, with its time (UTC), or null.</summary>
    public string? LastProblem
    {
        get
        {
            lock (_gate)
            {
                return _lastProblem;
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() => _file?.Dispose();

    private void Write(LogLevel level, string category, string message)
    {
        var line = $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {LogLevelLabels.Short(level)} {category}: {message}";
        lock (_gate)
        {
            if (level >= LogLevel.Warning)
            {
                _lastProblem = $"{DateTime.UtcNow:HH:mm:ss} {message}";
            }

            if (_file is not null)
            {
                _file.WriteLine(line);
            }
            else
            {
                Console.Error.WriteLine(line);
            }
        }
    }

    private sealed class Logger(UpLogging owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) =>
            logLevel >= (category.StartsWith("Microsoft", StringComparison.Ordinal) ? LogLevel.Warning : LogLevel.Information);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                var shortCategory = category[(category.LastIndexOf('.') + 1)..];
                owner.Write(logLevel, shortCategory, formatter(state, exception));
            }
        }
    }
}
