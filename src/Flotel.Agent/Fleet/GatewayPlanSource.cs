using System.Security.Cryptography;
using System.Threading.Channels;
using Flotel.Agent.Hosting;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Delivery;
using Flotel.Wire.Manifests;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Fleet;

/// <summary>
/// Plans from the gateway's fleet listener (docs/fleet.md §5): a long poll of <c>GET /fleet/v1/bundle</c> with the
/// digest of the last bundle seen as <c>If-None-Match</c>; each new bundle is resolved with the same code as a manifests
/// folder (<see cref="PlanResolution"/>, device = the certificate's CN) and applied through the host. Only a bundle that
/// resolved and applied becomes the last good one on disk (<see cref="LastGoodBundle"/>); at start that one runs at
/// once, before the gateway answers. Alongside: a status report after every apply and every
/// <see cref="FleetSourceOptions.StatusInterval"/>, and certificate renewal at 2/3 of its lifetime.
/// </summary>
/// <remarks>
/// The gateway being unreachable, answering 5xx or refusing is never fatal: the agent keeps its plan and retries with
/// capped, jittered backoff (<see cref="FleetSourceOptions.RetryInitial"/> doubling to <see cref="FleetSourceOptions.RetryMax"/>),
/// and logs once per change of state, not once per attempt. A device never unenrols itself.
/// </remarks>
public sealed partial class GatewayPlanSource : IPlanSource
{
    /// <summary>Most apply errors a status report carries (the first ones); each is cut to <see cref="MaxErrorChars"/>.</summary>
    public const int MaxApplyErrors = 50;

    /// <summary>Longest apply error in a status report.</summary>
    public const int MaxErrorChars = 1000;

    /// <summary>Longest wait a gateway's <c>Retry-After</c> on a 304 is followed for: its longest held poll (docs/fleet.md §5).</summary>
    public static readonly TimeSpan MaxPollHint = TimeSpan.FromSeconds(300);

    private readonly Uri _gateway;
    private readonly string _gatewayText;
    private readonly DeviceIdentity _identity;
    private readonly FleetFiles _files;
    private readonly FleetSourceOptions _options;
    private readonly Func<DevicePlan, DevicePlan>? _transform;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly FleetClient _client;
    private readonly RetryBackoff _backoff;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<bool> _statusWake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _gate = new();
    private readonly List<Task> _loops = [];

    private IPlanTarget? _target;
    private (BundleState State, string Yaml)? _pending;
    private BundleState? _running;
    private string? _seenDigest;
    private string _applyStatus = "applied";
    private IReadOnlyList<string> _applyErrors = [];
    private string _pollState = string.Empty;
    private string _statusState = string.Empty;
    private int _stopped;

    public GatewayPlanSource(Uri gateway, DeviceIdentity identity, FleetFiles files, FleetSourceOptions options, Func<DevicePlan, DevicePlan>? transform, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(options);
        _gateway = gateway;
        _gatewayText = gateway.ToString();
        _identity = identity;
        _files = files;
        _options = options;
        _transform = transform;
        _time = time;
        _logger = logger;
        _backoff = new RetryBackoff(options.RetryInitial, options.RetryMax, options.Random);
        identity.Gateway = gateway;
        _client = new FleetClient(gateway, identity.FleetListenerHandler, disposeHandler: false, files.InstanceId());
    }

    public string Description => "gateway " + _gateway;

    /// <summary>The generation and digest of the bundle the agent runs (null before the first one).</summary>
    public BundleState? Running
    {
        get
        {
            lock (_gate)
            {
                return _running;
            }
        }
    }

    /// <summary>The latest wait between pull attempts: its attempt number (0 = after the first failure) and length (tests).</summary>
    internal (int Attempt, TimeSpan Wait)? LastRetry { get; private set; }

    /// <summary>The latest wait a gateway asked for with <c>Retry-After</c> on a 304, jitter added (tests).</summary>
    internal TimeSpan? LastPollHint { get; private set; }

