using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using Flotel.Agent.Hosting;
using Flotel.Agent.Logs;
using Flotel.Agent.Workloads;
using Flotel.Pipeline.Delivery;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// The agent's log path with real peers: podman runs the blog's random-workload shape (a pod printing
/// "New message at: &lt;date&gt;" with a sequence number every 0.1–0.9 s, hostNetwork), the agent captures it from conmon's
/// k8s-file log (or through the libpod API where a test says so) and forwards it to a real rsyslogd over TCP; the tests
/// read what rsyslog wrote (HOSTNAME, APP-NAME, MSG).
/// </summary>
[Collection(PeerCollection.Name)]
public sealed partial class LogsPodmanRsyslogTests
{
    private const string Device = "edge-it-1";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task RandomWorkload_CollectorOutage_EveryLineArrivesInOrderWithDeviceAndWorkload()
    {
        await using var podman = await PodmanFixture.StartAsync();
        using var rsyslog = new RsyslogCollector();
        await rsyslog.StartAsync();
        using var dirs = new TempDirs();
        var workload = "random-workload-" + dirs.Run;
        podman.Track(workload);
        WriteManifests(dirs.Manifests, [("syslog-a", rsyslog.Ports[0], 64)], workload, "syslog-a", RandomScript);
        await using var agent = await StartAgentAsync(dirs, podman);

        await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= 5, "first lines at rsyslog", rsyslog);
        var first = rsyslog.Lines()[0];
        Assert.Equal(Device, first.Host);
        Assert.Equal(workload, first.App);
        Assert.Matches(@"^ ?[0-9a-f]{64}: New message at: .+ seq=1$", first.Message);

