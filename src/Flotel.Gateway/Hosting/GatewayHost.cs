using System.Net;
using System.Security.Cryptography.X509Certificates;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Fleet;
using Flotel.Gateway.Inputs.Bulk;
using Flotel.Gateway.Inputs.RemoteWrite;
using Flotel.Gateway.Inputs.Syslog;
using Flotel.Gateway.Outputs;
using Flotel.Gateway.Outputs.EmbeddedStore;
using Flotel.Gateway.Query;
using Flotel.Gateway.Query.Elasticsearch;
using Flotel.Gateway.Query.Prometheus;
using Flotel.Gateway.Queueing;
using Flotel.Gateway.Ui;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Net;
using Flotel.Pipeline.Queue;
using Flotel.Store.Logs;
using Flotel.Store.Metrics;
using Flotel.Wire.RemoteWrite;
using Flotel.Wire.Syslog;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
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
    private EndpointDataSource? _routes;

    private GatewayHost(ILogger logger, MetricsRegistry metrics)
    {
        _logger = logger;
        Metrics = metrics;
    }

    /// <summary>The HTTP listener's bound address.</summary>
    public IPEndPoint HttpEndPoint { get; private set; } = new(IPAddress.None, 0);

    /// <summary>The syslog TCP (and UDP) listener's bound address; the UDP one when plain TCP is off; unset (port 0) when both are off.</summary>
    public IPEndPoint SyslogEndPoint { get; private set; } = new(IPAddress.None, 0);

    /// <summary>The syslog TLS listener's address, when configured.</summary>
    public IPEndPoint? SyslogTlsEndPoint { get; private set; }

    /// <summary>The fleet listener's bound address, when the fleet is enabled (docs/fleet.md).</summary>
    public IPEndPoint? FleetEndPoint { get; private set; }

    /// <summary>The gateway's own metrics.</summary>
    public MetricsRegistry Metrics { get; }

    /// <summary>
    /// Every HTTP endpoint with the methods it takes and its credential group, as routing holds them (for tests and
    /// docs: each one belongs to exactly one group).
    /// </summary>
    public IReadOnlyList<(string Pattern, IReadOnlyList<string> Methods, EndpointGroup? Group)> Routes =>
        _routes is null
            ? []
            : [.. _routes.Endpoints.OfType<RouteEndpoint>().Select(e => (
                e.RoutePattern.RawText ?? string.Empty,
                (IReadOnlyList<string>)(e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []),
                e.Metadata.GetOrderedMetadata<EndpointGroupMetadata>() is [var only] ? only.Group : (EndpointGroup?)null))];

    /// <summary>
    /// True once every listener is up and the stores are open, and while the durable queue can write (<c>/readyz</c>):
    /// a full data disk makes the gateway not ready until space returns (<see cref="DurableQueue.CheckWritable"/>).
    /// </summary>
    public bool IsReady => _started && (_queue?.CheckWritable() ?? true);

    /// <summary>Set once everything started; cleared when stopping.</summary>
    private volatile bool _started;

    /// <summary>The durable queue, once open: its writability is part of readiness.</summary>
    private DurableQueue? _queue;

    /// <summary>The fleet control plane, when enabled: the syslog TLS listener accepts its device certificates.</summary>
    private FleetService? _fleet;

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

        _started = false;
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
            Logger = loggerFactory.CreateLogger<DurableQueue>(),
        }, time);
        _stops.Add(() => queue.StopAsync());
        RegisterQueueMetrics(queue, options);

        var logs = LogStore.Open(new LogStoreOptions
        {
            DataDirectory = Path.Combine(data, "logs"),
            IndexPattern = options.IndexPattern,
            MaxAge = options.LogRetentionDays > 0 ? TimeSpan.FromDays(options.LogRetentionDays) : null,
            MaxBytes = options.LogMaxBytes > 0 ? options.LogMaxBytes : null,
        }, time);
        _stops.Add(() => { logs.Dispose(); return Task.CompletedTask; });

        var metricStore = MetricStore.Open(new MetricStoreOptions
        {
            DataDirectory = Path.Combine(data, "metrics"),
            RetentionAge = options.MetricRetentionDays > 0 ? TimeSpan.FromDays(options.MetricRetentionDays) : TimeSpan.FromDays(36500),
            MaxSeries = options.MetricMaxSeries,
            ChunkCacheBytes = options.MetricChunkCacheMiB * 1024 * 1024,
        }, time);
        _stops.Add(async () =>
        {
            await metricStore.FlushAsync().ConfigureAwait(false);
            metricStore.Dispose();
        });

        var parser = new SyslogParser(new SyslogParserOptions { Timezone = options.SyslogTimezone });
        if (options.StoreEnabled)
        {
            var output = new EmbeddedStoreOutput(new OutputContext(queue, data, parser, options.IndexPattern, Metrics, time, loggerFactory), logs, metricStore);
            output.Start();
            _stops.Add(async () =>
            {
                await output.StopAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
                await output.DisposeAsync().ConfigureAwait(false);
            });
        }

        StartOutputs(options, queue, data, parser, loggerFactory, time);

        var sink = new DurableQueueSink(queue, time, loggerFactory.CreateLogger<DurableQueueSink>());
        _queue = queue;
        await StartHttpAsync(options, sink, logs, metricStore, loggerFactory, time, cancellationToken).ConfigureAwait(false);
        StartSyslog(options, sink, loggerFactory, time);
        _ = HousekeepingAsync(logs, metricStore, time);
        _ = NativeHeapTrim.RunAsync(time, _housekeeping.Token);
        var compaction = new ManagedHeapCompaction(time);
        const string compactionsHelp =
            "Compacting collections of the managed heap: after a burst of allocation that ended in quiet, or after it grew a lot and stopped growing.";
        Metrics.ObservedCounter("flotel_gc_compactions_total", compactionsHelp, () => compaction.Compactions);
        Metrics.ObservedCounter("flotel_gc_compaction_seconds_total", "Seconds spent in those compactions (the process paused).",
            () => compaction.CompactingSeconds);
        _ = ManagedHeapRelease.RunAsync(compaction, time, _housekeeping.Token);
        _started = true;
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
            var output = OutputRegistry.Default.Create(outputOptions, context);
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
        // The fleet control plane (docs/fleet.md): its store and CA open before the listener that needs its certificate.
        FleetService? fleet = null;
        var fleetAddress = default(HostPort);
        if (options.Fleet is { Enabled: true } fleetOptions)
        {
            if (!HostPort.TryParse(fleetOptions.Address, out fleetAddress))
            {
                throw new InvalidOperationException($"fleet address '{fleetOptions.Address}' is not HOST:PORT");
            }

            fleet = FleetService.Start(Path.GetFullPath(options.DataDirectory), fleetOptions, Metrics, time, loggerFactory.CreateLogger("Flotel.Gateway.Fleet"));
            _stops.Add(() => fleet.DisposeAsync().AsTask());
            _fleet = fleet;
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        builder.Services.AddSingleton<ILoggerFactory>(new WebHostLoggerFactory(loggerFactory));
        var connections = new HttpConnectionLimit(options.HttpMaxConnections, Metrics);
        var tlsLogger = loggerFactory.CreateLogger("Flotel.Gateway.Http");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Every limit a client can push on is set here on purpose (docs/operations.md, "Limits"), not left to
            // whatever Kestrel's defaults are in a given release.
            kestrel.AddServerHeader = false;
            // HTTP/2 responses' headers are sent without adding them to the connection's HPACK table: Kestrel keeps that
            // table (up to 4 KiB of header text) for as long as the connection lives, and a fleet device's connection lives
            // for days while its responses are a handful of small headers (an ETag, a Retry-After) the table rarely saves
            // bytes on: ~5 entries, ~0.4 KiB per connected device (docs/benchmarks.md, "Control plane: a device's bytes at 2,000 devices").
            kestrel.AllowResponseHeaderCompression = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes + (64 * 1024);
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(options.HttpKeepAliveTimeoutSeconds);
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(options.HttpRequestHeadersTimeoutSeconds);
            kestrel.Limits.MaxRequestLineSize = HttpConnectionLimit.MaxRequestLineBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = HttpConnectionLimit.MaxRequestHeadersBytes;
            kestrel.Limits.MaxRequestHeaderCount = HttpConnectionLimit.MaxRequestHeaderCount;
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(HttpConnectionLimit.MinBodyBytesPerSecond, HttpConnectionLimit.MinRateGracePeriod);
            kestrel.Limits.MinResponseDataRate = new MinDataRate(HttpConnectionLimit.MinBodyBytesPerSecond, HttpConnectionLimit.MinRateGracePeriod);
            kestrel.Limits.Http2.MaxStreamsPerConnection = HttpConnectionLimit.MaxHttp2Streams;
            // No HTTP/2 PINGs (nor from the agent): a held long poll answers within its wait + 10 %, and an HTTP/2
            // connection with no stream open is closed after KeepAliveTimeout as an idle HTTP/1.1 one is. A held long
            // poll is an open stream, so KeepAliveTimeout never cuts it (Kestrel times keep-alive only with no stream).
            kestrel.Limits.Http2.KeepAlivePingDelay = Timeout.InfiniteTimeSpan;
            kestrel.Limits.Http2.InitialConnectionWindowSize = HttpConnectionLimit.Http2ConnectionWindowBytes;
            kestrel.Limits.Http2.InitialStreamWindowSize = HttpConnectionLimit.Http2StreamWindowBytes;
            kestrel.Listen(http.ToBindAddress(), http.Port, listen =>
            {
                listen.Use(connections.Middleware);
                if (options.HttpTls is { } tls)
                {
                    var certificate = ServerTls.LoadCertificate(tls);
                    listen.UseHttps(https =>
                    {
                        https.ServerCertificate = certificate;
                        if (tls.ClientCaFile is not null)
                        {
                            var trust = CustomCaTrust.FromPemFile(tls.ClientCaFile);
                            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                            https.ClientCertificateValidation = (cert, chain, _) => trust.IsClientTrusted(cert, chain);
                        }
                    });
                    listen.Use(OpenSslIdleBuffers.Middleware(tlsLogger));
                }
            });
            if (fleet is not null)
            {
                // Second listener, for devices: the fleet CA's server certificate; a client certificate is asked for but
                // not required by TLS (the CA and enrolment routes serve devices without one) and is checked per route
                // against the fleet CA and the revoked serials (FleetAccess).
                var serverCertificate = fleet.Authority.IssueServerCertificate(options.Fleet!.ServerNames, time);
                var clientChainPolicy = FleetClientChainPolicy(fleet.Authority.Certificate);
                kestrel.Listen(fleetAddress.ToBindAddress(), fleetAddress.Port, listen =>
                {
                    // HTTP/2 by ALPN: a device's long poll, status reports, renewals and remote writes share one
                    // connection (docs/fleet.md §5, "Connections"); HTTP/1.1 stays for clients that offer only it.
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.Use(connections.Middleware);
                    listen.Use(FleetAccess.MarkConnections);
                    listen.UseHttps(https =>
                    {
                        https.ServerCertificate = serverCertificate;
                        https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                        https.ClientCertificateValidation = (_, _, _) => true;
                        // Revocation is the fleet's own list (FleetAccess): no CRL or OCSP lookup per handshake.
                        https.CheckCertificateRevocation = false;
                        // SslStream builds a chain for every client certificate before the callback above sees it; against the
                        // fleet CA alone it costs about a third of one against the system store (docs/benchmarks.md, "Control
                        // plane: cheaper reconnections"), paid by every reconnection. A copy per connection: SslStream adds the
                        // peer's intermediates to the policy it is given.
                        https.OnAuthenticate = (_, ssl) => ssl.CertificateChainPolicy = clientChainPolicy.Clone();
                    });
                    // Every device holds its connection open; OpenSSL's record buffers are freed while it is idle.
                    listen.Use(OpenSslIdleBuffers.Middleware(tlsLogger));
                });
            }
        });

        var app = builder.Build();
        if (fleet is not null && options.AdminAuth is null && !IsLoopback(http.Host))
        {
            LogAdminApiOpen(_logger, options.HttpAddress);
        }

        var auth = new EndpointAuthorization(options.IngestAuth, options.QueryAuth, options.AdminAuth, fleet is null ? null : new FleetAccess(fleet, time));
        var unhandled = new UnhandledErrors(loggerFactory.CreateLogger("Flotel.Gateway.Http"), Metrics, time);
        app.Use((context, next) => unhandled.InvokeAsync(context, () => next(context)));
        app.Use((context, next) => auth.InvokeAsync(context, () => next(context)));
        app.Use((context, next) => ErrorAnswers.UnmatchedAsync(context, () => next(context)));

        // Every endpoint is mapped in exactly one group; the auth middleware reads the group from the endpoint routing
        // selected (EndpointGroup), never from the path's spelling.
        var open = app.MapGroup(string.Empty).InGroup(EndpointGroup.Open);
        var ingest = app.MapGroup(string.Empty).InGroup(EndpointGroup.Ingest);
        var query = app.MapGroup(string.Empty).InGroup(EndpointGroup.Query);
        var uiAssets = app.MapGroup(string.Empty).InGroup(EndpointGroup.UiAssets);

        var limits = new RemoteWriteLimits { MaxCompressedBytes = (int)Math.Min(options.MaxBodyBytes, int.MaxValue) };
        var metadata = new MetricMetadataStore();
        Metrics.Gauge("flotel_metadata_metrics", "Metric families whose remote-write metadata is kept for /api/v1/metadata.", () => metadata.MetricCount);
        Metrics.ObservedCounter("flotel_metadata_dropped_total", "Remote-write metadata entries not kept, by reason.", () => metadata.DroppedMetricsLimitTotal, ("reason", "metrics_limit"));
        Metrics.ObservedCounter("flotel_metadata_dropped_total", "Remote-write metadata entries not kept, by reason.", () => metadata.DroppedSizeLimitTotal, ("reason", "size_limit"));
        var remoteWrite = new RemoteWriteInput(sink, limits, Metrics, time, loggerFactory.CreateLogger<RemoteWriteInput>(), options.StoreEnabled ? metricStore : null, metadata, fleet);
        // Also on the fleet listener, for devices with their certificate (docs/fleet.md §6).
        ingest.MapPost("/api/v1/write", remoteWrite.HandleAsync).WithMetadata(new FleetIngestMetadata());
        ingest.MapPost("/write", remoteWrite.HandleAsync);
        ingest.MapElasticsearchBulkApi(logs, new QueueBulkSink(sink, time), Metrics, time);
        open.MapGet("/healthz", () => Results.Text("ok\n"));
        open.MapGet("/readyz", () => IsReady ? Results.Text("ready\n")
            : Results.Text(_started ? "the durable queue cannot write (data disk full?)\n" : "starting\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        query.MapGet("/metrics", () => Results.Text(Metrics.ToText(), "text/plain; version=0.0.4; charset=utf-8"));
        var queryLimits = new QueryLimiter(options.QueryTimeout, options.QueryMaxConcurrency, Metrics, time);
        query.MapPrometheusApi(metricStore, time, queryLimits, Metrics, new PrometheusApiOptions
        {
            Metadata = metadata,
            LabelNames = options.PrometheusLabelNames,
            MaxSamples = options.QueryMaxSamples,
            MaxSeries = options.QueryMaxSeries,
            StartTime = time.GetUtcNow(),
            StorageRetention = options.MetricRetentionDays > 0 ? options.MetricRetentionDays.ToString(System.Globalization.CultureInfo.InvariantCulture) + "d" : "36500d",
        });
        uiAssets.MapWebUi();
        query.MapElasticsearchApi(logs, queryLimits, Metrics);
        if (fleet is not null)
        {
            var fleetOpen = app.MapGroup(string.Empty).InGroup(EndpointGroup.FleetOpen);
            var fleetDevice = app.MapGroup(string.Empty).InGroup(EndpointGroup.FleetDevice);
            fleetOpen.MapFleetDeviceApi(fleetDevice, fleet);
            app.MapGroup(string.Empty).InGroup(EndpointGroup.Admin).MapFleetAdminApi(fleet, time);
        }
        else
        {
            app.MapGroup(string.Empty).InGroup(EndpointGroup.Admin).MapFleetDisabledApi();
        }

        _routes = app.Services.GetRequiredService<EndpointDataSource>();

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _stops.Add(async () =>
        {
            // Held bundle long-polls answer now, or stopping would wait for them (up to 5 minutes each).
            fleet?.ReleaseWaiters();
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        });

        // Kestrel reports the bound addresses in the order the listeners were declared: HTTP, then fleet.
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        HttpEndPoint = new IPEndPoint(http.ToBindAddress(), new Uri(addresses[0]).Port);
        if (fleet is not null)
        {
            FleetEndPoint = new IPEndPoint(fleetAddress.ToBindAddress(), new Uri(addresses[1]).Port);
        }
    }

    private void StartSyslog(GatewayOptions options, IRecordSink sink, ILoggerFactory loggerFactory, TimeProvider time)
    {
        if (!HostPort.TryParse(options.SyslogAddress, out var syslog))
        {
            throw new InvalidOperationException($"syslog address '{options.SyslogAddress}' is not HOST:PORT");
        }

        var logger = loggerFactory.CreateLogger("Flotel.Gateway.Syslog");
        var limits = new SyslogConnectionLimits
        {
            MaxConnections = options.SyslogMaxConnections,
            IdleTimeout = TimeSpan.FromSeconds(options.SyslogIdleTimeoutSeconds),
        };
        var port = syslog.Port;
        if (options.SyslogTcp)
        {
            var tcp = StartSyslogTcp(new IPEndPoint(syslog.ToBindAddress(), syslog.Port), tls: null, "tcp", options, limits, sink, time, logger);
            SyslogEndPoint = tcp.LocalEndPoint;
            port = SyslogEndPoint.Port;
        }

        if (options.SyslogUdp)
        {
            // Same port as TCP, also when port 0 picked one.
            var udp = new SyslogUdpInput(new IPEndPoint(syslog.ToBindAddress(), port), sink, new SyslogInputCounters(Metrics, "udp"), time, logger);
            udp.Start();
            _stops.Add(udp.StopAsync);
            if (!options.SyslogTcp)
            {
                SyslogEndPoint = udp.LocalEndPoint;
            }
        }

        if (options.SyslogTlsAddress is { } tlsAddress && options.SyslogTls is { } tlsOptions && HostPort.TryParse(tlsAddress, out var tlsEndpoint))
        {
            // With the fleet, the fleet CA is a client CA here too: device certificates name the connection's device.
            var (server, clients) = ServerTls.Create(tlsOptions, _fleet);
            var tls = StartSyslogTcp(new IPEndPoint(tlsEndpoint.ToBindAddress(), tlsEndpoint.Port), server, "tls", options, limits, sink, time, logger, clients);
            SyslogTlsEndPoint = tls.LocalEndPoint;
        }
    }

    private SyslogTcpInput StartSyslogTcp(
        IPEndPoint endpoint, System.Net.Security.SslServerAuthenticationOptions? tls, string transport, GatewayOptions options, SyslogConnectionLimits limits,
        IRecordSink sink, TimeProvider time, ILogger logger, SyslogTlsClients? clients = null)
    {
        var input = new SyslogTcpInput(endpoint, tls, options.SyslogMaxFrameBytes, sink, new SyslogInputCounters(Metrics, transport), time, logger, limits, clients);
        input.Start();
        _stops.Add(input.StopAsync);
        Metrics.Gauge("flotel_syslog_connections_open", "Syslog TCP/TLS connections being served.", () => input.OpenConnections, ("transport", transport));
        return input;
    }

    private void RegisterQueueMetrics(DurableQueue queue, GatewayOptions options)
    {
        Metrics.Gauge("flotel_queue_bytes", "Bytes of the durable queue on disk.", () => queue.GetStats().BytesOnDisk);
        Metrics.Gauge("flotel_queue_appended_records", "Records appended to the durable queue since start.", () => queue.GetStats().AppendedRecords);
        Metrics.Gauge("flotel_queue_rejected_appends", "Appends refused because the queue was full, since start.", () => queue.GetStats().RejectedAppends);
        Metrics.Gauge("flotel_queue_torn_tail_repairs", "Torn records cut from the queue's tail at start.", () => queue.GetStats().TornTailRepairs);
        Metrics.Gauge("flotel_queue_write_failures", "Group commits of the durable queue that could not be written (a full disk, an I/O error), since start.", () => queue.GetStats().WriteFailures);
        Metrics.Gauge("flotel_queue_writable", "1 while the durable queue can write, 0 after a failed write until a write succeeds again (then /readyz answers 503).", () => queue.GetStats().WriteFailing ? 0 : 1);
        Metrics.Gauge("flotel_queue_corrupt_records", "Corrupt records in the middle of a queue segment, skipped (the records after them are kept), since start.", () => queue.GetStats().CorruptRecords);
        Metrics.Gauge("flotel_queue_corrupt_dropped_records", "Records lost after a corrupt record with no valid record after it in a sealed segment, since start.", () => queue.GetStats().DroppedRecordsCorrupt);
        // One lag per reader: the embedded store's two and each configured output's (its reader is named after it).
        foreach (var reader in options.Outputs.Select(o => o.Name).Prepend("store-metrics").Prepend("store-logs"))
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

    [LoggerMessage(
        Level = LogLevel.Warning,
        Message = "The fleet is enabled and auth.admin is not set: anyone who reaches {Address} can apply configurations to devices " +
            "and create enrolment tokens; set auth.admin (docs/fleet.md §2)")]
    private static partial void LogAdminApiOpen(ILogger logger, string address);

    /// <summary>
    /// The chain policy of the fleet listener's client certificates: the fleet CA as the only root, no revocation
    /// lookup, validity not judged (FleetAccess judges it per request, renewal grace included).
    /// </summary>
    private static X509ChainPolicy FleetClientChainPolicy(X509Certificate2 fleetCa)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid,
        };
        policy.CustomTrustStore.Add(fleetCa);
        return policy;
    }

    /// <summary>Whether a listener's host is a loopback address or <c>localhost</c> (only this machine can reach it).</summary>
    private static bool IsLoopback(string host) =>
        string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (System.Net.IPAddress.TryParse(host.Trim('[', ']'), out var address) && System.Net.IPAddress.IsLoopback(address));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway shutdown step failed: {Reason}")]
    private static partial void LogStopFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Count} log indices, the oldest {Oldest}")]
    private static partial void LogRetention(ILogger logger, int count, string oldest);
}
