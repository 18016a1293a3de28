using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel get devices|workloads|rollout [-o json]</c> (docs/fleet.md §7).</summary>
internal static class GetCommand
{
    private static readonly string[] DeviceHeader = ["NAME", "STATUS", "DESIRED", "APPLIED", "LAST SEEN", "AGENT", "WORKLOADS", "ERRORS"];
    private static readonly string[] WorkloadHeader = ["NAME", "DEVICES", "ERRORS"];

    public static Command Create()
    {
        var what = new Argument<string>("WHAT")
        {
            Description = "devices, workloads or rollout (the latest staged rollout: its state, canaries and held devices)",
        };
        what.AcceptOnlyFromAmong("devices", "workloads", "rollout");
        var format = new Option<string>("--output", "-o")
        {
            Description = "table (default) or json (the admin API's array: name, lastSeen, desiredGeneration, appliedGeneration, status, workloads, …)",
            HelpName = "FORMAT",
            DefaultValueFactory = _ => "table",
        };
        format.AcceptOnlyFromAmong("table", "json");
        var gateway = FleetManifestFiles.Gateway();
        var command = new Command("get",
            "Show the fleet's devices (last seen, desired and applied generation, status, workloads), workloads (the devices they run on) "
            + "or the latest staged rollout")
        {
            what, format, gateway,
        };
        command.SetAction(async (parse, cancellationToken) => await RunAsync(
            parse.GetRequiredValue(what), parse.GetRequiredValue(format) == "json", parse.GetRequiredValue(gateway),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false));
        return command;
    }

    internal static async Task<int> RunAsync(string what, bool json, Uri gateway, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var client = new GatewayClient(gateway, "FLOTEL_ADMIN_TOKEN", "--gateway");
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/fleet/" + what);
        try
        {
            using var answer = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (json)
            {
                await output.WriteLineAsync(answer.RootElement.GetRawText()).ConfigureAwait(false);
                return ExitCodes.Ok;
            }

            if (what == "rollout")
            {
                await RolloutCommand.WriteAsync(answer.RootElement, output).ConfigureAwait(false);
                return ExitCodes.Ok;
            }

            var rows = what == "devices" ? DeviceRows(answer.RootElement) : WorkloadRows(answer.RootElement);
            foreach (var line in Table(rows))
            {
                await output.WriteLineAsync(line).ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        }
        catch (GatewayClientException e)
        {
            await error.WriteLineAsync("flotel get: " + e.Message).ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }
    }

    private static List<string[]> DeviceRows(JsonElement devices)
    {
        var rows = new List<string[]> { DeviceHeader };
        foreach (var d in devices.EnumerateArray())
        {
            var workloads = d.GetProperty("workloads").EnumerateArray().Select(w => $"{Text(w, "name")}={Text(w, "state")}");
            rows.Add([
                Text(d, "name"), Text(d, "status"), Text(d, "desiredGeneration"), Text(d, "appliedGeneration"), Text(d, "lastSeen"),
                Text(d, "agentVersion"), string.Join(",", workloads), d.GetProperty("errors").GetArrayLength().ToString(CultureInfo.InvariantCulture),
            ]);
        }

        return rows;
    }

    private static List<string[]> WorkloadRows(JsonElement workloads)
    {
        var rows = new List<string[]> { WorkloadHeader };
        foreach (var w in workloads.EnumerateArray())
        {
            var errors = w.GetProperty("errors").EnumerateArray().Select(e => e.GetString()).ToList();
            var devices = string.Join(",", w.GetProperty("devices").EnumerateArray().Select(d => d.GetString()));
            rows.Add([Text(w, "name"), devices, errors.Count == 0 ? "-" : string.Join(" | ", errors)]);
        }

        return rows;
    }

    private static string Text(JsonElement o, string field) =>
        o.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null ? (v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()) : "-";

    /// <summary>Columns padded to their widest cell, two spaces apart (the last column unpadded).</summary>
    private static IEnumerable<string> Table(List<string[]> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        return rows.Select(r => string.Join("  ", r.Select((cell, c) => c == r.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
    }
}
