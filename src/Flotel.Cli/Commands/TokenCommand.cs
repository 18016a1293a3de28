using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel token create --device NAME [--ttl 24h]</c>: a single-use enrolment token (docs/fleet.md §4).</summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var device = new Option<string>("--device")
        {
            Description = "The EdgeDevice the token enrols (its certificate will carry this name, whatever the device asks for)",
            HelpName = "NAME",
            Required = true,
        };
        var ttl = new Option<string>("--ttl")
        {
            Description = "How long the token may be used: a number with s, m, h or d (at most 30d)",
            HelpName = "DURATION",
            DefaultValueFactory = _ => "24h",
        };
        ttl.Validators.Add(result =>
        {
            var text = result.GetValueOrDefault<string>();
            if (!Durations.TryParse(text, out var value) || value > TimeSpan.FromDays(30))
            {
                result.AddError($"--ttl: '{text}' is not a duration up to 30d; use a number with s, m, h or d, e.g. 24h");
            }
        });
        var gateway = FleetManifestFiles.Gateway();
        var create = new Command("create", "Create a single-use enrolment token for one device; it also carries the SHA-256 of the fleet CA, so `flotel agent --gateway https://HOST:PORT --token TOKEN` needs nothing else")
        {
            device, ttl, gateway,
        };
        create.SetAction(async (parse, cancellationToken) =>
        {
            _ = Durations.TryParse(parse.GetValue(ttl), out var lifetime); // validated by the option
            return await RunAsync(parse.GetRequiredValue(device), lifetime, parse.GetRequiredValue(gateway),
                parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false);
        });
        return new Command("token", "Enrolment tokens for fleet devices") { create };
    }

    internal static async Task<int> RunAsync(string device, TimeSpan ttl, Uri gateway, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var client = new GatewayClient(gateway, "FLOTEL_ADMIN_TOKEN", "--gateway");
        try
        {
            var (token, expires) = await CreateAsync(client, device, ttl, cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync(token).ConfigureAwait(false);
            await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"single-use token for device {device}, valid until {expires}")).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (GatewayClientException e)
        {
            await error.WriteLineAsync("flotel token create: " + e.Message).ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }
    }

    /// <summary>
    /// <c>POST /api/fleet/tokens</c> (<c>flotel token create</c>, <c>flotel up</c>): the token and its expiry (RFC 3339),
    /// or <see cref="GatewayClientException"/>.
    /// </summary>
    internal static async Task<(string Token, string Expires)> CreateAsync(
        GatewayClient client, string device, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var body = new JsonObject { ["device"] = device, ["ttlSeconds"] = (long)ttl.TotalSeconds };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/fleet/tokens")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        using var json = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return (json.RootElement.GetProperty("token").GetString() ?? string.Empty, json.RootElement.GetProperty("expires").GetString() ?? string.Empty);
    }
}
