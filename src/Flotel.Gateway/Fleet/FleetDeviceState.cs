using System.Text;
using System.Text.Json.Nodes;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// One device in memory: its current bundle and generation, one change signal shared by all its long-polls (replaced,
/// after completing the old one, each time the bundle changes or the device is removed), and what it last reported.
/// The bundle fields are swapped under the service's render lock and read without it (a reference read is atomic).
/// </summary>
internal sealed class FleetDeviceState
{
    private TaskCompletionSource _changed = NewSignal();
    private byte[]? _status;

    public FleetDeviceState(string name, long generation, RenderedBundle bundle)
    {
        Name = name;
        Current = new Snapshot(generation, bundle);
    }

    public string Name { get; }

    /// <summary>The bundle and generation devices receive, replaced whole.</summary>
    public Snapshot Current { get; private set; }

    /// <summary>Set when the EdgeDevice was deleted: waiters answer 404.</summary>
    public bool Removed { get; private set; }

    /// <summary>Completes at the next change of <see cref="Current"/> or removal.</summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    /// <summary>Guards the reported fields below.</summary>
    public Lock Gate { get; } = new();

    public DateTimeOffset? LastSeen { get; set; }

    /// <summary>
    /// The latest status report, as stored (the fields of docs/fleet.md §5 the gateway keeps). Held as its UTF-8 JSON
    /// text, a few hundred bytes, where the parsed tree took several KiB per device; parsed again when read (the admin
    /// API, a canary's report).
    /// </summary>
    public JsonObject? Status
    {
        get => _status is null ? null : JsonNode.Parse(_status) as JsonObject;
        set => _status = value is null ? null : Encoding.UTF8.GetBytes(value.ToJsonString());
    }

    /// <summary>The latest status report's JSON text, as persisted.</summary>
    public string? StatusJson => _status is null ? null : Encoding.UTF8.GetString(_status);

    public string? InstanceId { get; set; }

    public DateTimeOffset? InstanceSeenAt { get; set; }

    public DateTimeOffset? DuplicateSince { get; set; }

    public DateTimeOffset? CertificateExpires { get; set; }

    /// <summary>
    /// Set while the device's latest long poll was deferred by <c>fleet.maxHeldPolls</c> (a plain flag: a stale read costs
    /// one connection kept or closed early).
    /// </summary>
    public bool PollsByInterval { get; set; }

    /// <summary>Set when last-seen or status changed since the last batch was persisted.</summary>
    public bool Dirty { get; set; }

    /// <summary>Replaces the bundle and wakes every waiter.</summary>
    public void Publish(long generation, RenderedBundle bundle)
    {
        Current = new Snapshot(generation, bundle);
        Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
    }

    /// <summary>The bundle's errors changed but not its bytes: nothing to wake.</summary>
    public void ReplaceErrors(RenderedBundle bundle) => Current = Current with { Bundle = bundle };

    /// <summary>Wakes every waiter without a change (the gateway is stopping: they answer at once).</summary>
    public void Wake() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    public void Remove()
    {
        Removed = true;
        Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A generation and its bundle.</summary>
    internal sealed record Snapshot(long Generation, RenderedBundle Bundle);
}
