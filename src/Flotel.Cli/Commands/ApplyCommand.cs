using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel apply -f PATH…</c>: send manifests to the gateway's fleet (docs/fleet.md §3).</summary>
internal static class ApplyCommand
{
    public static Command Create()
    {
        var files = FleetManifestFiles.Option("apply");
        var gateway = FleetManifestFiles.Gateway();
        var command = new Command("apply", "Validate manifests (as check --manifests does) and store them in the gateway's fleet; every device gets its own configuration from them. Nothing is sent when anything is invalid")
        {
            files, gateway,
        };
        command.SetAction(async (parse, cancellationToken) => await RunAsync(
            parse.GetRequiredValue(files), parse.GetRequiredValue(gateway), parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false));
        return command;
    }

    internal static async Task<int> RunAsync(string[] paths, Uri gateway, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (await FleetManifestFiles.ReadAsync(paths, "apply", error).ConfigureAwait(false) is not { } entries)
        {
            return ExitCodes.InvalidInput;
        }

        using var client = new GatewayClient(gateway, "FLOTEL_ADMIN_TOKEN", "--gateway");
        try
        {
            foreach (var (key, result) in await SendAsync(client, entries, cancellationToken).ConfigureAwait(false))
            {
                await output.WriteLineAsync($"{key} {result}").ConfigureAwait(false);
            }

            return ExitCodes.Ok;
        }
        catch (GatewayClientException e)
        {
            await error.WriteLineAsync("flotel apply: " + e.Message).ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }
    }

    /// <summary>
    /// <c>POST /api/fleet/apply</c> with validated <paramref name="entries"/> (<c>flotel apply</c>, <c>flotel up</c>):
    /// one <c>(kind/name, created|configured|unchanged)</c> per object, or <see cref="GatewayClientException"/>.
    /// </summary>
    internal static async Task<List<(string Object, string Result)>> SendAsync(
        GatewayClient client, IReadOnlyList<FleetManifestFiles.Entry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var body = new JsonObject
        {
            ["objects"] = new JsonArray([.. entries.Select(e => (JsonNode?)new JsonObject { ["yaml"] = e.Yaml, ["source"] = e.Source })]),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/fleet/apply")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var json = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return [.. json.RootElement.EnumerateArray().Select(r =>
            (r.GetProperty("object").GetString() ?? string.Empty, r.GetProperty("result").GetString() ?? string.Empty))];
    }
}
