using System.Net;
using System.Net.Sockets;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Hosting;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Tests.Hosting;

/// <summary>A gateway whose address is taken fails to start with one error that names the listener and the address.</summary>
public sealed class GatewayHostBindErrorTests
{
    [Fact]
    public async Task Start_SyslogPortTaken_NamesTheSyslogListenerAndAddress_AndKeepsTheSocketError()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;
        using var data = new TempDirectory("bind-syslog");
        var options = new GatewayOptions { DataDirectory = data.Path, HttpAddress = "127.0.0.1:0", SyslogAddress = $"127.0.0.1:{port}" };

        var error = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(options, new LogLines(), TimeProvider.System, CancellationToken.None));

        Assert.Contains($"cannot bind the syslog TCP listener to 127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        var socket = Assert.IsType<SocketException>(error.InnerException);
        Assert.Equal(SocketError.AddressAlreadyInUse, socket.SocketErrorCode);
    }

    [Fact]
    public async Task Start_HttpPortTaken_FailsWithoutTheHostsOwnStackTraceLine()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;
        using var data = new TempDirectory("bind-http");
        var options = new GatewayOptions { DataDirectory = data.Path, HttpAddress = $"127.0.0.1:{port}", SyslogAddress = "127.0.0.1:0" };
        using var logs = new LogLines();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => GatewayHost.StartAsync(options, logs, TimeProvider.System, CancellationToken.None));

        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Categories, c => c == WebHostLoggerFactory.HostCategory);
        Assert.Contains(logs.Categories, c => c.StartsWith("Flotel.", StringComparison.Ordinal)); // the factory is used at all
    }

    /// <summary>Records the category of every logger asked for and every line logged.</summary>
    private sealed class LogLines : ILoggerFactory, ILogger
    {
        private readonly Lock _lock = new();
        private readonly List<string> _categories = [];

        public IReadOnlyList<string> Categories
        {
            get
            {
                lock (_lock)
                {
                    return [.. _categories];
                }
            }
        }

        public ILogger CreateLogger(string categoryName)
        {
            lock (_lock)
            {
                _categories.Add(categoryName);
            }

            return this;
        }

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }

        public void Dispose()
        {
        }
    }
}
