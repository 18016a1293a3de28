using System.CommandLine;
using System.Globalization;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel metrics</c>: evaluate a PromQL expression against the gateway.</summary>
internal static class MetricsCommand
{
    public static Command Create()
    {
        var expr = new Argument<string>("EXPR")
        {
            Description = "PromQL expression, e.g. 'node_memory_Mapped_bytes{edgedeviceid=\"edge-device-1\"}'",
        };
        var url = CommonOptions.Url();
        var since = CommonOptions.Since("1h");
        var command = new Command("metrics", "Query metrics stored by a gateway (Prometheus query API): each series' latest value and its range over --since")
        {
            expr, url, since,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            _ = Durations.TryParse(parse.GetValue(since), out var window); // validated by the option
            return await RunAsync(parse.GetValue(url)!, parse.GetValue(expr)!, window, TimeProvider.System,
                parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>One <c>query_range</c> over the window (about 60 steps); one line per series.</summary>
    internal static async Task<int> RunAsync(Uri url, string expr, TimeSpan since, TimeProvider time, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var end = time.GetUtcNow().ToUnixTimeSeconds();
        var span = Math.Max(1, (long)since.TotalSeconds);
        var step = Math.Max(1, span / 60);
        var path = string.Create(CultureInfo.InvariantCulture,
            $"api/v1/query_range?query={Uri.EscapeDataString(expr)}&start={end - span}&end={end}&step={step}");
        using var client = new GatewayClient(url);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        try
        {
            using var json = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var result = json.RootElement.GetProperty("data").GetProperty("result");
            var count = 0;
            foreach (var series in result.EnumerateArray())
            {
                count++;
                var values = series.GetProperty("values").EnumerateArray()
                    .Select(p => (T: p[0].GetDouble(), V: double.Parse(p[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture)))
                    .ToList();
                var labels = string.Join(", ", series.GetProperty("metric").EnumerateObject()
                    .Where(l => l.Name != "__name__").Select(l => $"{l.Name}=\"{l.Value.GetString()}\""));
                var name = series.GetProperty("metric").TryGetProperty("__name__", out var n) ? n.GetString() : string.Empty;
                var last = values[^1];
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{name}{{{labels}}} {last.V} @ {DateTimeOffset.FromUnixTimeMilliseconds((long)(last.T * 1000)):yyyy-MM-ddTHH:mm:ssZ}  (min {values.Min(v => v.V)}, max {values.Max(v => v.V)}, {values.Count} points)")).ConfigureAwait(false);
            }

            await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{count} series over the last {since.TotalMinutes:0.#} min (step {step} s) from {client.Display}")).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (GatewayClientException e)
        {
            await error.WriteLineAsync("flotel metrics: " + e.Message).ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }
    }
}
