using System.Globalization;
using System.Text.Json.Nodes;
using Flotel.Store.Fleet;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// Staged rollout (docs/fleet.md §3.1): an apply with a canary size sends the change to a few of the affected devices;
/// the others keep being served the bundle they had (not woken) until every canary reports the new generation applied.
/// A canary's apply failure, or its silence past the timeout, halts the rollout; promote and abort end it by hand.
/// Everything here runs under the render lock.
/// </summary>
public sealed partial class FleetService
{
    /// <summary>Most apply errors kept per canary (the agent sends at most 50).</summary>
    private const int MaxCanaryErrors = 50;

    /// <summary>The latest rollout as <c>GET /api/fleet/rollout</c> shows it; <c>{"state": "none"}</c> before the first one.</summary>
    public JsonObject DescribeRollout()
    {
        lock (_renderLock)
        {
            CheckCanaryTimeoutLocked(_time.GetUtcNow());
            return _rollout?.Describe() ?? new JsonObject { ["state"] = "none" };
        }
    }

    /// <summary>Sends the change of a progressing or halted rollout to every held device now; null when no rollout is either.</summary>
    public JsonObject? PromoteRollout()
    {
        lock (_renderLock)
        {
            if (_rollout is not { Active: true } rollout)
            {
                return null;
            }

            EndRolloutLocked(FleetRollout.RolloutState.Promoted, "promoted: every held device got the change");
            RenderLocked();
            return rollout.Describe();
        }
    }

    /// <summary>
    /// Puts back every object a progressing or halted rollout changed (the ones it created are deleted, without revoking
    /// certificates): the canaries get their previous plan again under a new generation, held devices stay as they are.
    /// Null when no rollout is either.
    /// </summary>
    public JsonObject? AbortRollout()
    {
        lock (_renderLock)
        {
            if (_rollout is not { Active: true } rollout)
            {
                return null;
            }

            var now = _time.GetUtcNow();
            var restore = rollout.Previous
                .Where(p => p.Yaml is not null)
                .Select(p => new FleetObject(p.Kind, p.Name, p.Yaml!, p.Source ?? "rollout", now))
                .ToList();
            if (restore.Count > 0)
            {
                _store.ApplyObjects(restore);
            }

            foreach (var created in rollout.Previous.Where(p => p.Yaml is null))
            {
                _store.DeleteObject(created.Kind, created.Name);
            }

            EndRolloutLocked(FleetRollout.RolloutState.Aborted, "aborted: the objects it changed were put back");
            RenderLocked();
            return rollout.Describe();
        }
    }

