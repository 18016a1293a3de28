using System.Net;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Inputs.RemoteWrite;
using Flotel.Gateway.Inputs.Syslog;
using Flotel.Gateway.Outputs;
using Flotel.Gateway.Outputs.EmbeddedStore;
using Flotel.Gateway.Query.Elasticsearch;
using Flotel.Gateway.Query.Prometheus;
using Flotel.Gateway.Queueing;
using Flotel.Gateway.Store.Logs;
using Flotel.Gateway.Store.Metrics;
using Flotel.Gateway.Ui;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Net;
using Flotel.Pipeline.Queue;
using Flotel.Wire.RemoteWrite;
using Flotel.Wire.Syslog;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// The whole gateway in one object: durable queue, embedded stores, the store output, the HTTP listener (remote
/// write, <c>_bulk</c>, <c>_search</c>, Prometheus API, probes, metrics) and the syslog listeners. Start order is
/// storage first, listeners last; stop order is the reverse (intake first, then drain, then close — style.md rule 12).
/// </summary>
public sealed partial class GatewayHost : IAsyncDisposable
{
    private readonly List<Func<Task>> _stops = [];
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _housekeeping = new();
    private int _stopped;

    private GatewayHost(ILogger logger, MetricsRegistry metrics)
    {
        _logger = logger;
        Metrics = metrics;
    }

    /// <summary>The HTTP listener's bound address.</summary>
    public IPEndPoint HttpEndPoint { get; private set; } = new(IPAddress.None, 0);

    /// <summary>The syslog TCP (and UDP) listener's bound address.</summary>
    public IPEndPoint SyslogEndPoint { get; private set; } = new(IPAddress.None, 0);

    /// <summary>The syslog TLS listener's address, when configured.</summary>
    public IPEndPoint? SyslogTlsEndPoint { get; private set; }

    /// <summary>The gateway's own metrics.</summary>
    public MetricsRegistry Metrics { get; }

    /// <summary>True once every listener is up and the stores are open (<c>/readyz</c>).</summary>
    public bool IsReady { get; private set; }

