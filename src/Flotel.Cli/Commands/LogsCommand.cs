using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel logs</c>: search the gateway's logs from the terminal.</summary>
internal static class LogsCommand
{
    public static Command Create()
    {
        var query = new Argument<string?>("QUERY")
        {
            Description = "Search in query_string syntax, e.g. 'program:random-workload AND message:New' [default: everything]",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var limit = new Option<int>("--limit")
        {
            Description = "Most events to print",
            HelpName = "N",
            DefaultValueFactory = _ => 100,
        };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() <= 0)
            {
                r.AddError("--limit must be greater than 0");
            }
        });
        var url = CommonOptions.Url();
        var since = CommonOptions.Since("15m");
        var command = new Command("logs", "Search logs stored by a gateway; prints the newest --limit events, oldest first")
        {
            query, url, since, limit,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            _ = Durations.TryParse(parse.GetValue(since), out var window); // validated by the option
            return await RunAsync(parse.GetValue(url)!, parse.GetValue(query), window, parse.GetValue(limit),
                parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>One <c>_search</c> (query_string + a range on <c>@timestamp</c>), printed one line per event.</summary>
    internal static async Task<int> RunAsync(Uri url, string? query, TimeSpan since, int limit, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var must = string.IsNullOrWhiteSpace(query)
            ? new JsonArray()
            : new JsonArray(new JsonObject { ["query_string"] = new JsonObject { ["query"] = query } });
        var body = new JsonObject
        {
            ["size"] = limit,
            ["sort"] = new JsonArray(new JsonObject { ["@timestamp"] = "desc" }),
            ["query"] = new JsonObject
            {
                ["bool"] = new JsonObject
                {
                    ["must"] = must,
                    ["filter"] = new JsonArray(new JsonObject
                    {
                        ["range"] = new JsonObject
                        {
                            ["@timestamp"] = new JsonObject { ["gte"] = "now-" + ((long)since.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s" },
                        },
                    }),
                },
            },
        };
        using var client = new GatewayClient(url);
        using var request = new HttpRequestMessage(HttpMethod.Post, "_search")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        try
        {
            using var json = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var hits = json.RootElement.GetProperty("hits");
            var events = hits.GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("_source")).Reverse().ToList();
            foreach (var e in events)
            {
                await output.WriteLineAsync(Format(e)).ConfigureAwait(false);
            }

            var total = hits.GetProperty("total");
            var count = total.GetProperty("value").GetInt64();
            var more = total.GetProperty("relation").GetString() == "gte" ? "more than " : string.Empty;
            await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{events.Count} of {more}{count} events in the last {since.TotalMinutes:0.#} min from {client.Display}")).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (GatewayClientException e)
        {
            await error.WriteLineAsync("flotel logs: " + e.Message).ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }
    }

    /// <summary><c>TIME SEVERITY DEVICE PROGRAM[PID]: MESSAGE</c>, like a syslog file.</summary>
    private static string Format(JsonElement e)
    {
        string Get(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : string.Empty;
        var device = Get("device_id") is { Length: > 0 } d ? d : Get("logsource") is { Length: > 0 } l ? l : Get("host");
        var program = Get("program");
        var pid = Get("pid");
        var tag = program.Length == 0 ? "-" : pid.Length > 0 ? $"{program}[{pid}]" : program;
        var severity = Get("severity_label");
        return $"{Get("@timestamp")} {severity,-13} {device} {tag}: {Get("message")}";
    }
}