    /// <summary>Successful status reports so far (tests).</summary>
    public long StatusReports => Interlocked.Read(ref _statusReports);

    private long _statusReports;

    /// <summary>
    /// The last good bundle when there is one that resolves (offline start); else the first bundle the gateway sends
    /// that resolves, waiting (with backoff) as long as it takes. Status reports and renewal run meanwhile.
    /// </summary>
    public async Task<DevicePlan> InitialPlanAsync(CancellationToken cancellationToken)
    {
        if (_gateway.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
        {
            // .NET's TLS client keeps sessions by server name and an IP literal sends none (RFC 6066 §3): each new
            // connection is a full handshake, which a device over fleet.maxHeldPolls makes for every call (docs/fleet.md §5).
            LogGatewayByAddress(_logger, _gateway.Host);
        }

        _loops.Add(Task.Run(() => StatusLoopAsync(_stop.Token), CancellationToken.None));
        _loops.Add(Task.Run(() => RenewalLoopAsync(_stop.Token), CancellationToken.None));
        var stored = LastGoodBundle.Load(_files, out var problem);
        if (problem.Length > 0)
        {
            LogLastGoodUnusable(_logger, problem);
        }

        if (stored is { } lastGood)
        {
            var plan = Resolve(lastGood.Yaml, lastGood.State.Generation, out var problems);
            if (plan is not null)
            {
                lock (_gate)
                {
                    _running = lastGood.State;
                    _seenDigest = lastGood.State.Digest;
                }

                LogOfflineStart(_logger, lastGood.State.Generation, _files.Bundle);
                return plan;
            }

            LogLastGoodUnusable(_logger, problems.Count > 0 ? problems[0] : "it does not resolve");
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var attempt = 0;
        while (true)
        {
            var reply = await _client.GetBundleAsync(_seenDigest, _options.PollWait, linked.Token).ConfigureAwait(false);
            if (reply.Kind == FleetReplyKind.Ok)
            {
                attempt = 0;
                NotePollState("connected", string.Empty);
                var bundle = reply.Value!;
                var plan = Receive(bundle, out var yaml);
                if (plan is not null)
                {
                    _pending = (new BundleState(bundle.Generation, bundle.Digest!), yaml!);
                    return plan;
                }

                continue;
            }

            if (reply.Kind == FleetReplyKind.NotModified)
            {
                attempt = 0;
                NotePollState("connected", string.Empty);
                await PollLaterAsync(reply.RetryAfter, linked.Token).ConfigureAwait(false);
                continue;
            }

            NoteTrouble(reply.Kind, reply.Message);
            await RetryAsync(attempt++, reply.RetryAfter, linked.Token).ConfigureAwait(false);
        }
    }

    public void Start(IPlanTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        _target = target;
        if (_pending is { } pending)
        {
            _pending = null;
            Applied(pending.State, pending.Yaml);
        }
        else
        {
            // Offline start from the last good bundle: tell the gateway what runs as soon as it can hear it.
            _statusWake.Writer.TryWrite(true);
        }

        _loops.Add(Task.Run(() => PollLoopAsync(_stop.Token), CancellationToken.None));
    }

    /// <summary>SIGHUP: the gateway is the source of truth and is being long-polled; nothing to re-read.</summary>
    public Task<bool> ReloadAsync(CancellationToken cancellationToken) => Task.FromResult(false);

    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _client.Dispose();
        _stop.Dispose();
    }

    /// <summary>The status report of now (docs/fleet.md §5).</summary>
    public StatusReport BuildStatus()
    {
        var target = _target;
        var (workloads, targets, wal) = target is null
            ? ([], [], 0)
            : StatusCollector.Collect(target.Components, target.Metrics);
        lock (_gate)
        {
            return new StatusReport(
                AgentVersion.Full, _running?.Generation ?? 0, _running?.Digest, _applyStatus, _applyErrors, workloads, targets, wal);
        }
    }

    private async Task PollLoopAsync(CancellationToken stop)
    {
        var attempt = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                string? digest;
                lock (_gate)
                {
                    digest = _seenDigest;
                }

                var reply = await _client.GetBundleAsync(digest, _options.PollWait, stop).ConfigureAwait(false);
                switch (reply.Kind)
                {
                    case FleetReplyKind.Ok:
                        attempt = 0;
                        NotePollState("connected", string.Empty);
                        await ApplyAsync(reply.Value!, stop).ConfigureAwait(false);
                        break;
                    case FleetReplyKind.NotModified:
                        attempt = 0;
                        NotePollState("connected", string.Empty);
                        await PollLaterAsync(reply.RetryAfter, stop).ConfigureAwait(false);
                        break;
                    default:
                        NoteTrouble(reply.Kind, reply.Message);
                        await RetryAsync(attempt++, reply.RetryAfter, stop).ConfigureAwait(false);
                        break;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The last good bundle could not be written (full disk): the plan runs; the next bundle tries again.
                LogSaveFailed(_logger, e.Message);
                await RetryAsync(attempt++, null, stop).ConfigureAwait(false);
            }
        }
    }

