using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Gateway.Fleet;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel apply -f PATH…</c>: send manifests to the gateway's fleet (docs/fleet.md §3).</summary>
internal static class ApplyCommand
{
    public static Command Create()
    {
        var files = FleetManifestFiles.Option("apply");
        var gateway = FleetManifestFiles.Gateway();
        var canary = new Option<string?>("--canary")
        {
            Description = "Staged rollout: send the change first to this many of the devices it affects, N% (rounded up) or a count N; "
                + "the others keep their previous plan until every canary reports it applied, and the rollout halts if one fails to apply it "
                + "(flotel get rollout; flotel rollout promote|abort). Without it every device gets the change at once",
            HelpName = "N%|N",
        };
        canary.Validators.Add(result =>
        {
            if (CanarySize.Parse(result.GetValueOrDefault<string?>(), out var problem) is null)
            {
                result.AddError("--canary: " + problem);
            }
        });
        var timeout = new Option<string>("--canary-timeout")
        {
            Description = "With --canary: how long the canaries have to report the change applied; one still silent then counts as failed "
                + "and halts the rollout (s, m or h; at most 24h)",
            HelpName = "DURATION",
            DefaultValueFactory = _ => "5m",
        };
        timeout.Validators.Add(result =>
        {
            var text = result.GetValueOrDefault<string>();
            if (!Durations.TryParse(text, out var value) || value > FleetService.MaxCanaryTimeout)
            {
                result.AddError($"--canary-timeout: '{text}' is not a duration up to 24h; use a number with s, m or h, e.g. 10m");
            }
        });
        var command = new Command("apply",
            "Validate manifests (as check --manifests does) and store them in the gateway's fleet; every device gets its own configuration "
            + "from them (with --canary, a few devices first). Nothing is sent when anything is invalid")
        {
            files, gateway, canary, timeout,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            _ = Durations.TryParse(parse.GetValue(timeout), out var canaryTimeout); // validated by the option
            var rollout = parse.GetValue(canary) is { } text ? CanarySize.Parse(text, out _) : null;
            return await RunAsync(
                parse.GetRequiredValue(files), parse.GetRequiredValue(gateway),
                parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken,
                rollout, canaryTimeout).ConfigureAwait(false);
        });
        return command;
    }

    internal static async Task<int> RunAsync(
        string[] paths, Uri gateway, TextWriter output, TextWriter error, CancellationToken cancellationToken,
        CanarySize? canary = null, TimeSpan canaryTimeout = default)
    {
        if (await FleetManifestFiles.ReadAsync(paths, "apply", error).ConfigureAwait(false) is not { } entries)
        {
            return ExitCodes.InvalidInput;
        }

        using var client = new GatewayClient(gateway, "FLOTEL_ADMIN_TOKEN", "--gateway");
        try
        {
            var rollout = canary is { } size ? new JsonObject { ["canary"] = size.ToString(), ["timeoutSeconds"] = (long)canaryTimeout.TotalSeconds } : null;
            var before = rollout is null ? null : await RolloutIdAsync(client, cancellationToken).ConfigureAwait(false);
            foreach (var (key, result) in await SendAsync(client, entries, cancellationToken, rollout).ConfigureAwait(false))
            {
                await output.WriteLineAsync($"{key} {result}").ConfigureAwait(false);
            }

            if (rollout is not null)
            {
                using var now = await RolloutCommand.GetAsync(client, cancellationToken).ConfigureAwait(false);
                if (now.RootElement.TryGetProperty("id", out var id) && id.GetInt64() != before)
                {
                    await RolloutCommand.WriteAsync(now.RootElement, output).ConfigureAwait(false);
                }
                else
                {
                    await output.WriteLineAsync("no rollout: the apply changed no device's plan").ConfigureAwait(false);
                }
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
        GatewayClient client, IReadOnlyList<FleetManifestFiles.Entry> entries, CancellationToken cancellationToken, JsonObject? rollout = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        var body = new JsonObject
        {
            ["objects"] = new JsonArray([.. entries.Select(e => (JsonNode?)new JsonObject { ["yaml"] = e.Yaml, ["source"] = e.Source })]),
            ["rollout"] = rollout,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/fleet/apply")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var json = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return [.. json.RootElement.EnumerateArray().Select(r =>
            (r.GetProperty("object").GetString() ?? string.Empty, r.GetProperty("result").GetString() ?? string.Empty))];
    }

    /// <summary>The id of the latest rollout, null before the first: the apply started one when the id changes.</summary>
    private static async Task<long?> RolloutIdAsync(GatewayClient client, CancellationToken cancellationToken)
    {
        using var rollout = await RolloutCommand.GetAsync(client, cancellationToken).ConfigureAwait(false);
        return rollout.RootElement.TryGetProperty("id", out var id) ? id.GetInt64() : null;
    }
}