    /// <summary>
    /// Opens storage, starts the output and every listener. Throws with a clear message when something cannot start
    /// (bad certificate, port in use, unwritable data directory); after that, nothing stops the process.
    /// </summary>
    public static async Task<GatewayHost> StartAsync(GatewayOptions options, ILoggerFactory loggerFactory, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var metrics = new MetricsRegistry();
        ProcessMetrics.Register(metrics);
        var host = new GatewayHost(loggerFactory.CreateLogger("Flotel.Gateway"), metrics);
        try
        {
            await host.StartCoreAsync(options, loggerFactory, time, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await host.StopAsync().ConfigureAwait(false);
            throw;
        }

        return host;
    }

    /// <summary>Stops intake, drains the queue into the stores (bounded), flushes and closes. Idempotent.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        IsReady = false;
        await _housekeeping.CancelAsync().ConfigureAwait(false);
        for (var i = _stops.Count - 1; i >= 0; i--)
        {
            try
            {
                await _stops[i]().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                LogStopFailed(_logger, e.Message);
            }
        }

        _housekeeping.Dispose();
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private async Task StartCoreAsync(GatewayOptions options, ILoggerFactory loggerFactory, TimeProvider time, CancellationToken cancellationToken)
    {
        var data = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(data);

        var queue = DurableQueue.Open(new DurableQueueOptions
        {
            Directory = Path.Combine(data, "queue"),
            MaxTotalBytes = options.QueueMaxMiB * 1024 * 1024,
            FullPolicy = QueueFullPolicy.Reject,
        }, time);
        _stops.Add(() => queue.StopAsync());
        RegisterQueueMetrics(queue);

        var logs = LogStore.Open(new LogStoreOptions
        {
            DataDirectory = Path.Combine(data, "logs"),
            IndexPattern = options.IndexPattern,
            MaxAge = options.LogRetentionDays > 0 ? TimeSpan.FromDays(options.LogRetentionDays) : null,
        }, time);
        _stops.Add(() => { logs.Dispose(); return Task.CompletedTask; });

        var metricStore = MetricStore.Open(new MetricStoreOptions
        {
            DataDirectory = Path.Combine(data, "metrics"),
            RetentionAge = options.MetricRetentionDays > 0 ? TimeSpan.FromDays(options.MetricRetentionDays) : TimeSpan.FromDays(36500),
        }, time);
        _stops.Add(async () =>
        {
            await metricStore.FlushAsync().ConfigureAwait(false);
            metricStore.Dispose();
        });

        var parser = new SyslogParser(new SyslogParserOptions { Timezone = options.SyslogTimezone });
        if (options.StoreEnabled)
        {
            var output = new EmbeddedStoreOutput(queue, logs, metricStore, parser, Metrics, time, loggerFactory.CreateLogger<EmbeddedStoreOutput>());
            output.Start();
            _stops.Add(() => output.StopAsync(TimeSpan.FromSeconds(20)));
        }

        StartOutputs(options, queue, data, parser, loggerFactory, time);

        var sink = new DurableQueueSink(queue);
        await StartHttpAsync(options, sink, logs, metricStore, loggerFactory, time, cancellationToken).ConfigureAwait(false);
        StartSyslog(options, sink, loggerFactory, time);
        _ = HousekeepingAsync(logs, metricStore, time);
        IsReady = true;
    }

    /// <summary>
    /// Starts the configured outputs, each on its own queue reader, and unregisters the readers of outputs that are no
    /// longer configured (otherwise their cursors would keep every segment on disk forever).
    /// </summary>
    private void StartOutputs(GatewayOptions options, DurableQueue queue, string data, SyslogParser parser, ILoggerFactory loggerFactory, TimeProvider time)
    {
        var configured = new HashSet<string>(options.Outputs.Select(o => o.Name), StringComparer.Ordinal);
        if (options.StoreEnabled)
        {
            configured.UnionWith(["store-logs", "store-metrics"]);
        }

        foreach (var reader in queue.GetStats().Readers)
        {
            if (!configured.Contains(reader.Name) && queue.DeleteReader(reader.Name))
            {
                LogOutputRemoved(_logger, reader.Name);
            }
        }

        var context = new OutputContext(queue, data, parser, options.IndexPattern, Metrics, time, loggerFactory);
        foreach (var outputOptions in options.Outputs)
        {
            var output = OutputFactory.Create(outputOptions, context);
            output.Start();
            _stops.Add(async () =>
            {
                await output.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                await output.DisposeAsync().ConfigureAwait(false);
            });
        }
    }

    private async Task StartHttpAsync(
        GatewayOptions options, IRecordSink sink, LogStore logs, MetricStore metricStore, ILoggerFactory loggerFactory, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!HostPort.TryParse(options.HttpAddress, out var http))
        {
            throw new InvalidOperationException($"http address '{options.HttpAddress}' is not HOST:PORT");
        }

        // The empty builder: no appsettings.json read from the working directory and, above all, no file watcher on it.
        // The slim builder watched the working directory recursively for configuration changes, and the default data
        // directory (./.flotel) is inside it, so every queue and store write woke the watcher (5 % of the gateway's CPU
        // under syslog load).
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes + (64 * 1024);
            kestrel.Listen(http.ToBindAddress(), http.Port, listen =>
            {
                if (options.HttpTls is { } tls)
                {
                    var certificate = ServerTls.LoadCertificate(tls);
                    listen.UseHttps(https =>
                    {
                        https.ServerCertificate = certificate;
                        if (tls.ClientCaFile is not null)
                        {
                            var validate = ServerTls.ClientCertificateValidator(tls.ClientCaFile);
                            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                            https.ClientCertificateValidation = (cert, _, _) => validate(cert);
                        }
                    });
                }
            });
        });

        var app = builder.Build();
        var auth = new EndpointAuthorization(options.IngestAuth, options.QueryAuth);
        app.Use((context, next) => auth.InvokeAsync(context, () => next(context)));

        var limits = new RemoteWriteLimits { MaxCompressedBytes = (int)Math.Min(options.MaxBodyBytes, int.MaxValue) };
        var remoteWrite = new RemoteWriteInput(sink, limits, Metrics, time, loggerFactory.CreateLogger<RemoteWriteInput>());
        app.MapPost("/api/v1/write", remoteWrite.HandleAsync);
        app.MapPost("/write", remoteWrite.HandleAsync);
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", () => IsReady ? Results.Text("ready\n") : Results.Text("starting\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapGet("/metrics", () => Results.Text(Metrics.ToText(), "text/plain; version=0.0.4; charset=utf-8"));
        app.MapPrometheusApi(metricStore, time, Metrics);
        app.MapWebUi();
        app.MapElasticsearchApi(logs, new QueueBulkSink(sink, time), Metrics);

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _stops.Add(async () =>
        {
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        });
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var uri = new Uri(address);
        HttpEndPoint = new IPEndPoint(http.ToBindAddress(), uri.Port);
    }

    private void StartSyslog(GatewayOptions options, IRecordSink sink, ILoggerFactory loggerFactory, TimeProvider time)
    {
        if (!HostPort.TryParse(options.SyslogAddress, out var syslog))
        {
            throw new InvalidOperationException($"syslog address '{options.SyslogAddress}' is not HOST:PORT");
        }

        var logger = loggerFactory.CreateLogger("Flotel.Gateway.Syslog");
        var tcp = new SyslogTcpInput(new IPEndPoint(syslog.ToBindAddress(), syslog.Port), tls: null, options.SyslogMaxFrameBytes, sink, new SyslogInputCounters(Metrics, "tcp"), time, logger);
        tcp.Start();
        _stops.Add(tcp.StopAsync);
        SyslogEndPoint = tcp.LocalEndPoint;
        if (options.SyslogUdp)
        {
            // Same port as TCP, also when port 0 picked one.
            var udp = new SyslogUdpInput(new IPEndPoint(syslog.ToBindAddress(), SyslogEndPoint.Port), sink, new SyslogInputCounters(Metrics, "udp"), time, logger);
            udp.Start();
            _stops.Add(udp.StopAsync);
        }

        if (options.SyslogTlsAddress is { } tlsAddress && options.SyslogTls is { } tlsOptions && HostPort.TryParse(tlsAddress, out var tlsEndpoint))
        {
            var tls = new SyslogTcpInput(
                new IPEndPoint(tlsEndpoint.ToBindAddress(), tlsEndpoint.Port), ServerTls.Create(tlsOptions), options.SyslogMaxFrameBytes, sink,
                new SyslogInputCounters(Metrics, "tls"), time, logger);
            tls.Start();
            _stops.Add(tls.StopAsync);
            SyslogTlsEndPoint = tls.LocalEndPoint;
        }
    }

    private void RegisterQueueMetrics(DurableQueue queue)
    {
        Metrics.Gauge("flotel_queue_bytes", "Bytes of the durable queue on disk.", () => queue.GetStats().BytesOnDisk);
        Metrics.Gauge("flotel_queue_appended_records", "Records appended to the durable queue since start.", () => queue.GetStats().AppendedRecords);
        Metrics.Gauge("flotel_queue_rejected_appends", "Appends refused because the queue was full, since start.", () => queue.GetStats().RejectedAppends);
        Metrics.Gauge("flotel_queue_torn_tail_repairs", "Torn records cut from the queue's tail at start.", () => queue.GetStats().TornTailRepairs);
        foreach (var reader in new[] { "store-logs", "store-metrics" })
        {
            Metrics.Gauge("flotel_queue_reader_lag", "Records in the queue not yet committed by a reader.", () =>
            {
                foreach (var r in queue.GetStats().Readers)
                {
                    if (r.Name == reader)
                    {
                        return r.Lag;
                    }
                }

                return 0;
            }, ("reader", reader));
        }
    }

    /// <summary>Retention, every five minutes (and once shortly after start).</summary>
    private async Task HousekeepingAsync(LogStore logs, MetricStore metricStore, TimeProvider time)
    {
        var delay = TimeSpan.FromSeconds(30);
        while (!_housekeeping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, time, _housekeeping.Token).ConfigureAwait(false);
                var dropped = await logs.ApplyRetentionAsync(_housekeeping.Token).ConfigureAwait(false);
                if (dropped.Count > 0)
                {
                    LogRetention(_logger, dropped.Count, dropped[0]);
                }

                _ = metricStore.ApplyRetention();
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                LogStopFailed(_logger, "retention: " + e.Message);
            }

            delay = TimeSpan.FromMinutes(5);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Output {Output} is no longer configured: its queue cursor is removed and what it had not sent will not be sent")]
    private static partial void LogOutputRemoved(ILogger logger, string output);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway shutdown step failed: {Reason}")]
    private static partial void LogStopFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Count} log indices, the oldest {Oldest}")]
    private static partial void LogRetention(ILogger logger, int count, string oldest);
}
