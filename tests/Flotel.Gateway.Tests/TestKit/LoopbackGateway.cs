using Flotel.Gateway.Configuration;
using Flotel.Gateway.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Gateway.Tests.TestKit;

/// <summary>The whole gateway in-process on 127.0.0.1 (free ports) with a private data directory, deleted on dispose.</summary>
internal sealed class LoopbackGateway : IAsyncDisposable
{
    private readonly TempDirectory _data;

    private LoopbackGateway(TempDirectory data, GatewayHost host, TimeSpan httpTimeout)
    {
        _data = data;
        Host = host;
        Http = new HttpClient { BaseAddress = new Uri("http://" + host.HttpEndPoint), Timeout = httpTimeout };
    }

    public GatewayHost Host { get; }

    public HttpClient Http { get; }

    /// <summary>Starts a gateway; <paramref name="configure"/> adjusts the options after the loopback addresses and data directory are set.</summary>
    public static async Task<LoopbackGateway> StartAsync(string prefix, Action<GatewayOptions>? configure = null, TimeSpan? httpTimeout = null)
    {
        var data = new TempDirectory(prefix);
        try
        {
            var options = new GatewayOptions { DataDirectory = data.Path, HttpAddress = "127.0.0.1:0", SyslogAddress = "127.0.0.1:0" };
            configure?.Invoke(options);
            var host = await GatewayHost.StartAsync(options, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);
            return new LoopbackGateway(data, host, httpTimeout ?? TimeSpan.FromSeconds(100));
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.StopAsync();
        _data.Dispose();
    }
}
