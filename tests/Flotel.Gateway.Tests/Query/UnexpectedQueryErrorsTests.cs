using Flotel.Gateway.Query;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Tests.Query;

public sealed class UnexpectedQueryErrorsTests
{
    [Fact]
    public void Report_SameCauseTwice_LogsTheStackTraceOnce()
    {
        var provider = new CapturingProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider));
        using var services = new ServiceCollection().AddSingleton(factory).BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Path = "/api/v1/query";

        // A cause of its own (type and throwing method), so no other test shares its throttle.
        for (var i = 0; i < 3; i++)
        {
            UnexpectedQueryErrors.Report(context, "Prometheus", Thrown());
        }

        var entry = Assert.Single(provider.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.IsType<NotImplementedException>(entry.Exception);
        Assert.NotNull(entry.Exception!.StackTrace);
    }

    private static NotImplementedException Thrown()
    {
        try
        {
            throw new NotImplementedException("only in " + nameof(UnexpectedQueryErrorsTests));
        }
        catch (NotImplementedException e)
        {
            return e;
        }
    }

    private sealed class CapturingProvider : ILoggerProvider
    {
        private readonly Lock _lock = new();
        private readonly List<(LogLevel Level, Exception? Exception)> _entries = [];

        public List<(LogLevel Level, Exception? Exception)> Entries
        {
            get
            {
                lock (_lock)
                {
                    return [.. _entries];
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner._lock)
                {
                    owner._entries.Add((logLevel, exception));
                }
            }
        }
    }
}
