using Flotel.Gateway.Inputs.Bulk;
using Flotel.Gateway.Query.Elasticsearch;
using Flotel.Store.Tests.Logs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Tests.Query.Elasticsearch;

/// <summary>Kestrel on 127.0.0.1 (a free port) serving the Elasticsearch API over a temporary store.</summary>
internal sealed class EsTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EsTestServer(WebApplication app, TestLogStore store, Uri baseAddress)
    {
        _app = app;
        Logs = store;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress };
    }

    public TestLogStore Logs { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>Starts the API; <paramref name="bulkSink"/> replaces the default sink that writes straight into the store.</summary>
    public static async Task<EsTestServer> StartAsync(IBulkSink? bulkSink = null)
    {
        var store = new TestLogStore();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        WebApplication app = builder.Build();
        app.Urls.Add("http://127.0.0.1:0");
        _ = app.MapElasticsearchApi(store.Store);
        _ = app.MapElasticsearchBulkApi(store.Store, bulkSink ?? new DirectBulkSink(store.Store));
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EsTestServer(app, store, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Logs.Dispose();
    }
}
