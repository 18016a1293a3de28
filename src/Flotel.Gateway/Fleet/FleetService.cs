using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotel.Gateway.Configuration;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Fleet;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// The fleet control plane behind the routes (docs/fleet.md): applies and deletes objects and re-renders the bundles,
/// issues tokens and certificates, answers bundle long-polls and keeps each device's last-seen time and status in
/// memory, persisting them in batches. Long-polls cost no thread: each waits on its device's one change signal. An apply
/// with a canary size is a staged rollout (<c>FleetService.Rollout.cs</c>, docs/fleet.md §3.1).
/// </summary>
public sealed partial class FleetService : IAsyncDisposable, IDeviceCertificates
{
    /// <summary>Most objects stored (EdgeDevices included): rendering reads them all on every change, so they are bounded.</summary>
    public const int MaxObjects = 50_000;

    /// <summary>Longest long-poll a device may ask for (docs/fleet.md §5), and the default.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(300);
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);

    /// <summary>Longest token lifetime <c>POST /api/fleet/tokens</c> accepts.</summary>
    public static readonly TimeSpan MaxTokenTtl = TimeSpan.FromDays(30);

    /// <summary>How long canaries have to report a rollout's generation applied unless the apply says otherwise (docs/fleet.md §3.1).</summary>
    public static readonly TimeSpan DefaultCanaryTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Longest canary timeout accepted.</summary>
    public static readonly TimeSpan MaxCanaryTimeout = TimeSpan.FromHours(24);

    /// <summary>How often last-seen times and status reports are written to the store.</summary>
    private static readonly TimeSpan PersistEvery = TimeSpan.FromSeconds(5);

    private readonly FleetStore _store;
    private readonly FleetCertificateAuthority _ca;
    private readonly FleetOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _renderLock = new();
    private readonly ConcurrentDictionary<string, FleetDeviceState> _devices = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _revoked = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly FleetCounters _counters;
    private IReadOnlyList<WorkloadSummary> _workloads = [];
    private volatile FleetRollout? _rollout;
    private Task _persistLoop = Task.CompletedTask;
    private long _waiting;
    private int _stopped;
    private volatile bool _releasing;

    private FleetService(FleetStore store, FleetCertificateAuthority ca, FleetOptions options, MetricsRegistry metrics, TimeProvider time, ILogger logger)
    {
        _store = store;
        _ca = ca;
        _options = options;
        _time = time;
        _logger = logger;
        _counters = new FleetCounters(metrics);
        metrics.Gauge("flotel_fleet_devices", "EdgeDevices known to the fleet control plane.", () => _devices.Count);
        metrics.Gauge("flotel_fleet_devices_online", "Devices heard from within fleet.offlineAfterSeconds.", () => CountOnline());
        metrics.Gauge(
            "flotel_fleet_longpolls_waiting", "Bundle long-polls being held open (at most fleet.maxHeldPolls).", () => Interlocked.Read(ref _waiting));
    }

    /// <inheritdoc />
    public event Action<string>? DeviceRevoked;

    /// <summary>The fleet CA (its PEM for <c>/fleet/v1/ca</c>, verification of device certificates).</summary>
    public FleetCertificateAuthority Authority => _ca;

    /// <summary>Opens the store in <c>DATA/fleet</c>, loads or creates the CA, loads the devices and renders once.</summary>
    public static FleetService Start(string dataDirectory, FleetOptions options, MetricsRegistry metrics, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var directory = Path.Combine(dataDirectory, "fleet");
        var store = FleetStore.Open(directory);
        FleetCertificateAuthority ca;
        try
        {
            ca = FleetCertificateAuthority.LoadOrCreate(directory, options.CaCertificateFile, options.CaKeyFile, time);
        }
        catch
        {
            store.Dispose();
            throw;
        }

        var service = new FleetService(store, ca, options, metrics, time, logger);
        service.Load();
        service._persistLoop = service.PersistLoopAsync();
        return service;
    }

    /// <summary>Stores the objects of one apply (all or nothing) and re-renders for every device; results in request order.</summary>
    public IReadOnlyList<FleetApplyResult> Apply(IReadOnlyList<FleetObject> objects) => Apply(objects, null, DefaultCanaryTimeout);

    /// <summary>
    /// Stores the objects of one apply (all or nothing). Without <paramref name="canary"/> every device gets the change
    /// at once (and a rollout in progress or halted is superseded); with it, a staged rollout starts (docs/fleet.md §3.1).
    /// Results in request order.
    /// </summary>
    public IReadOnlyList<FleetApplyResult> Apply(IReadOnlyList<FleetObject> objects, CanarySize? canary, TimeSpan canaryTimeout)
    {
        ArgumentNullException.ThrowIfNull(objects);
        if (canaryTimeout <= TimeSpan.Zero || canaryTimeout > MaxCanaryTimeout)
        {
            throw new FleetRequestException("the canary timeout must be between 1 second and 24 hours");
        }

        lock (_renderLock)
        {
            var before = _store.ListObjects().ToDictionary(o => o.Key, StringComparer.Ordinal);
            var added = objects.Count(o => !before.ContainsKey(o.Key));
            if (before.Count + added > MaxObjects)
            {
                throw new FleetRequestException(string.Create(CultureInfo.InvariantCulture,
                    $"the fleet would hold {before.Count + added} objects; at most {MaxObjects} are kept"));
            }

            // The objects and the rollout row they bring about are one transaction: a crash between two writes would lose
            // the rollout and send the change to every device it holds back (or keep holding devices a later apply
            // without a canary released). The rollout is decided inside it, from the objects as stored, and the
            // in-memory state follows only once that committed.
            var now = _time.GetUtcNow();
            List<FleetObject> changed = [];
            FleetRendering? rendering = null;
            FleetRollout? started = null;
            string? ending = null;
            var results = _store.ApplyObjects(objects, (stored, storedResults) =>
            {
                changed = objects.Where((_, i) => storedResults[i] != FleetApplyResult.Unchanged).ToList();
                if (changed.Count == 0)
                {
                    return null;
                }

                rendering = FleetRenderer.Render(stored);
                if (canary is not { } size)
                {
                    ending = "a later apply without a canary reached every device";
                    return EndedJson(FleetRollout.RolloutState.Superseded, ending, now);
                }

                started = PlanRolloutLocked(size, canaryTimeout, before, changed, rendering, now);
                if (started is null)
                {
                    ending = "a later apply left no device to roll out to";
                    return EndedJson(FleetRollout.RolloutState.Superseded, ending, now);
                }

                // Only the latest rollout is kept: the new row replaces the one it supersedes.
                ending = string.Create(CultureInfo.InvariantCulture, $"rollout {started.Id} replaced it");
                return started.ToJson();
            });
            if (changed.Count > 0)
            {
                EndRolloutLocked(FleetRollout.RolloutState.Superseded, ending!, now, save: false);
                if (started is not null)
                {
                    _rollout = started;
                    var names = string.Join(", ", started.Canaries.Keys);
                    LogRolloutStarted(_logger, started.Id, started.Canaries.Count, names, started.Held.Count);
                }

                RenderLocked(rendering);
            }

            return results;
        }
    }

    /// <summary>Deletes one object and re-renders; deleting an EdgeDevice revokes its certificates (docs/fleet.md §3). False when absent.</summary>
    public bool Delete(string kind, string name)
    {
        lock (_renderLock)
        {
            if (!_store.DeleteObject(kind, name))
            {
                return false;
            }

            if (kind == FleetRenderer.DeviceKind)
            {
                var serials = _store.RevokeDevice(name);
                foreach (var serial in serials)
                {
                    _revoked[serial] = 0;
                }

                LogDeviceDeleted(_logger, name, serials.Count);
            }

            RenderLocked();
        }

        if (kind == FleetRenderer.DeviceKind)
        {
            // After the serials are in the revoked set: a connection the listeners close cannot come back.
            DeviceRevoked?.Invoke(name);
        }

        return true;
    }

    /// <summary>A new single-use enrolment token for <paramref name="device"/> (docs/fleet.md §4).</summary>
    public (string Token, DateTimeOffset Expires) CreateToken(string device, TimeSpan ttl)
    {
        if (!DeviceNames.IsValid(device))
        {
            throw new FleetRequestException($"`device` '{device}' is not a device name (lower-case letters, digits, '-' and '.')");
        }

        if (ttl <= TimeSpan.Zero || ttl > MaxTokenTtl)
        {
            throw new FleetRequestException("`ttlSeconds` must be between 1 and 2592000 (30 days)");
        }

        var now = _time.GetUtcNow();
        var expires = now + ttl;
        _store.DeleteExpiredTokens(now - TimeSpan.FromDays(1));
        var (text, stored) = EnrolmentToken.Create(device, expires, _ca.Sha256Hex);
        _store.AddToken(stored);
        return (text, expires);
    }

    /// <summary>
    /// Enrolment (docs/fleet.md §4): the token is checked and used, and the CSR signed, in one transaction. Returns the
    /// certificate PEM, or the reason the token was refused (<c>token expired|token already used|unknown token</c>).
    /// Throws <see cref="FleetRequestException"/> for a bad CSR (the token stays unused).
    /// </summary>
    public (string? Certificate, string? Refusal) Enroll(string? tokenText, string? csrPem)
    {
        var token = EnrolmentToken.TryParse(tokenText);
        if (token is null)
        {
            _counters.Enrolment("unknown_token").Increment();
            return (null, "unknown token");
        }

        FleetCertificate? issued = null;
        (FleetTokenCheck check, string? pem) = (FleetTokenCheck.Unknown, null);
        try
        {
            (check, pem) = _store.Enroll(token.Id, token.SecretSha256(), _time.GetUtcNow(), device =>
            {
                var (certificate, record) = _ca.SignDeviceCsr(csrPem ?? string.Empty, device, TimeSpan.FromDays(_options.CertificateDays), _time);
                issued = record;
                return (certificate, record);
            });
        }
        catch (FleetRequestException)
        {
            _counters.Enrolment("bad_csr").Increment();
            throw;
        }

        switch (check)
        {
            case FleetTokenCheck.Accepted:
                _counters.Enrolment("accepted").Increment();
                if (_devices.TryGetValue(issued!.Device, out var state))
                {
                    lock (state.Gate)
                    {
                        state.CertificateExpires = issued.NotAfter;
                    }
                }

                LogEnrolled(_logger, issued.Device, issued.Serial, issued.NotAfter);
                return (pem, null);
            case FleetTokenCheck.Expired:
                _counters.Enrolment("expired_token").Increment();
                return (null, "token expired");
            case FleetTokenCheck.AlreadyUsed:
                _counters.Enrolment("used_token").Increment();
                return (null, "token already used");
            default:
                _counters.Enrolment("unknown_token").Increment();
                return (null, "unknown token");
        }
    }

    /// <summary>
    /// Who presents <paramref name="identity"/>'s certificate, after revocation and expiry (expired certificates only
    /// when <paramref name="renewing"/> and within <c>fleet.renewGraceDays</c>); null with a reason when refused.
    /// Counts as contact (last seen).
    /// </summary>
    public string? Admit(DeviceIdentity identity, bool renewing)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (_revoked.ContainsKey(identity.Serial))
        {
            _counters.RevokedFleetRequests.Increment();
            return "certificate revoked";
        }

        var now = _time.GetUtcNow();
        if (identity.Expired && (!renewing || now > identity.NotAfter + TimeSpan.FromDays(_options.RenewGraceDays)))
        {
            return "certificate expired";
        }

        Touch(identity.Device, now);
        return null;
    }

    /// <inheritdoc />
    public DeviceIdentity? CheckClientCertificate(X509Certificate2 certificate, out string? refusal)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var now = _time.GetUtcNow();
        refusal = null;
        if (_ca.Verify(certificate, now, out _) is not { } identity)
        {
            return null;
        }

        if (_revoked.ContainsKey(identity.Serial))
        {
            _counters.RevokedSyslogHandshakes.Increment();
            refusal = "certificate revoked";
            return null;
        }

        if (identity.Expired)
        {
            refusal = "certificate expired";
            return null;
        }

        Touch(identity.Device, now);
        return identity;
    }

    /// <inheritdoc />
    public bool IsRevoked(DeviceIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return _revoked.ContainsKey(identity.Serial);
    }

    /// <inheritdoc />
    public void CountIdentified(IdentifiedKind kind, long count) =>
        (kind == IdentifiedKind.Logs ? _counters.IdentifiedLogs : _counters.IdentifiedSamples).Add(count);

    /// <inheritdoc />
    public void CountRevokedClosed(long count) => _counters.RevokedClosed.Add(count);

    /// <summary>A new certificate for the device of <paramref name="identity"/> (docs/fleet.md §5 renew).</summary>
    public string Renew(DeviceIdentity identity, string? csrPem)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var (pem, record) = _ca.SignDeviceCsr(csrPem ?? string.Empty, identity.Device, TimeSpan.FromDays(_options.CertificateDays), _time);
        _store.AddCertificate(record);
        if (_devices.TryGetValue(identity.Device, out var state))
        {
            lock (state.Gate)
            {
                state.CertificateExpires = record.NotAfter;
            }
        }

        if (identity.Expired)
        {
            LogRenewedExpired(_logger, identity.Device, identity.Serial, identity.NotAfter);
        }

        return pem;
    }

    /// <summary>
    /// The device's bundle when its digest differs from <paramref name="ifNoneMatch"/>, else waits up to
    /// <paramref name="wait"/> for a change (no thread held) and answers "not modified"; null when the device is unknown
    /// or was deleted meanwhile. A poll that would wait while <c>fleet.maxHeldPolls</c> are held answers "not modified"
    /// at once with <c>Deferred</c> set: the device is told to ask again after <see cref="PollRetryAfter"/> (docs/fleet.md §5).
    /// </summary>
    public async Task<(bool Known, long Generation, RenderedBundle? Bundle, bool Deferred)> GetBundleAsync(
        string device, string? ifNoneMatch, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (!_devices.TryGetValue(device, out var state))
        {
            _counters.Bundle("unknown_device").Increment();
            return (false, 0, null, false);
        }

        var deadline = _time.GetUtcNow() + wait;
        var holding = false;
        try
        {
            while (true)
            {
                var changed = state.Changed;
                var current = state.Current;
                if (state.Removed)
                {
                    _counters.Bundle("unknown_device").Increment();
                    return (false, 0, null, false);
                }

                if (!string.Equals(current.Bundle.Digest, ifNoneMatch, StringComparison.Ordinal))
                {
                    _counters.Bundle("changed").Increment();
                    return (true, current.Generation, current.Bundle, false);
                }

                var remaining = deadline - _time.GetUtcNow();
                if (remaining <= TimeSpan.Zero || _releasing)
                {
                    _counters.Bundle("not_modified").Increment();
                    return (true, current.Generation, null, false);
                }

                if (!holding)
                {
                    // One slot per request, kept across wake-ups that changed nothing for this device (a render of other
                    // devices, errors replaced), so a held poll is never turned away half-way through its wait.
                    if (Interlocked.Increment(ref _waiting) > _options.MaxHeldPolls)
                    {
                        Interlocked.Decrement(ref _waiting);
                        state.PollsByInterval = true;
                        _counters.Bundle("not_modified").Increment();
                        _counters.DeferredPolls.Increment();
                        return (true, current.Generation, null, true);
                    }

                    holding = true;
                    state.PollsByInterval = false;
                }

                // Neither the timeout (every held poll ends with it when nothing changes) nor the device going away is
                // thrown here: the loop answers 304 after the deadline (or 200 if a change raced the timer).
                await changed.WaitAsync(remaining, _time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            if (holding)
            {
                Interlocked.Decrement(ref _waiting);
            }
        }
    }

    /// <summary>
    /// True while the device's latest long poll was turned away by <c>fleet.maxHeldPolls</c>: it polls at
    /// <c>fleet.pollIntervalSeconds</c>, so its other requests (status, remote write) close their connection once idle
    /// too, and the device holds no connection between its calls.
    /// </summary>
    public bool PollsByInterval(string device) => _devices.TryGetValue(device, out var state) && state.PollsByInterval;

    /// <summary>
    /// The <c>Retry-After</c> of a deferred poll: <c>fleet.pollIntervalSeconds</c> ± 10 %, so devices turned away together
    /// (after a gateway restart) come back spread out; whole seconds, at least 1 (RFC 9110 §10.2.3).
    /// </summary>
    public int PollRetryAfter()
    {
        var interval = _options.PollIntervalSeconds;
        return Math.Max(1, (int)Math.Round(interval * (0.9 + (Random.Shared.NextDouble() * 0.2))));
    }

    /// <summary>The long-poll a device asked for (<c>wait</c> seconds, default 60, at most 300) plus up to 10 % jitter, so a fleet's polls spread out.</summary>
    public static TimeSpan WaitFor(double? seconds)
    {
        var wait = seconds is { } s && double.IsFinite(s) && s >= 0 ? TimeSpan.FromSeconds(Math.Min(s, MaxWait.TotalSeconds)) : DefaultWait;
        return wait + (wait * (Random.Shared.NextDouble() * 0.1));
    }

    /// <summary>
    /// Keeps a status report (docs/fleet.md §5) as the device's latest, flags two agents using one identity (two instance
    /// ids within the offline window, §6). Throws <see cref="FleetRequestException"/> for a body that is not a status.
    /// </summary>
    public void ReportStatus(string device, string? instanceId, JsonObject report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var status = FleetStatus.Normalize(report);
        if (instanceId is { Length: > 128 })
        {
            throw new FleetRequestException("X-Flotel-Instance is longer than 128 characters");
        }

        if (!_devices.TryGetValue(device, out var state))
        {
            return;
        }

        var now = _time.GetUtcNow();
        var window = TimeSpan.FromSeconds(_options.OfflineAfterSeconds);
        var duplicate = false;
        lock (state.Gate)
        {
            if (instanceId is not null)
            {
                if (state.InstanceId is { } previous && previous != instanceId && state.InstanceSeenAt is { } seen && now - seen < window)
                {
                    duplicate = state.DuplicateSince is null;
                    state.DuplicateSince = now;
                }
                else if (state.DuplicateSince is { } since && now - since >= window)
                {
                    state.DuplicateSince = null;
                }

                state.InstanceId = instanceId;
                state.InstanceSeenAt = now;
            }

            state.Status = status;
            state.LastSeen = now;
            state.Dirty = true;
        }

        if (duplicate)
        {
            LogDuplicateIdentity(_logger, device);
        }

        if (_rollout is { State: FleetRollout.RolloutState.Progressing } rollout && rollout.Canaries.ContainsKey(device))
        {
            lock (_renderLock)
            {
                CanaryReportedLocked(device, status, now);
            }
        }
    }

    /// <summary>Every device as <c>GET /api/fleet/devices</c> shows it (docs/fleet.md §7).</summary>
    public JsonArray DescribeDevices()
    {
        var now = _time.GetUtcNow();
        var list = new JsonArray();
        foreach (var state in _devices.Values.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            var current = state.Current;
            lock (state.Gate)
            {
                list.Add(FleetStatus.Describe(state, current, now, TimeSpan.FromSeconds(_options.OfflineAfterSeconds)));
            }
        }

        return list;
    }

    /// <summary>Every workload as <c>GET /api/fleet/workloads</c> shows it.</summary>
    public JsonArray DescribeWorkloads()
    {
        var list = new JsonArray();
        foreach (var w in Volatile.Read(ref _workloads))
        {
            list.Add(new JsonObject
            {
                ["name"] = w.Name,
                ["devices"] = new JsonArray([.. w.Devices.Select(d => (JsonNode?)d)]),
                ["errors"] = new JsonArray([.. w.Errors.Select(e => (JsonNode?)e)]),
            });
        }

        return list;
    }

    /// <summary>Answers every held long-poll now (304) and every later one at once: the listener is about to stop.</summary>
    public void ReleaseWaiters()
    {
        _releasing = true;
        foreach (var state in _devices.Values)
        {
            state.Wake();
        }
    }

    /// <summary>Stops the persistence loop after a last batch. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _persistLoop.ConfigureAwait(false);
        Persist();
        _store.Dispose();
        _ca.Dispose();
        _stopping.Dispose();
    }

    private void Load()
    {
        foreach (var serial in _store.RevokedSerials())
        {
            _revoked[serial] = 0;
        }

        foreach (var d in _store.ListDevices())
        {
            var state = new FleetDeviceState(d.Name, d.Generation, new RenderedBundle(d.Bundle, d.Digest, []))
            {
                LastSeen = d.LastSeen,
                InstanceId = d.InstanceId,
                CertificateExpires = _store.CertificatesOf(d.Name).FirstOrDefault(c => !c.Revoked)?.NotAfter,
            };
            if (d.StatusJson is { } json && JsonNode.Parse(json) is JsonObject status)
            {
                state.Status = status;
            }

            _devices[d.Name] = state;
        }

        if (_store.LoadRollout() is { } rollout)
        {
            try
            {
                _rollout = FleetRollout.Parse(rollout);
            }
            catch (FormatException e)
            {
                // Only the gateway writes this row; if it cannot be read, held devices get the current objects.
                LogRolloutUnreadable(_logger, e.Message);
            }
        }

        lock (_renderLock)
        {
            RenderLocked();
        }
    }

    /// <summary>
    /// Renders every device; only a device whose bytes changed gets a new generation and wakes its long-polls. A device
    /// a rollout holds keeps the bundle it has and is not woken (docs/fleet.md §3.1).
    /// </summary>
    private void RenderLocked(FleetRendering? rendered = null)
    {
        var rendering = rendered ?? FleetRenderer.Render(_store.ListObjects());
        var held = _rollout is { Active: true } rollout ? rollout.Held : null;
        foreach (var (name, bundle) in rendering.Devices)
        {
            if (_devices.TryGetValue(name, out var state))
            {
                var current = state.Current;
                if (current.Bundle.Digest == bundle.Digest)
                {
                    state.ReplaceErrors(bundle);
                    continue;
                }

                if (held is not null && held.Contains(name))
                {
                    continue;
                }

                _store.SaveBundle(name, current.Generation + 1, bundle.Digest, bundle.Yaml);
                state.Publish(current.Generation + 1, bundle);
            }
            else
            {
                _store.SaveBundle(name, 1, bundle.Digest, bundle.Yaml);
                var created = new FleetDeviceState(name, 1, bundle)
                {
                    CertificateExpires = _store.CertificatesOf(name).FirstOrDefault(c => !c.Revoked)?.NotAfter,
                };
                _devices[name] = created;
            }
        }

        foreach (var name in _devices.Keys.Where(n => !rendering.Devices.ContainsKey(n)).ToList())
        {
            if (_devices.TryRemove(name, out var removed))
            {
                removed.Remove();
                _store.DeleteDevice(name);
            }
        }

        Volatile.Write(ref _workloads, rendering.Workloads);
    }

    private void Touch(string device, DateTimeOffset now)
    {
        if (_devices.TryGetValue(device, out var state))
        {
            lock (state.Gate)
            {
                state.LastSeen = now;
                state.Dirty = true;
            }
        }
    }

    private int CountOnline()
    {
        var now = _time.GetUtcNow();
        var window = TimeSpan.FromSeconds(_options.OfflineAfterSeconds);
        var online = 0;
        foreach (var state in _devices.Values)
        {
            lock (state.Gate)
            {
                if (state.LastSeen is { } seen && now - seen < window)
                {
                    online++;
                }
            }
        }

        return online;
    }

    private async Task PersistLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(PersistEvery, _time, _stopping.Token).ConfigureAwait(false);
                Persist();
                if (_rollout is { State: FleetRollout.RolloutState.Progressing })
                {
                    lock (_renderLock)
                    {
                        CheckCanaryTimeoutLocked(_time.GetUtcNow());
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                // Storage trouble: the in-memory state is still served; the next round tries again.
                LogPersistFailed(_logger, e.Message);
            }
        }
    }

    private void Persist()
    {
        var batch = new List<FleetSeen>();
        foreach (var state in _devices.Values)
        {
            lock (state.Gate)
            {
                if (state.Dirty && state.LastSeen is { } seen)
                {
                    state.Dirty = false;
                    batch.Add(new FleetSeen(state.Name, seen, state.StatusJson, state.InstanceId));
                }
            }
        }

        if (batch.Count > 0)
        {
            _store.SaveSeen(batch);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {Device} enrolled: certificate {Serial} valid until {NotAfter:O}")]
    private static partial void LogEnrolled(ILogger logger, string device, string serial, DateTimeOffset notAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {Device} renewed with certificate {Serial}, which expired at {NotAfter:O} (within fleet.renewGraceDays)")]
    private static partial void LogRenewedExpired(ILogger logger, string device, string serial, DateTimeOffset notAfter);

    [LoggerMessage(Level = LogLevel.Information, Message = "EdgeDevice {Device} deleted: {Count} certificates revoked")]
    private static partial void LogDeviceDeleted(ILogger logger, string device, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {Device}: status reports from two agent instances within the offline window; two agents share one identity")]
    private static partial void LogDuplicateIdentity(ILogger logger, string device);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fleet: cannot persist last-seen times and status reports (kept in memory, retried): {Reason}")]
    private static partial void LogPersistFailed(ILogger logger, string reason);
}
