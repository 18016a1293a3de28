using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Flotel.Cli.Commands;

/// <summary>
/// <c>flotel rollout promote|abort</c> (docs/fleet.md §3.1), and the text every rollout command prints: the state,
/// why it halted or ended, one line per canary with its first error, and the devices held on their previous plan.
/// </summary>
internal static class RolloutCommand
{
    /// <summary>Held devices named in the text; the rest are counted.</summary>
    private const int HeldShown = 20;

    public static Command Create()
    {
        var command = new Command("rollout", "End a staged rollout (flotel apply --canary) by hand; `flotel get rollout` shows it");
        foreach (var (action, description) in new[]
        {
            ("promote", "Send the rollout's change to every held device now, whatever the canaries reported"),
            ("abort", "Put back the objects the rollout changed: the canaries get their previous plan again, held devices keep theirs"),
        })
        {
            var gateway = FleetManifestFiles.Gateway();
            var sub = new Command(action, description) { gateway };
            sub.SetAction(async (parse, cancellationToken) => await RunAsync(
                action, parse.GetRequiredValue(gateway), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error,
                cancellationToken).ConfigureAwait(false));
            command.Subcommands.Add(sub);
        }

        return command;
    }

    internal static async Task<int> RunAsync(string action, Uri gateway, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var client = new GatewayClient(gateway, "FLOTEL_ADMIN_TOKEN", "--gateway");
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/fleet/rollout/" + action);
        try
        {
            using var answer = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            await WriteAsync(answer.RootElement, output).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (GatewayClientException e)
        {
            await error.WriteLineAsync($"flotel rollout {action}: {e.Message}").ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }
    }

    /// <summary><c>GET /api/fleet/rollout</c>, or <see cref="GatewayClientException"/>.</summary>
    internal static async Task<JsonDocument> GetAsync(GatewayClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/fleet/rollout");
        return await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Prints a rollout of the admin API (docs/fleet.md §7) for people.</summary>
    internal static async Task WriteAsync(JsonElement rollout, TextWriter output)
    {
        foreach (var line in Lines(rollout))
        {
            await output.WriteLineAsync(line).ConfigureAwait(false);
        }
    }

    private static IEnumerable<string> Lines(JsonElement r)
    {
        var state = Text(r, "state");
        if (state == "none")
        {
            yield return "no rollout yet (flotel apply --canary N% starts one)";
            yield break;
        }

        var objects = string.Join(", ", r.GetProperty("objects").EnumerateArray().Select(o => o.GetString()));
        yield return $"rollout {Text(r, "id")}: {state} (canary {Text(r, "canary")}, timeout {Text(r, "timeoutSeconds")} s, "
            + $"started {Text(r, "started")}; {objects})";
        if (r.TryGetProperty("reason", out var reason) && reason.ValueKind == JsonValueKind.String)
        {
            yield return "  " + reason.GetString();
        }

        foreach (var c in r.GetProperty("canaries").EnumerateArray())
        {
            var errors = c.GetProperty("errors");
            var first = errors.GetArrayLength() > 0 ? ": " + errors[0].GetString() : string.Empty;
            yield return $"  canary {Text(c, "name")} generation {Text(c, "generation")}: {Text(c, "result")}{first}";
        }

        var held = r.GetProperty("held").EnumerateArray().Select(h => h.GetString()).ToList();
        if (held.Count > 0)
        {
            var more = held.Count > HeldShown ? string.Create(CultureInfo.InvariantCulture, $", and {held.Count - HeldShown} more") : string.Empty;
            var verb = state is "progressing" or "halted" ? "held on their previous plan" : "were held";
            yield return string.Create(CultureInfo.InvariantCulture, $"  {held.Count} {verb}: {string.Join(", ", held.Take(HeldShown))}{more}");
        }
    }

    private static string Text(JsonElement o, string field) =>
        o.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null ? (v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()) : "-";
}