    /// <summary>
    /// The staged rollout an apply with a canary size starts (docs/fleet.md §3.1), decided from the objects as they are
    /// stored after it (<paramref name="rendering"/>) without changing anything: null when the apply changes no device
    /// that already has a bundle. The caller stores it with the objects, then makes it current and renders.
    /// </summary>
    private FleetRollout? PlanRolloutLocked(
        CanarySize size, TimeSpan timeout, Dictionary<string, FleetObject> before, List<FleetObject> changed, FleetRendering rendering, DateTimeOffset now)
    {
        var superseded = _rollout is { Active: true } active ? active : null;

        // A rollout that replaces an unfinished one keeps what that one would have put back, so abort returns to the
        // objects of the last rollout that finished.
        var previous = new Dictionary<string, FleetRollout.PreviousObject>(StringComparer.Ordinal);
        var objects = new List<string>();
        foreach (var p in superseded?.Previous ?? [])
        {
            previous[p.Key] = p;
        }

        objects.AddRange(superseded?.Objects ?? []);
        foreach (var o in changed)
        {
            if (!previous.ContainsKey(o.Key))
            {
                previous[o.Key] = before.TryGetValue(o.Key, out var b)
                    ? new FleetRollout.PreviousObject(b.Kind, b.Name, b.Yaml, b.Source)
                    : new FleetRollout.PreviousObject(o.Kind, o.Name, null, null);
            }

            if (!objects.Contains(o.Key, StringComparer.Ordinal))
            {
                objects.Add(o.Key);
            }
        }

        // Affected: devices that have a bundle and would be served different bytes. A new device has no plan to keep,
        // so it gets its first bundle at once and is neither canary nor held.
        var affected = rendering.Devices
            .Where(d => _devices.TryGetValue(d.Key, out var state) && state.Current.Bundle.Digest != d.Value.Digest)
            .Select(d => d.Key).ToList();
        if (affected.Count == 0)
        {
            return null;
        }

        var canaries = new Dictionary<string, FleetRollout.Canary>(StringComparer.Ordinal);
        foreach (var name in FleetRollout.ChooseCanaries(affected, size))
        {
            var state = _devices[name];
            string? baseline;
            lock (state.Gate)
            {
                baseline = state.Status?["applyStatus"]?.GetValue<string>() == "failed" ? state.Status["applyErrors"]?.ToJsonString() : null;
            }

            // RenderLocked gives each changed device exactly the next generation.
            canaries[name] = new FleetRollout.Canary(name, state.Current.Generation + 1, rendering.Devices[name].Digest, baseline);
        }

        var held = affected.Where(a => !canaries.ContainsKey(a)).ToHashSet(StringComparer.Ordinal);
        return new FleetRollout((_rollout?.Id ?? 0) + 1, size, timeout, now, canaries, held, [.. previous.Values], objects);
    }

    /// <summary>
    /// The row of the progressing or halted rollout as ending it would leave it, without ending it
    /// (it is stored first, with the apply that ends it); null when no rollout is active (the row stays as it is).
    /// </summary>
    private string? EndedJson(FleetRollout.RolloutState state, string reason, DateTimeOffset ended)
    {
        if (_rollout is not { Active: true } rollout)
        {
            return null;
        }

        var (oldState, oldEnded, oldReason) = (rollout.State, rollout.Ended, rollout.Reason);
        try
        {
            (rollout.State, rollout.Ended, rollout.Reason) = (state, ended, reason);
            return rollout.ToJson();
        }
        finally
        {
            (rollout.State, rollout.Ended, rollout.Reason) = (oldState, oldEnded, oldReason);
        }
    }

    /// <summary>Takes a canary's status report as its answer when it says the rollout's generation applied, or failed anew.</summary>
    private void CanaryReportedLocked(string device, JsonObject status, DateTimeOffset now)
    {
        if (_rollout is not { State: FleetRollout.RolloutState.Progressing } rollout
            || !rollout.Canaries.TryGetValue(device, out var canary) || canary.Result != FleetRollout.CanaryResult.Pending)
        {
            return;
        }

        if (CheckCanaryTimeoutLocked(now))
        {
            return;
        }

        // A failed apply is reported with the generation the device still runs (docs/fleet.md §5), not the one it
        // refused: so any new failure of a canary counts, and only the rollout's own generation counts as applied.
        var applyStatus = status["applyStatus"]?.GetValue<string>();
        if (applyStatus == "applied" && status["generation"]?.GetValue<long>() == canary.Generation)
        {
            canary.Result = FleetRollout.CanaryResult.Applied;
        }
        else if (applyStatus == "failed" && status["applyErrors"] is JsonArray errors && errors.ToJsonString() != canary.BaselineErrors)
        {
            canary.Result = FleetRollout.CanaryResult.Failed;
            canary.Errors = [.. errors.Take(MaxCanaryErrors).Select(e => e?.GetValue<string>() ?? string.Empty)];
        }
        else
        {
            return;
        }

        if (canary.Result == FleetRollout.CanaryResult.Failed)
        {
            HaltLocked(rollout, string.Create(CultureInfo.InvariantCulture,
                $"canary {device} failed to apply generation {canary.Generation}: {(canary.Errors.Count > 0 ? canary.Errors[0] : "no error text")}"));
        }
        else if (rollout.Canaries.Values.All(c => c.Result == FleetRollout.CanaryResult.Applied))
        {
            EndRolloutLocked(FleetRollout.RolloutState.Completed, "every canary applied its generation; every held device got the change");
            RenderLocked();
        }
        else
        {
            SaveRolloutLocked();
        }
    }

