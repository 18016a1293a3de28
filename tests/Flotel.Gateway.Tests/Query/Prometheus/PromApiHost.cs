using System.Net;
using Flotel.Store.Metrics;
using Flotel.Store.Tests.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Tests.Query.Prometheus;

/// <summary>
/// A metric store in a temporary directory, served by one or more real Kestrel listeners (127.0.0.1, a free port each)
/// that the test maps the Prometheus API onto; everything is stopped and deleted on dispose.
/// </summary>
internal sealed class PromApiHost : IAsyncDisposable
{
    private readonly StoreFixture _fixture = new();
    private readonly List<WebApplication> _apps = [];

    public PromApiHost() => Store = _fixture.Open();

    public MetricStore Store { get; }

    public HttpClient Http { get; } = new();

    /// <summary>Starts a listener with the routes <paramref name="map"/> adds and answers its base URL.</summary>
    public async Task<string> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        _apps.Add(app);
        map(app);
        await app.StartAsync();
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        Http.Dispose();
        Store.Dispose();
        _fixture.Dispose();
    }
}
