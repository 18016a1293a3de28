using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// One staged rollout (docs/fleet.md §3.1): the canaries that got the change first and what each reported, the devices
/// held on the plan they had, and the objects as they were before (what an abort puts back). Mutated only under the
/// service's render lock; the device name sets are fixed when the rollout is made, so they are read without it.
/// Persisted whole as one JSON row (<see cref="ToJson"/>, <see cref="Parse"/>) at every change of state.
/// </summary>
internal sealed class FleetRollout
{
    public FleetRollout(long id, CanarySize canary, TimeSpan timeout, DateTimeOffset started,
        IReadOnlyDictionary<string, Canary> canaries, IReadOnlySet<string> held, IReadOnlyList<PreviousObject> previous, IReadOnlyList<string> objects)
    {
        Id = id;
        Size = canary;
        Timeout = timeout;
        Started = started;
        Canaries = canaries;
        Held = held;
        Previous = previous;
        Objects = objects;
    }

    public long Id { get; }

    public CanarySize Size { get; }

    /// <summary>How long canaries have, from <see cref="Started"/>, to report the generation applied.</summary>
    public TimeSpan Timeout { get; }

    public DateTimeOffset Started { get; }

    /// <summary>Canaries by device name.</summary>
    public IReadOnlyDictionary<string, Canary> Canaries { get; }

    /// <summary>Affected devices that keep the plan they had until the rollout completes or is promoted.</summary>
    public IReadOnlySet<string> Held { get; }

    /// <summary>Every object the rollout changed, as it was before (an absent one has no YAML).</summary>
    public IReadOnlyList<PreviousObject> Previous { get; }

    /// <summary>The <c>kind/name</c> of every object the rollout changed.</summary>
    public IReadOnlyList<string> Objects { get; }

    public RolloutState State { get; set; } = RolloutState.Progressing;

    public DateTimeOffset? Ended { get; set; }

    /// <summary>Why the rollout halted or ended, in a sentence.</summary>
    public string? Reason { get; set; }

    /// <summary>Progressing or halted: held devices are held, and promote or abort may end it.</summary>
    public bool Active => State is RolloutState.Progressing or RolloutState.Halted;