    private async Task ApplyAsync(BundleAnswer bundle, CancellationToken stop)
    {
        var plan = Receive(bundle, out var yaml);
        if (plan is null)
        {
            return;
        }

        var result = await _target!.ApplyAsync(plan, stop).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            Failed(bundle, result.Errors);
            return;
        }

        Applied(new BundleState(bundle.Generation, bundle.Digest!), yaml!);
    }

    /// <summary>Checks and resolves a received bundle; null (reported as failed) when it cannot run.</summary>
    private DevicePlan? Receive(BundleAnswer bundle, out string? yaml)
    {
        yaml = bundle.Manifests;
        if (string.IsNullOrEmpty(bundle.Digest) || yaml is null)
        {
            Failed(bundle, ["the gateway's bundle has no digest or no manifests"]);
            return null;
        }

        if (!string.Equals(LastGoodBundle.Digest(yaml), bundle.Digest, StringComparison.Ordinal))
        {
            Failed(bundle, [$"the bundle's manifests do not have its digest {bundle.Digest}"]);
            return null;
        }

        foreach (var error in bundle.Errors ?? [])
        {
            LogObjectLeftOut(_logger, bundle.Generation, error.Object ?? "?", error.Message ?? string.Empty);
        }

        var plan = Resolve(yaml, bundle.Generation, out var problems);
        if (plan is null)
        {
            _target?.PlanRefused(problems);
            Failed(bundle, problems);
        }

        return plan;
    }

    private DevicePlan? Resolve(string yaml, long generation, out List<string> problems)
    {
        var set = ManifestLoader.LoadText(yaml, "bundle.yaml");
        return PlanResolution.Resolve(set, _identity.DeviceName, $"gateway bundle generation {generation}", _transform, out problems);
    }

    private void Applied(BundleState state, string yaml)
    {
        LastGoodBundle.Save(_files, state, yaml);
        lock (_gate)
        {
            _running = state;
            _seenDigest = state.Digest;
            _applyStatus = "applied";
            _applyErrors = [];
        }

        LogApplied(_logger, state.Generation, state.Digest);
        _statusWake.Writer.TryWrite(true);
    }

    /// <summary>
    /// The bundle is reported failed and its digest remembered, so the gateway is not asked for the same bundle again
    /// until it changes; the agent keeps running the last good plan.
    /// </summary>
    private void Failed(BundleAnswer bundle, IReadOnlyList<string> errors)
    {
        var kept = errors.Take(MaxApplyErrors).Select(e => e.Length > MaxErrorChars ? e[..MaxErrorChars] : e).ToList();
        lock (_gate)
        {
            _seenDigest = bundle.Digest ?? _seenDigest;
            _applyStatus = "failed";
            _applyErrors = kept;
        }

        LogApplyFailed(_logger, bundle.Generation, errors.Count, kept.Count > 0 ? kept[0] : string.Empty);
        _statusWake.Writer.TryWrite(true);
    }

    private void NoteTrouble(FleetReplyKind kind, string message)
    {
        var state = kind switch
        {
            FleetReplyKind.NotFound => "unknown",
            FleetReplyKind.Refused => "refused",
            _ => "unavailable",
        };
        NotePollState(state, message);
    }

    /// <summary>Logs the pull's state when it changes (never per attempt).</summary>
    private void NotePollState(string state, string message)
    {
        string previous;
        lock (_gate)
        {
            previous = _pollState;
            _pollState = state;
        }

        if (previous == state)
        {
            return;
        }

        switch (state)
        {
            case "connected":
                LogConnected(_logger, _gatewayText);
                break;
            case "unknown":
                LogUnknownDevice(_logger, _identity.DeviceName);
                break;
            default:
                LogUnreachable(_logger, _gatewayText, message);
                break;
        }
    }

    private async Task StatusLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using (var wake = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    var delay = Delay(_options.StatusInterval, wake.Token);
                    var signal = _statusWake.Reader.WaitToReadAsync(wake.Token).AsTask();
                    await Task.WhenAny(delay, signal).ConfigureAwait(false);
                    await wake.CancelAsync().ConfigureAwait(false);
                    stop.ThrowIfCancellationRequested();
                    _statusWake.Reader.TryRead(out _);
                }

                var reply = await _client.PostStatusAsync(BuildStatus(), stop).ConfigureAwait(false);
                var state = reply.Kind == FleetReplyKind.Ok ? "sent" : "failed";
                if (reply.Kind == FleetReplyKind.Ok)
                {
                    Interlocked.Increment(ref _statusReports);
                }

                if (state != _statusState)
                {
                    _statusState = state;
                    if (reply.Kind != FleetReplyKind.Ok)
                    {
                        LogStatusFailed(_logger, reply.Message);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task RenewalLoopAsync(CancellationToken stop)
    {
        var attempt = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var wait = _identity.RenewAt() - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    // Task.Delay takes at most ~49 days; a year-long certificate is waited for a day at a time.
                    await Delay(wait < TimeSpan.FromDays(1) ? wait : TimeSpan.FromDays(1), stop).ConfigureAwait(false);
                    continue;
                }

                if (await RenewOnceAsync(stop).ConfigureAwait(false))
                {
                    attempt = 0;
                    continue;
                }

                await Delay(_backoff.Next(attempt++), stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>
    /// One renewal (docs/fleet.md §5): a new key written as the candidate (0600), a CSR, <c>POST /fleet/v1/renew</c> with
    /// the current certificate, the new certificate written as the candidate, then both committed and used.
    /// </summary>
    private async Task<bool> RenewOnceAsync(CancellationToken stop)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var keyPem = key.ExportPkcs8PrivateKeyPem() + "\n";
        try
        {
            _files.WriteAtomically(_files.CandidateKey, keyPem, secret: true);
            var reply = await _client.RenewAsync(FleetEnrolment.CreateCsr(key), stop).ConfigureAwait(false);
            if (reply.Kind != FleetReplyKind.Ok || string.IsNullOrWhiteSpace(reply.Value!.Certificate))
            {
                LogRenewFailed(_logger, reply.Kind == FleetReplyKind.Ok ? "the answer holds no certificate" : reply.Message);
                return false;
            }

            var renewed = DeviceIdentity.LoadPair(reply.Value.Certificate, keyPem);
            if (DeviceIdentity.NameOf(renewed) != _identity.DeviceName || !_identity.Ca.IsClientTrusted(renewed, null))
            {
                renewed.Dispose();
                LogRenewFailed(_logger, "the renewed certificate is not this device's or not from the fleet CA");
                return false;
            }

            _files.WriteAtomically(_files.CandidateCertificate, reply.Value.Certificate.TrimEnd() + "\n", secret: false);
            _files.CommitCandidate();
            _identity.Replace(renewed);
            LogRenewed(_logger, renewed.NotAfter);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            LogRenewFailed(_logger, e.Message);
            return false;
        }
    }

    private Task Delay(TimeSpan wait, CancellationToken cancellationToken) => Task.Delay(wait, _time, cancellationToken);

    /// <summary>
    /// After a 304 with <c>Retry-After</c> (a gateway over <c>fleet.maxHeldPolls</c>, docs/fleet.md §5): waits that long
    /// plus up to 10 % before the next poll, at most <see cref="MaxPollHint"/>. Without the header (a held poll that
    /// timed out, an older gateway) the next poll goes at once, as before.
    /// </summary>
    private async Task PollLaterAsync(TimeSpan? retryAfter, CancellationToken cancellationToken)
    {
        if (retryAfter is not { } hint || hint <= TimeSpan.Zero)
        {
            return;
        }

        var bounded = hint < MaxPollHint ? hint : MaxPollHint;
        var wait = bounded + (bounded * ((_options.Random ?? Random.Shared).NextDouble() * 0.1));
        var delay = Delay(wait, cancellationToken);
        lock (_gate)
        {
            // Recorded once the timer exists, as LastRetry is.
            LastPollHint = wait;
        }

        await delay.ConfigureAwait(false);
    }

    /// <summary>The wait before pull attempt <paramref name="attempt"/> + 1 (capped, jittered; <c>Retry-After</c> honoured).</summary>
    private async Task RetryAsync(int attempt, TimeSpan? retryAfter, CancellationToken cancellationToken)
    {
        var wait = _backoff.Next(attempt, retryAfter);
        var delay = Delay(wait, cancellationToken);
        lock (_gate)
        {
            // Recorded once the timer exists, so a test advancing its clock after seeing it always wakes the wait.
            LastRetry = (attempt, wait);
        }

        await delay.ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The gateway is named by its address {Address}: TLS sessions are not resumed, every " +
        "new connection to it is a full handshake; name it by a DNS name its certificate carries (fleet.serverNames) to resume them")]
    private static partial void LogGatewayByAddress(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Running the last good bundle, generation {Generation}, from {File} until the gateway answers")]
    private static partial void LogOfflineStart(ILogger logger, long generation, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The stored last good bundle cannot be used: {Reason}")]
    private static partial void LogLastGoodUnusable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied bundle generation {Generation} ({Digest})")]
    private static partial void LogApplied(ILogger logger, long generation, string digest);

    [LoggerMessage(Level = LogLevel.Error, Message = "Bundle generation {Generation} cannot run ({Count} errors); keeping the last good one. First: {First}")]
    private static partial void LogApplyFailed(ILogger logger, long generation, int count, string first);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bundle generation {Generation}: the gateway left out {Object}: {Message}")]
    private static partial void LogObjectLeftOut(ILogger logger, long generation, string @object, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to the fleet gateway {Gateway}")]
    private static partial void LogConnected(ILogger logger, string gateway);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The fleet gateway {Gateway} cannot be used: {Reason}; running the last good bundle and retrying")]
    private static partial void LogUnreachable(ILogger logger, string gateway, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The fleet gateway does not know device {Device} (its EdgeDevice was deleted?); running the last good bundle and retrying")]
    private static partial void LogUnknownDevice(ILogger logger, string device);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Status reports to the fleet gateway fail: {Reason}")]
    private static partial void LogStatusFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The last good bundle could not be written: {Reason}")]
    private static partial void LogSaveFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device certificate renewed; valid until {NotAfter:O}")]
    private static partial void LogRenewed(ILogger logger, DateTime notAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device certificate renewal failed: {Reason}; retrying")]
    private static partial void LogRenewFailed(ILogger logger, string reason);
}
