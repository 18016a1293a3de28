using System.CommandLine;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel delete -f PATH…</c> or <c>flotel delete KIND NAME</c> (docs/fleet.md §3).</summary>
internal static class DeleteCommand
{
    /// <summary>Kinds as typed (<c>device</c> is short for <c>edgedevice</c>, docs/fleet.md §3) → the admin API's kind.</summary>
    private static readonly Dictionary<string, string> Kinds = new(StringComparer.OrdinalIgnoreCase)
    {
        ["edgedevice"] = "edgedevice", ["device"] = "edgedevice", ["edgeworkload"] = "edgeworkload", ["workload"] = "edgeworkload",
        ["configmap"] = "configmap", ["secret"] = "secret",
    };

    public static Command Create()
    {
        var kind = new Argument<string?>("KIND")
        {
            Description = "edgedevice (or device), edgeworkload (or workload), configmap or secret",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var name = new Argument<string?>("NAME") { Description = "The object's metadata.name", Arity = ArgumentArity.ZeroOrOne };
        var files = FleetManifestFiles.Option("delete");
        files.Required = false;
        var gateway = FleetManifestFiles.Gateway();
        var command = new Command("delete", "Delete fleet objects: those the files name (-f), or one KIND NAME. Deleting an EdgeDevice also revokes its certificates")
        {
            kind, name, files, gateway,
        };
        command.Validators.Add(result =>
        {
            var hasFiles = result.GetValue(files) is { Length: > 0 };
            var hasObject = result.GetValue(kind) is not null;
            if (hasFiles == hasObject || (hasObject && result.GetValue(name) is null))
            {
                result.AddError("give either -f PATH… or KIND NAME");
            }
            else if (hasObject && !Kinds.ContainsKey(result.GetValue(kind)!))
            {
                result.AddError($"unknown kind '{result.GetValue(kind)}': use edgedevice, edgeworkload, configmap or secret");
            }
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            List<string> keys;
            if (parse.GetValue(files) is { Length: > 0 } paths)
            {
                if (await FleetManifestFiles.ReadAsync(paths, "delete", error).ConfigureAwait(false) is not { } entries)
                {
                    return ExitCodes.InvalidInput;
                }

                keys = [.. entries.Select(e => e.Key)];
            }
            else
            {
                keys = [Kinds[parse.GetValue(kind)!] + "/" + parse.GetValue(name)];
            }

            return await RunAsync(keys, parse.GetRequiredValue(gateway), output, error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    internal static async Task<int> RunAsync(IReadOnlyList<string> keys, Uri gateway, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var client = new GatewayClient(gateway, "FLOTEL_ADMIN_TOKEN", "--gateway");
        var failed = false;
        foreach (var key in keys)
        {
            var slash = key.IndexOf('/', StringComparison.Ordinal);
            using var request = new HttpRequestMessage(HttpMethod.Delete,
                $"api/fleet/objects/{Uri.EscapeDataString(key[..slash])}/{Uri.EscapeDataString(key[(slash + 1)..])}");
            try
            {
                using var json = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync($"{key} deleted").ConfigureAwait(false);
            }
            catch (GatewayClientException e)
            {
                await error.WriteLineAsync("flotel delete: " + e.Message).ConfigureAwait(false);
                failed = true;
                if (e.Message.StartsWith("cannot reach", StringComparison.Ordinal) || e.Message.Contains("HTTP 401", StringComparison.Ordinal))
                {
                    break;
                }
            }
        }

        return failed ? ExitCodes.InvalidInput : ExitCodes.Ok;
    }
}
