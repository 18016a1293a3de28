using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// The status report a device posts (docs/fleet.md §5) checked and cut to the fields the gateway keeps, and the
/// device view of <c>GET /api/fleet/devices</c> (§7) built from it. Every list is bounded so a device cannot make the
/// gateway hold more than a few hundred KiB for it.
/// </summary>
internal static class FleetStatus
{
    /// <summary>Largest status body accepted, bytes.</summary>
    public const int MaxBodyBytes = 256 * 1024;

    private const int MaxItems = 1000;
    private const int MaxText = 4096;

    /// <summary>The kept fields of <paramref name="report"/>; throws <see cref="FleetRequestException"/> naming the first bad field.</summary>
    public static JsonObject Normalize(JsonObject report)
    {
        var kept = new JsonObject
        {
            ["agentVersion"] = Text(report, "agentVersion", 128),
            ["generation"] = Integer(report, "generation"),
            ["digest"] = Text(report, "digest", 80),
            ["walBacklogBytes"] = Integer(report, "walBacklogBytes"),
        };
        var apply = Text(report, "applyStatus", 16);
        if (apply is not null and not "applied" and not "failed")
        {
            throw new FleetRequestException("`applyStatus` must be applied or failed");
        }

        kept["applyStatus"] = apply;
        kept["applyErrors"] = new JsonArray([.. Items(report, "applyErrors").Select(e => (JsonNode?)AsText(e, "applyErrors[]", MaxText))]);
        kept["workloads"] = new JsonArray([.. Items(report, "workloads").Select(w =>
        {
            var o = w as JsonObject ?? throw new FleetRequestException("`workloads[]` must be objects");
            return (JsonNode?)new JsonObject
            {
                ["name"] = Text(o, "name", 253),
                ["state"] = Text(o, "state", 32),
                ["message"] = Text(o, "message", MaxText),
            };
        })]);
        kept["targets"] = new JsonArray([.. Items(report, "targets").Select(t =>
        {
            var o = t as JsonObject ?? throw new FleetRequestException("`targets[]` must be objects");
            return (JsonNode?)new JsonObject
            {
                ["name"] = Text(o, "name", 253),
                ["bufferBytes"] = Integer(o, "bufferBytes"),
                ["bufferLimitBytes"] = Integer(o, "bufferLimitBytes"),
                ["dropped"] = Integer(o, "dropped"),
            };
        })]);
        return kept;
    }

    /// <summary>One device as the admin API shows it; call under the device's gate.</summary>
    public static JsonObject Describe(FleetDeviceState state, FleetDeviceState.Snapshot current, DateTimeOffset now, TimeSpan offlineAfter)
    {
        var status = state.Status;
        var online = state.LastSeen is { } seen && now - seen < offlineAfter;
        var applied = status?["generation"]?.GetValue<long>();
        var applyStatus = status?["applyStatus"]?.GetValue<string>();
        var summary = state.LastSeen is null ? "pending"
            : !online ? "offline"
            : applyStatus == "failed" ? "failed"
            : applied == current.Generation && applyStatus == "applied" ? "applied"
            : "outdated";
        var errors = new JsonArray();
        foreach (var e in current.Bundle.Errors)
        {
            errors.Add(new JsonObject { ["object"] = e.Object, ["message"] = e.Message });
        }

        foreach (var e in status?["applyErrors"]?.AsArray() ?? [])
        {
            errors.Add(new JsonObject { ["object"] = FleetRenderer.DeviceKind + "/" + state.Name, ["message"] = e?.DeepClone() });
        }

        return new JsonObject
        {
            ["name"] = state.Name,
            ["lastSeen"] = state.LastSeen is { } l ? Rfc3339(l) : null,
            ["online"] = online,
            ["desiredGeneration"] = current.Generation,
            ["appliedGeneration"] = applied,
            ["status"] = summary,
            ["workloads"] = status?["workloads"]?.DeepClone() ?? new JsonArray(),
            ["targets"] = status?["targets"]?.DeepClone() ?? new JsonArray(),
            ["walBacklogBytes"] = status?["walBacklogBytes"]?.DeepClone(),
            ["agentVersion"] = status?["agentVersion"]?.DeepClone(),
            ["certificateExpires"] = state.CertificateExpires is { } c ? Rfc3339(c) : null,
            ["duplicateIdentity"] = state.DuplicateSince is { } d && now - d < offlineAfter,
            ["errors"] = errors,
        };
    }

    /// <summary>RFC 3339 in UTC with seconds: <c>2026-12-06T12:00:00Z</c>.</summary>
    public static string Rfc3339(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string? Text(JsonObject o, string field, int max) => o[field] is { } node ? AsText(node, field, max) : null;

    private static string AsText(JsonNode? node, string field, int max)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
        {
            throw new FleetRequestException($"`{field}` must be a string");
        }

        var s = v.GetValue<string>();
        return s.Length <= max ? s : s[..max];
    }

    private static long? Integer(JsonObject o, string field)
    {
        if (o[field] is not { } node)
        {
            return null;
        }

        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var n) && n >= 0)
        {
            return n;
        }

        throw new FleetRequestException($"`{field}` must be a non-negative integer");
    }

    private static JsonArray Items(JsonObject o, string field)
    {
        if (o[field] is null)
        {
            return [];
        }

        if (o[field] is not JsonArray array)
        {
            throw new FleetRequestException($"`{field}` must be an array");
        }

        if (array.Count > MaxItems)
        {
            throw new FleetRequestException(string.Create(CultureInfo.InvariantCulture, $"`{field}` has more than {MaxItems} entries"));
        }

        return array;
    }
}