    /// <summary>Halts a progressing rollout whose timeout passed with canaries still silent; true when it did.</summary>
    private bool CheckCanaryTimeoutLocked(DateTimeOffset now)
    {
        if (_rollout is not { State: FleetRollout.RolloutState.Progressing } rollout || now - rollout.Started < rollout.Timeout)
        {
            return false;
        }

        var silent = rollout.Canaries.Values.Where(c => c.Result == FleetRollout.CanaryResult.Pending).OrderBy(c => c.Device, StringComparer.Ordinal).ToList();
        if (silent.Count == 0)
        {
            return false;
        }

        foreach (var canary in silent)
        {
            var lastSeen = _devices.TryGetValue(canary.Device, out var state) ? state.LastSeen : null;
            canary.Result = FleetRollout.CanaryResult.Failed;
            var seenText = lastSeen is { } seen ? "last seen " + FleetStatus.Rfc3339(seen) : "never seen";
            canary.Errors = [string.Create(CultureInfo.InvariantCulture,
                $"did not report generation {canary.Generation} applied within {(long)rollout.Timeout.TotalSeconds} s ({seenText})")];
        }

        HaltLocked(rollout, $"canary {silent[0].Device} {silent[0].Errors[0]}");
        return true;
    }

    private void HaltLocked(FleetRollout rollout, string reason)
    {
        rollout.State = FleetRollout.RolloutState.Halted;
        rollout.Reason = reason;
        SaveRolloutLocked();
        LogRolloutHalted(_logger, rollout.Id, reason, rollout.Held.Count);
    }

    /// <summary>Ends the progressing or halted rollout, if any, with <paramref name="state"/>; the caller re-renders to release held devices.</summary>
    private void EndRolloutLocked(FleetRollout.RolloutState state, string reason) => EndRolloutLocked(state, reason, _time.GetUtcNow(), save: true);

    /// <param name="save">False when the caller already stored the ended rollout (<see cref="EndedJson"/>) with its apply.</param>
    private void EndRolloutLocked(FleetRollout.RolloutState state, string reason, DateTimeOffset ended, bool save)
    {
        if (_rollout is not { Active: true } rollout)
        {
            return;
        }

        rollout.State = state;
        rollout.Ended = ended;
        rollout.Reason = reason;
        if (save)
        {
            SaveRolloutLocked();
        }

        var name = state.ToString().ToLowerInvariant();
        LogRolloutEnded(_logger, rollout.Id, name, reason);
    }

    private void SaveRolloutLocked()
    {
        if (_rollout is { } rollout)
        {
            _store.SaveRollout(rollout.ToJson());
        }
    }

    [LoggerMessage(
        Level = LogLevel.Information,
        Message = "Rollout {Id} started: {Count} canaries ({Canaries}) get the change first; {Held} devices keep their plan until the canaries apply it")]
    private static partial void LogRolloutStarted(ILogger logger, long id, int count, string canaries, int held);

    [LoggerMessage(
        Level = LogLevel.Error,
        Message = "Rollout {Id} halted: {Reason}. {Held} devices stay on their previous plan until a new apply, "
            + "`flotel rollout promote` or `flotel rollout abort`")]
    private static partial void LogRolloutHalted(ILogger logger, long id, string reason, int held);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout {Id} {State}: {Reason}")]
    private static partial void LogRolloutEnded(ILogger logger, long id, string state, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Fleet: the stored rollout cannot be read, so no device is held back: {Reason}")]
    private static partial void LogRolloutUnreadable(ILogger logger, string reason);
}
