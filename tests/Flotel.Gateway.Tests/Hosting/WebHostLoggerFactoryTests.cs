using Flotel.Gateway.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Gateway.Tests.Hosting;

/// <summary>
/// The web host's request diagnostics get a disabled logger, so the host starts no Activity and no log scope per request
/// (a held long poll kept them for its whole wait); every other category is the gateway's own logger.
/// </summary>
public sealed class WebHostLoggerFactoryTests
{
    [Fact]
    public void CreateLogger_HostingDiagnosticsCategory_IsDisabledAtEveryLevel_AndNeverAsksTheGatewaysFactory()
    {
        using var inner = new CategoryFactory();
        using var factory = new WebHostLoggerFactory(inner);

        var logger = factory.CreateLogger(WebHostLoggerFactory.HostingDiagnosticsCategory);

        Assert.False(logger.IsEnabled(LogLevel.Critical));
        Assert.DoesNotContain(WebHostLoggerFactory.HostingDiagnosticsCategory, inner.Categories);
    }

    [Fact]
    public void CreateLogger_KestrelCategory_IsTheGatewaysOwnLogger()
    {
        using var inner = new CategoryFactory();
        using var factory = new WebHostLoggerFactory(inner);

        var logger = factory.CreateLogger("Microsoft.AspNetCore.Server.Kestrel");

        Assert.True(logger.IsEnabled(LogLevel.Warning));
        Assert.Equal(["Microsoft.AspNetCore.Server.Kestrel"], inner.Categories);
    }

    /// <summary>Hands out an always-enabled logger and records the categories asked for.</summary>
    private sealed class CategoryFactory : ILoggerFactory, ILogger
    {
        public List<string> Categories { get; } = [];

        public ILogger CreateLogger(string categoryName)
        {
            Categories.Add(categoryName);
            return this;
        }

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => NullLogger.Instance.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }
    }
}
