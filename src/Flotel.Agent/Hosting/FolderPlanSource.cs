using Flotel.Model.Manifests;
using Flotel.Wire.Manifests;

namespace Flotel.Agent.Hosting;

/// <summary>
/// Plans from a manifests folder (<c>flotel agent --manifests DIR</c>): read at start, and again on a change in the
/// folder (debounced, <see cref="AgentOptions.ReloadDebounce"/>) or on SIGHUP.
/// </summary>
public sealed class FolderPlanSource : IPlanSource
{
    private readonly AgentOptions _options;
    private readonly CancellationTokenSource _stopping = new();
    private IPlanTarget? _target;
    private FileSystemWatcher? _watcher;
    private Timer? _debounce;
    private int _stopped;

    public FolderPlanSource(AgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    public string Description => "manifests " + _options.ManifestsDirectory;

    public Task<DevicePlan> InitialPlanAsync(CancellationToken cancellationToken)
    {
        var plan = Resolve(out var problems) ?? throw new AgentStartException(
            $"the manifests in {_options.ManifestsDirectory} do not describe a device this agent can run", problems);
        return Task.FromResult(plan);
    }

    public void Start(IPlanTarget target)
    {
        _target = target;
        if (_options.WatchManifests)
        {
            Watch();
        }
    }

    public async Task<bool> ReloadAsync(CancellationToken cancellationToken)
    {
        if (_target is null || Volatile.Read(ref _stopped) != 0)
        {
            return false;
        }

        var plan = Resolve(out var problems);
        if (plan is null)
        {
            _target.PlanRefused(problems);
            return false;
        }

        var result = await _target.ApplyAsync(plan, cancellationToken).ConfigureAwait(false);
        return result.Changed;
    }

    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _watcher?.Dispose();
        if (_debounce is not null)
        {
            await _debounce.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private DevicePlan? Resolve(out List<string> problems)
    {
        if (!Directory.Exists(_options.ManifestsDirectory))
        {
            problems = [$"{_options.ManifestsDirectory}: no such directory"];
            return null;
        }

        var set = ManifestLoader.LoadDirectory(_options.ManifestsDirectory);
        return PlanResolution.Resolve(set, _options.DeviceName, _options.ManifestsDirectory, _options.PlanTransform, out problems);
    }

    private void Watch()
    {
        _debounce = new Timer(_ => _ = ReloadFromWatcherAsync(), null, Timeout.Infinite, Timeout.Infinite);
        _watcher = new FileSystemWatcher(_options.ManifestsDirectory) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.DirectoryName };
        FileSystemEventHandler changed = (_, _) => _debounce?.Change(_options.ReloadDebounce, Timeout.InfiniteTimeSpan);
        _watcher.Changed += changed;
        _watcher.Created += changed;
        _watcher.Deleted += changed;
        _watcher.Renamed += (_, _) => _debounce?.Change(_options.ReloadDebounce, Timeout.InfiniteTimeSpan);
        _watcher.EnableRaisingEvents = true;
    }

    private async Task ReloadFromWatcherAsync()
    {
        try
        {
            await ReloadAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