        // Outage: the collector is down for 15 s while the workload keeps printing.
        await rsyslog.StopAsync();
        int before = MaxSeq(rsyslog.Lines());
        await Task.Delay(TimeSpan.FromSeconds(15));
        await rsyslog.StartAsync();
        await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= before + 20, "lines after the outage", rsyslog);

        var seqs = Seqs(rsyslog.Lines());
        Assert.Equal(Enumerable.Range(1, seqs.Count), seqs); // in order, no gap, no duplicate
        Assert.All(rsyslog.Lines(), l => Assert.Equal((Device, workload), (l.Host, l.App)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Agent_StoppedWithoutFlushAndStartedAgain_NoGapAndNoDuplicate(bool readLogFiles)
    {
        await using var podman = await PodmanFixture.StartAsync();
        using var rsyslog = new RsyslogCollector();
        await rsyslog.StartAsync();
        using var dirs = new TempDirs();
        var workload = "restart-workload-" + dirs.Run;
        podman.Track(workload);
        WriteManifests(dirs.Manifests, [("syslog-a", rsyslog.Ports[0], 64)], workload, "syslog-a", FastScript(0.05));
        var agent = await StartAgentAsync(dirs, podman, readLogFiles);
        await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= 20, "first lines", rsyslog);

        // podman's default driver is k8s-file: its file is followed, unless the agent is told to use the API.
        Assert.Equal(readLogFiles ? 1 : 0, FilesFollowed(agent));

        // No drain: whatever is buffered stays on disk; the pod keeps printing while the agent is away.
        await agent.StopAsync(TimeSpan.Zero);
        await agent.DisposeAsync();
        int atStop = MaxSeq(rsyslog.Lines());
        await Task.Delay(TimeSpan.FromSeconds(3));
        await using var again = await StartAgentAsync(dirs, podman, readLogFiles);
        await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= atStop + 100, "lines after the restart", rsyslog);

        var seqs = Seqs(rsyslog.Lines());
        int duplicates = seqs.Count - seqs.Distinct().Count();
        Assert.Equal(0, duplicates);
        Assert.Equal(Enumerable.Range(1, seqs.Count), seqs);
    }

    [Fact]
    public async Task ConmonRotatesTheLogFile_EveryLineArrivesOnceInOrder()
    {
        // conmon replaces the file whenever the next write would pass log_size_max: at 50 lines/s, every few seconds.
        await using var podman = await PodmanFixture.StartAsync("log_size_max = 16384");
        using var rsyslog = new RsyslogCollector();
        await rsyslog.StartAsync();
        using var dirs = new TempDirs();
        var workload = "rotate-workload-" + dirs.Run;
        podman.Track(workload);
        WriteManifests(dirs.Manifests, [("syslog-a", rsyslog.Ports[0], 64)], workload, "syslog-a", FastScript(0.02));
        await using var agent = await StartAgentAsync(dirs, podman);

        await WaitAsync(() => agent.Metrics.Sum("flotel_agent_log_file_rotations_total") >= 3, "three rotations", rsyslog);
        int produced = ProducedSoFar(workload, podman);
        await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= produced, "the lines printed so far", rsyslog);

        Assert.Equal(1, FilesFollowed(agent));
        var seqs = Seqs(rsyslog.Lines());
        Assert.Equal(Enumerable.Range(1, seqs.Count), seqs);
    }

    /// <summary>Lines a stopping collector may take into its socket buffer and never write (the workload prints 50/s).</summary>
    private const int MaxLostAtCollectorStop = 5;

    [Fact]
    public async Task TinyBuffer_LongOutage_OldestDroppedCountExactAndNewestArrive()
    {
        await using var podman = await PodmanFixture.StartAsync();
        using var rsyslog = new RsyslogCollector();
        await rsyslog.StartAsync();
        using var dirs = new TempDirs();
        var workload = "overflow-workload-" + dirs.Run;
        podman.Track(workload);
        WriteManifests(dirs.Manifests, [("syslog-a", rsyslog.Ports[0], 1)], workload, "syslog-a", FastScript(0.02));
        await using var agent = await StartAgentAsync(dirs, podman);
        await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= 10, "first lines", rsyslog);

        await rsyslog.StopAsync();
        int atStop = MaxSeq(rsyslog.Lines());
        await Task.Delay(TimeSpan.FromSeconds(10));
        int produced = ProducedSoFar(workload, podman);
        await rsyslog.StartAsync();
        await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= produced + 20, "newest lines after the outage", rsyslog);

        var lines = rsyslog.Lines();
        var seqs = Seqs(lines);
        int max = seqs[^1];
        var reports = lines.Where(l => l.App == SyslogSender.AgentTag).Select(l => long.Parse(DropCount().Match(l.Message).Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.NotEmpty(reports);
        Assert.Equal(seqs.Order().Distinct(), seqs); // strictly increasing: order kept, no duplicate
        // Every missing line is reported, nothing more. On failure: which lines are missing, and where the agent counted losses.
        var missing = Enumerable.Range(1, max).Except(seqs).ToList();
        var ranges = string.Join(", ", missing.Select((s, i) => (s, i)).GroupBy(p => p.s - p.i).Select(g => $"{g.First().s}-{g.Last().s}"));
        var counters = string.Join("; ", agent.Metrics.ToText().Split('\n').Where(l => l.StartsWith("flotel_agent_log_lines_dropped_total{", StringComparison.Ordinal) || l.StartsWith("flotel_agent_log_stream_errors_total{", StringComparison.Ordinal)));
        var detail = $"{missing.Count} lines missing ({ranges}), {reports.Sum()} reported ({string.Join(", ", reports)}), collector stopped after line {atStop}; agent: {counters}";

        // Every dropped line is reported. The only other loss allowed is TCP syslog's own (RFC 6587 has no
        // acknowledgement): lines the collector's kernel accepted in the instant rsyslog was shutting down, which it
        // never wrote. Those come right after the last line it wrote before the stop, and are a handful at most.
        Assert.True(reports.Sum() > 0, detail);
        long unreported = missing.Count - reports.Sum();
        Assert.True(unreported is >= 0 and <= MaxLostAtCollectorStop, detail);
        Assert.True(missing.Count(seq => seq > atStop && seq <= atStop + MaxLostAtCollectorStop) >= unreported, detail);
    }

    [Fact]
    public async Task ConfigChange_MoveWorkloadThenRemoveTarget_NothingLostNoConnectionLeft()
    {
        await using var podman = await PodmanFixture.StartAsync();
        using var rsyslog = new RsyslogCollector(inputs: 2);
        await rsyslog.StartAsync();
        using var dirs = new TempDirs();
        var workload = "moving-workload-" + dirs.Run;
        podman.Track(workload);
        long baseline = SyslogSender.OpenConnections;
        var both = new[] { ("syslog-a", rsyslog.Ports[0], 64), ("syslog-b", rsyslog.Ports[1], 64) };
        WriteManifests(dirs.Manifests, both, workload, "syslog-a", FastScript(0.1));
        await using var agent = await StartAgentAsync(dirs, podman);
        await WaitAsync(() => MaxSeq(rsyslog.Lines(0)) >= 10, "lines at target a", rsyslog);

        WriteManifests(dirs.Manifests, both, workload, "syslog-b", FastScript(0.1));
        Assert.True(await agent.ReloadAsync());
        await WaitAsync(() => MaxSeq(rsyslog.Lines(1)) >= MaxSeq(rsyslog.Lines(0)) + 10, "lines at target b", rsyslog);

        WriteManifests(dirs.Manifests, [both[1]], workload, "syslog-b", FastScript(0.1));
        Assert.True(await agent.ReloadAsync());
        int atRemoval = MaxSeq(rsyslog.Lines(1));
        await WaitAsync(() => MaxSeq(rsyslog.Lines(1)) >= atRemoval + 10, "lines at b after a was removed", rsyslog);

        var component = (WorkloadLogsComponent)agent.Components[0];
        Assert.Equal(["syslog-b"], component.Targets.Keys);
        Assert.Equal(baseline + 1, SyslogSender.OpenConnections); // a's connection is closed, b's is the only one

        var seqs = Seqs(rsyslog.Lines(0)).Concat(Seqs(rsyslog.Lines(1))).ToList();
        Assert.Equal(Enumerable.Range(1, seqs.Count), seqs); // a's lines, then b's: none lost, none twice
    }

    [Fact]
    public async Task AgentProcess_Kill9MidStreamThenStart_NoGapAndDuplicatesWithinOneBatch()
    {
        await using var podman = await PodmanFixture.StartAsync();
        using var rsyslog = new RsyslogCollector();
        await rsyslog.StartAsync();
        using var dirs = new TempDirs();
        var workload = "kill-workload-" + dirs.Run;
        podman.Track(workload);
        WriteManifests(dirs.Manifests, [("syslog-a", rsyslog.Ports[0], 64)], workload, "syslog-a", FastScript(0.02));
        var noNodeExporter = new Uri("http://127.0.0.1:1/metrics");
        int atKill;
        using (var agent = await MetricsAgentProcess.StartAsync(dirs.Manifests, dirs.Data, noNodeExporter, podmanSocket: podman.Socket))
        {
            await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= 50, "first lines from the agent process", rsyslog);
            await agent.SignalAndWaitAsync(9, TimeSpan.FromSeconds(10));
            atKill = MaxSeq(rsyslog.Lines());
        }

        // What the killed process left (cursors written in place, fsync'd only every CursorSyncInterval): the capture
        // cursor never covers a line the buffer does not hold.
        var (saved, buffered) = await CaptureCursorAndLastBufferedAsync(dirs.Data, "syslog-a");
        Assert.True(LogCursor.Max(saved, buffered) == buffered, $"cursor {saved} is past the buffer's last line {buffered}");

        // The pod keeps printing while no agent runs.
        await Task.Delay(TimeSpan.FromSeconds(2));
        using var again = await MetricsAgentProcess.StartAsync(dirs.Manifests, dirs.Data, noNodeExporter, podmanSocket: podman.Socket);
        await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= atKill + 150, "lines after the restart", rsyslog);

        var seqs = Seqs(rsyslog.Lines());
        var distinct = seqs.Distinct().Order().ToList();
        Assert.Equal(Enumerable.Range(1, distinct.Count), distinct); // no gap
        var firstSeen = seqs.Where((s, i) => seqs.IndexOf(s) == i).ToList();
        Assert.Equal(distinct, firstSeen); // in order
        // Duplicates only from a kill between a capture batch's buffer write and its cursor save (≤ 1,024 lines captured
        // again) or between a forwarder send and its cursor commit (≤ 2,048 lines sent again) — docs/configuration.md.
        Assert.InRange(seqs.Count - distinct.Count, 0, 1024 + 2048);
    }

    [Fact]
    public async Task UdpTarget_RealRsyslogImudp_LinesArriveWithDeviceAndWorkload()
    {
        await using var podman = await PodmanFixture.StartAsync();
        using var rsyslog = new RsyslogCollector(udp: true);
        await rsyslog.StartAsync();
        using var dirs = new TempDirs();
        var workload = "udp-workload-" + dirs.Run;
        podman.Track(workload);
        WriteManifests(dirs.Manifests, [("syslog-udp", rsyslog.Ports[0], 64)], workload, "syslog-udp", FastScript(0.1), protocol: "udp");
        await using var agent = await StartAgentAsync(dirs, podman);

        try
        {
            await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= 20, "lines over UDP", rsyslog);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + "\nagent metrics:\n" + string.Join("\n", agent.Metrics.ToText().Split('\n').Where(l => l.StartsWith("flotel_agent_log", StringComparison.Ordinal) || l.StartsWith("flotel_output", StringComparison.Ordinal) || l.StartsWith("flotel_agent_syslog", StringComparison.Ordinal))), e);
        }
        Assert.All(rsyslog.Lines(), l => Assert.Equal((Device, workload), (l.Host, l.App)));

        // One sender on loopback at 10 lines/s: nothing lost or reordered in practice (UDP itself promises neither).
        var seqs = Seqs(rsyslog.Lines());
        Assert.Equal(Enumerable.Range(1, seqs.Count), seqs);
    }

    [Fact]
    public async Task TlsTarget_CustomCaRealRsyslogGtls_LinesArriveWithDeviceAndWorkload()
    {
        // A CA made here signs rsyslog's certificate for 127.0.0.1; the agent trusts only that CA (CaSecretName).
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Flotel Test Syslog CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(san.Build());
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1), [7, 1, 2, 3]);

        await using var podman = await PodmanFixture.StartAsync();
        using var rsyslog = new RsyslogCollector(tls: (ca.ExportCertificatePem(), server.ExportCertificatePem(), serverKey.ExportPkcs8PrivateKeyPem()));
        await rsyslog.StartAsync();
        using var dirs = new TempDirs();
        var workload = "tls-workload-" + dirs.Run;
        podman.Track(workload);
        WriteManifests(dirs.Manifests, [("syslog-tls", rsyslog.Ports[0], 64)], workload, "syslog-tls", FastScript(0.1), protocol: "tls", caPem: ca.ExportCertificatePem());
        await using var agent = await StartAgentAsync(dirs, podman);

        try
        {
            await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= 20, "lines over TLS", rsyslog);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + "\nagent metrics:\n" + string.Join("\n", agent.Metrics.ToText().Split('\n').Where(l => l.StartsWith("flotel_agent_syslog", StringComparison.Ordinal) || l.StartsWith("flotel_output", StringComparison.Ordinal))), e);
        }

        Assert.All(rsyslog.Lines(), l => Assert.Equal((Device, workload), (l.Host, l.App)));
        Assert.Matches(@"^ ?[0-9a-f]{64}: New message at: .+ seq=1$", rsyslog.Lines()[0].Message);
        var seqs = Seqs(rsyslog.Lines());
        Assert.Equal(Enumerable.Range(1, seqs.Count), seqs);
        Assert.Equal(0, agent.Metrics.Sum("flotel_agent_syslog_connects_total", ("target", "syslog-tls"), ("result", "failed")));
    }

    [Fact]
    public async Task Workload_PodLeftWithoutContainers_ReplacedAndItsLinesArrive()
    {
        await using var podman = await PodmanFixture.StartAsync();
        using var rsyslog = new RsyslogCollector();
        await rsyslog.StartAsync();
        using var dirs = new TempDirs();
        var workload = "empty-pod-" + dirs.Run;
        podman.Track(workload);

        // What an interrupted play kube (or a hand) can leave: a pod of that name with no container, which podman
        // refuses to start ("no containers in pod").
        await podman.PodmanAsync("pod", "create", "--infra=false", "--name", workload);
        WriteManifests(dirs.Manifests, [("syslog-a", rsyslog.Ports[0], 64)], workload, "syslog-a", FastScript(0.2));
        await using var agent = await StartAgentAsync(dirs, podman);

        await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= 5, "lines from the replaced pod", rsyslog);
        Assert.Equal(Enumerable.Range(1, Seqs(rsyslog.Lines()).Count), Seqs(rsyslog.Lines()));
    }

    [Fact]
    public async Task Workload_ContainerKilled_PodmansEventStreamRestartsItWithoutAPoll()
    {
        await using var podman = await PodmanFixture.StartAsync();
        using var rsyslog = new RsyslogCollector();
        await rsyslog.StartAsync();
        using var dirs = new TempDirs();
        var workload = "events-workload-" + dirs.Run;
        podman.Track(workload);
        WriteManifests(dirs.Manifests, [("syslog-a", rsyslog.Ports[0], 64)], workload, "syslog-a", FastScript(0.2));

        // Passes an hour apart (after the first): only podman's event stream can bring the killed container back.
        await using var agent = await StartAgentAsync(dirs, podman, reconcileInterval: TimeSpan.FromHours(1), watch: ContainerWatch.Events);
        await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= 5, "first lines", rsyslog);
        const string connected = "flotel_agent_podman_events_connected 1";
        await WaitAsync(() => agent.Metrics.ToText().Contains(connected, StringComparison.Ordinal), "the event stream open", rsyslog);
        Assert.Equal(0, agent.Metrics.Sum("flotel_agent_pod_actions_total", ("action", "restart")));

        await podman.PodmanAsync("kill", workload + "-gen");

        await WaitAsync(() => agent.Metrics.Sum("flotel_agent_pod_actions_total", ("action", "restart")) == 1, "the pod started again", rsyslog);
        Assert.True(agent.Metrics.Sum("flotel_agent_podman_events_total", ("kind", "relevant")) >= 1);

        // The restarted container prints from seq=1 again, into the same conmon file: both runs arrive.
        await WaitAsync(() => Seqs(rsyslog.Lines()).Count(s => s == 3) == 2, "the restarted container's lines", rsyslog);
    }

    [Fact]
    public async Task Workload_ContainerKilled_ItsProcessEndRestartsItWithoutAPollOrAStream()
    {
        await using var podman = await PodmanFixture.StartAsync();
        using var rsyslog = new RsyslogCollector();
        await rsyslog.StartAsync();
        using var dirs = new TempDirs();
        var workload = "exits-workload-" + dirs.Run;
        podman.Track(workload);
        WriteManifests(dirs.Manifests, [("syslog-a", rsyslog.Ports[0], 64)], workload, "syslog-a", FastScript(0.2));

        // Passes an hour apart once the container's process is held: only its end can bring the killed container
        // back, and no event stream is open.
        await using var agent = await StartAgentAsync(dirs, podman, reconcileInterval: TimeSpan.FromHours(1));
        await WaitAsync(() => MaxSeq(rsyslog.Lines()) >= 5, "first lines", rsyslog);
        const string held = "flotel_agent_container_processes_watched 1";
        await WaitAsync(() => agent.Metrics.ToText().Contains(held, StringComparison.Ordinal), "the process held", rsyslog);
        Assert.DoesNotContain("flotel_agent_podman_events_connected", agent.Metrics.ToText(), StringComparison.Ordinal);
        Assert.Equal(0, agent.Metrics.Sum("flotel_agent_pod_actions_total", ("action", "restart")));

        await podman.PodmanAsync("kill", workload + "-gen");

        await WaitAsync(() => agent.Metrics.Sum("flotel_agent_pod_actions_total", ("action", "restart")) == 1, "the pod started again", rsyslog);
        Assert.Equal(1, agent.Metrics.Sum("flotel_agent_container_exits_total"));

        // The restarted container prints from seq=1 again, into the same conmon file: both runs arrive; and its new
        // process is held in turn.
        await WaitAsync(() => Seqs(rsyslog.Lines()).Count(s => s == 3) == 2, "the restarted container's lines", rsyslog);
        await WaitAsync(() => agent.Metrics.ToText().Contains(held, StringComparison.Ordinal), "the new process held", rsyslog);
    }

    /// <summary>
    /// The one container's capture cursor as saved in <paramref name="data"/>, and the cursor of the last line in the
    /// target's buffer (read with a reader of its own, from the oldest record kept).
    /// </summary>
    private static async Task<(LogCursor Saved, LogCursor Buffered)> CaptureCursorAndLastBufferedAsync(string data, string target)
    {
        var cursors = new ContainerCursorStore(Path.Combine(data, "logs", "cursors"));
        var saved = cursors.Load(Assert.Single(cursors.List()));
        await using var queue = Flotel.Pipeline.Queue.DurableQueue.Open(new Flotel.Pipeline.Queue.DurableQueueOptions
        {
            Directory = Path.Combine(data, "logs", "targets", target),
            MaxTotalBytes = 64 * 1024,
            FullPolicy = Flotel.Pipeline.Queue.QueueFullPolicy.DropOldest,
        });
        var reader = queue.OpenReader("invariant-check");
        var last = LogCursor.Start;
        var batch = new List<Flotel.Pipeline.Queue.QueueRecord>();
        while (reader.TryReadBatch(1024, 1 << 20, batch) && batch.Count > 0)
        {
            foreach (var record in batch)
            {
                Assert.True(LogRecord.TryRead(record.Payload, out var line));
                last = LogCursor.Max(last, line.Cursor);
            }

            reader.Commit(batch[^1].Sequence);
            batch.Clear();
        }

        reader.Dispose();
        queue.DeleteReader("invariant-check");
        return (saved, last);
    }

    private const string RandomScript = "i=0; while true; do i=$((i+1)); echo \"New message at: $(date) seq=$i\"; sleep 0.$((RANDOM % 9 + 1)); done";

    private static string FastScript(double seconds) =>
        "i=0; while true; do i=$((i+1)); echo \"New message at: $(date) seq=$i\"; sleep " + seconds.ToString(CultureInfo.InvariantCulture) + "; done";

    /// <summary>The agent's <c>flotel_agent_log_files_followed</c> gauge.</summary>
    private static int FilesFollowed(AgentHost agent)
    {
        const string prefix = "flotel_agent_log_files_followed ";
        var line = agent.Metrics.ToText().Split('\n').Single(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return int.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
    }

    private static async Task<AgentHost> StartAgentAsync(
        TempDirs dirs, PodmanFixture podman, bool readLogFiles = true, TimeSpan? reconcileInterval = null, ContainerWatch watch = ContainerWatch.Processes)
    {
        var options = new AgentOptions { ManifestsDirectory = dirs.Manifests, DataDirectory = dirs.Data, PodmanSocket = podman.Socket, WatchManifests = false };
        var logs = new WorkloadLogsOptions
        {
            ReconcileInterval = reconcileInterval ?? TimeSpan.FromSeconds(2),
            EventsReconcileInterval = reconcileInterval ?? TimeSpan.FromSeconds(2),
            ProcessesReconcileInterval = reconcileInterval ?? TimeSpan.FromSeconds(2),
            ContainerWatch = watch,
            LogReopenDelay = TimeSpan.FromMilliseconds(500),
            ReadLogFiles = readLogFiles,
            Delivery = new DeliveryOptions { RetryInitial = TimeSpan.FromMilliseconds(200), RetryMax = TimeSpan.FromSeconds(2), MaxBatchItems = 500, MaxQueueRecords = 500, MaxBatchBytes = 256 * 1024 },
        };
        return await AgentHost.StartAsync(options, NullLoggerFactory.Instance, TimeProvider.System, (o, m, l, t) => [new WorkloadLogsComponent(o, m, l, t, logs)]);
    }

    /// <summary>The highest sequence number the container has printed (podman's own log, read through the CLI).</summary>
    private static int ProducedSoFar(string workload, PodmanFixture podman)
    {
        var text = podman.PodmanAsync("logs", "--tail", "1", workload + "-gen").GetAwaiter().GetResult();
        var m = SeqPattern().Match(text);
        return m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    private static List<int> Seqs(IReadOnlyList<(string Host, string App, string Message)> lines) =>
        [.. lines.Select(l => SeqPattern().Match(l.Message)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))];

    private static int MaxSeq(IReadOnlyList<(string Host, string App, string Message)> lines)
    {
        var seqs = Seqs(lines);
        return seqs.Count == 0 ? 0 : seqs.Max();
    }

    private static async Task WaitAsync(Func<bool> condition, string what, RsyslogCollector rsyslog)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}; rsyslog has {rsyslog.Lines().Count} lines; internal: {rsyslog.Internal()}");
            }

            await Task.Delay(200);
        }
    }

    private static void WriteManifests(string dir, (string Name, int Port, int KiB)[] targets, string workload, string target, string script, string protocol = "tcp", string? caPem = null)
    {
        var device = new StringBuilder();
        device.Append(CultureInfo.InvariantCulture, $"""
            apiVersion: management.project-flotta.io/v1alpha1
            kind: EdgeDevice
            metadata:
              name: {Device}
              namespace: default
              labels:
                app: agent-it
            spec:
              logCollection:

            """);
        foreach (var t in targets)
        {
            device.Append(CultureInfo.InvariantCulture, $"""
                    {t.Name}:
                      kind: syslog
                      bufferSize: {t.KiB}
                      syslogConfig:
                        name: {t.Name}

                """);
        }

        foreach (var t in targets)
        {
            device.Append(CultureInfo.InvariantCulture, $"""
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: {t.Name}
                  namespace: default
                data:
                  Address: 127.0.0.1:{t.Port}
                  Protocol: {protocol}

                """);
            if (caPem is not null)
            {
                device.Append("  CaSecretName: syslog-ca\n");
            }
        }

        if (caPem is not null)
        {
            device.Append(CultureInfo.InvariantCulture, $"""
                ---
                apiVersion: v1
                kind: Secret
                metadata:
                  name: syslog-ca
                  namespace: default
                data:
                  ca.crt: {Convert.ToBase64String(Encoding.UTF8.GetBytes(caPem))}

                """);
        }

        File.WriteAllText(Path.Combine(dir, "device.yaml"), device.ToString());
        File.WriteAllText(Path.Combine(dir, "workload.yaml"), $"""
            apiVersion: management.project-flotta.io/v1alpha1
            kind: EdgeWorkload
            metadata:
              name: {workload}
              namespace: default
            spec:
              logCollection: {target}
              deviceSelector:
                matchLabels:
                  app: agent-it
              type: pod
              pod:
                spec:
                  hostNetwork: true
                  containers:
                    - name: gen
                      image: {PodmanFixture.Image}
                      command: ["/bin/sh", "-c", '{script}']

            """);
    }

    [GeneratedRegex(@"seq=(\d+)")]
    private static partial Regex SeqPattern();

    [GeneratedRegex(@"^ ?(\d+) log lines for target")]
    private static partial Regex DropCount();

    private sealed class TempDirs : IDisposable
    {
        public TempDirs()
        {
            Run = Guid.NewGuid().ToString("N")[..6];
            Manifests = PeerProcess.CreateTempDirectory("agent-manifests");
            Data = PeerProcess.CreateTempDirectory("agent-data");
        }

        public string Run { get; }

        public string Manifests { get; }

        public string Data { get; }

        public void Dispose()
        {
            Directory.Delete(Manifests, true);
            Directory.Delete(Data, true);
        }
    }
}