    /// <summary>
    /// The first <paramref name="size"/> of <paramref name="affected"/> in order of the SHA-256 of their names: the same
    /// devices are picked for the same fleet every time (a stable canary ring), and the pick does not follow the names'
    /// alphabetical order.
    /// </summary>
    public static List<string> ChooseCanaries(IEnumerable<string> affected, CanarySize size)
    {
        var ordered = affected.Select(name => (Key: Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name))), Name: name))
            .OrderBy(d => d.Key, StringComparer.Ordinal).ThenBy(d => d.Name, StringComparer.Ordinal).Select(d => d.Name).ToList();
        return ordered.Take(size.Of(ordered.Count)).ToList();
    }

    /// <summary>The rollout as <c>GET /api/fleet/rollout</c> shows it (docs/fleet.md §7).</summary>
    public JsonObject Describe() => new()
    {
        ["id"] = Id,
        ["state"] = Name(State),
        ["canary"] = Size.ToString(),
        ["timeoutSeconds"] = (long)Timeout.TotalSeconds,
        ["started"] = FleetStatus.Rfc3339(Started),
        ["ended"] = Ended is { } e ? FleetStatus.Rfc3339(e) : null,
        ["reason"] = Reason,
        ["objects"] = new JsonArray([.. Objects.Select(o => (JsonNode?)o)]),
        ["canaries"] = new JsonArray([.. Canaries.Values.OrderBy(c => c.Device, StringComparer.Ordinal).Select(c => (JsonNode?)new JsonObject
        {
            ["name"] = c.Device,
            ["generation"] = c.Generation,
            ["result"] = Name(c.Result),
            ["errors"] = new JsonArray([.. c.Errors.Select(x => (JsonNode?)x)]),
        })]),
        ["held"] = new JsonArray([.. Held.Order(StringComparer.Ordinal).Select(h => (JsonNode?)h)]),
    };

    /// <summary>The stored form: <see cref="Describe"/> plus each canary's digest and baseline and the previous objects.</summary>
    public string ToJson()
    {
        var o = Describe();
        o["startedMs"] = Started.ToUnixTimeMilliseconds();
        o["endedMs"] = Ended?.ToUnixTimeMilliseconds();
        foreach (var node in o["canaries"]!.AsArray())
        {
            var c = Canaries[(string)node!["name"]!];
            node["digest"] = c.Digest;
            node["baselineErrors"] = c.BaselineErrors;
        }

        o["previous"] = new JsonArray([.. Previous.Select(p => (JsonNode?)new JsonObject
        {
            ["kind"] = p.Kind, ["name"] = p.Name, ["yaml"] = p.Yaml, ["source"] = p.Source,
        })]);
        return o.ToJsonString();
    }

    /// <summary>A rollout written by <see cref="ToJson"/>; throws <see cref="FormatException"/> for anything else.</summary>
    public static FleetRollout Parse(string json)
    {
        try
        {
            var o = JsonNode.Parse(json)!.AsObject();
            var size = CanarySize.Parse((string?)o["canary"], out var error) ?? throw new FormatException(error);
            var canaries = new Dictionary<string, Canary>(StringComparer.Ordinal);
            foreach (var node in o["canaries"]!.AsArray())
            {
                var c = new Canary((string)node!["name"]!, (long)node["generation"]!, (string)node["digest"]!, (string?)node["baselineErrors"])
                {
                    Result = Enum.Parse<CanaryResult>((string)node["result"]!, ignoreCase: true),
                    Errors = [.. node["errors"]!.AsArray().Select(e => (string)e!)],
                };
                canaries[c.Device] = c;
            }

            var rollout = new FleetRollout(
                (long)o["id"]!, size, TimeSpan.FromSeconds((long)o["timeoutSeconds"]!), DateTimeOffset.FromUnixTimeMilliseconds((long)o["startedMs"]!),
                canaries,
                o["held"]!.AsArray().Select(h => (string)h!).ToHashSet(StringComparer.Ordinal),
                [.. o["previous"]!.AsArray()
                    .Select(p => new PreviousObject((string)p!["kind"]!, (string)p["name"]!, (string?)p["yaml"], (string?)p["source"]))],
                [.. o["objects"]!.AsArray().Select(k => (string)k!)])
            {
                State = Enum.Parse<RolloutState>((string)o["state"]!, ignoreCase: true),
                Ended = o["endedMs"] is { } ended ? DateTimeOffset.FromUnixTimeMilliseconds((long)ended) : null,
                Reason = (string?)o["reason"],
            };
            return rollout;
        }
        catch (Exception e) when (e is not FormatException)
        {
            throw new FormatException("the stored rollout is not readable: " + e.Message, e);
        }
    }

    private static string Name<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();

    /// <summary>The state of a rollout; the names are the API's, lower-cased.</summary>
    internal enum RolloutState
    {
        Progressing,
        Halted,
        Completed,
        Promoted,
        Aborted,
        Superseded,
    }

    internal enum CanaryResult
    {
        Pending,
        Applied,
        Failed,
    }

    /// <summary>
    /// One canary: the generation and digest it was given, and <see cref="BaselineErrors"/>, the apply errors (JSON) of
    /// its last report before the rollout when that report was a failure. A failure report repeating them may be a
    /// heartbeat sent before the canary bundle arrived, so it is not taken as the canary's answer.
    /// </summary>
    internal sealed class Canary(string device, long generation, string digest, string? baselineErrors)
    {
        public string Device { get; } = device;

        public long Generation { get; } = generation;

        public string Digest { get; } = digest;

        public string? BaselineErrors { get; } = baselineErrors;

        public CanaryResult Result { get; set; }

        public IReadOnlyList<string> Errors { get; set; } = [];
    }

    /// <summary>An object as it was before the rollout; <see cref="Yaml"/> null when the rollout created it.</summary>
    internal sealed record PreviousObject(string Kind, string Name, string? Yaml, string? Source)
    {
        public string Key => Kind + "/" + Name;
    }
}

