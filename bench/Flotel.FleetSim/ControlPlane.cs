using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotel.Agent.Fleet;

namespace Flotel.FleetSim;

/// <summary>
/// The operator's side of <c>--enrol</c> (docs/fleet.md §7) and the device side's phases: one EdgeDevice per simulated
/// device applied through the admin API, one single-use token each, every device enrolled with its token, then every
/// device's long poll and status loop started. Calls are bounded in flight, so the gateway's accept queue and the
/// simulator's own CPU do not turn a sizing run into a connect storm.
/// </summary>
internal sealed class ControlPlane(HttpClient admin, Uri fleet, string filesRoot, FleetCounters counters) : IAsyncDisposable
{
    /// <summary>EdgeDevices per <c>/api/fleet/apply</c> request: every apply re-renders the fleet once.</summary>
    private const int ApplyChunk = 1000;

    /// <summary>Token, enrolment and first-bundle calls in flight at once.</summary>
    private const int InFlight = 64;

    private readonly List<FleetDevice> _devices = [];

    public AgentLogCounter Log { get; } = new();

    /// <summary>Devices that enrolled (their certificate is on file).</summary>
    public int Enrolled => _devices.Count;

    public IReadOnlyList<FleetDevice> Devices => _devices;

    /// <summary>Status reports accepted so far, over every device.</summary>
    public long StatusReports => _devices.Sum(d => d.StatusReports);

    /// <summary>Applies one EdgeDevice per name whose remote-write receiver is the fleet listener (docs/fleet.md §6).</summary>
    public async Task ApplyDevicesAsync(IReadOnlyList<string> names)
    {
        for (var start = 0; start < names.Count; start += ApplyChunk)
        {
            var objects = new JsonArray();
            foreach (var name in names.Skip(start).Take(ApplyChunk))
            {
                objects.Add(new JsonObject
                {
                    ["yaml"] = $"""
                        apiVersion: management.project-flotta.io/v1alpha1
                        kind: EdgeDevice
                        metadata:
                          name: {name}
                        spec:
                          metrics:
                            receiverConfiguration:
                              url: {new Uri(fleet, "api/v1/write")}
                        """,
                    ["source"] = "flotel-fleetsim:" + name,
                });
            }

            using var body = new StringContent(new JsonObject { ["objects"] = objects }.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await admin.PostAsync(new Uri("api/fleet/apply", UriKind.Relative), body).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var answer = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"POST /api/fleet/apply: HTTP {(int)response.StatusCode}: {answer}");
            }
        }
    }

    /// <summary>One token per device (<c>POST /api/fleet/tokens</c>, as <c>flotel token create</c>); null where it failed.</summary>
    public async Task<EnrolmentToken?[]> CreateTokensAsync(IReadOnlyList<string> names)
    {
        var tokens = new EnrolmentToken?[names.Count];
        await ForEachAsync(names.Count, async i =>
        {
            try
            {
                var json = new JsonObject { ["device"] = names[i], ["ttlSeconds"] = 3600 }.ToJsonString();
                using var body = new StringContent(json, Encoding.UTF8, "application/json");
                using var response = await admin.PostAsync(new Uri("api/fleet/tokens", UriKind.Relative), body).ConfigureAwait(false);
                var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    counters.Fail(ref counters.EnrolFailures, $"{names[i]}: token: HTTP {(int)response.StatusCode}: {text}");
                    return;
                }

                var token = JsonNode.Parse(text)?["token"]?.GetValue<string>();
                if (!EnrolmentToken.TryParse(token, out var parsed, out var error))
                {
                    counters.Fail(ref counters.EnrolFailures, $"{names[i]}: token: {error}");
                    return;
                }

                tokens[i] = parsed;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
            {
                counters.Fail(ref counters.EnrolFailures, $"{names[i]}: token: {e.Message}");
            }
        }).ConfigureAwait(false);
        return tokens;
    }

    /// <summary>Enrols every device that has a token; the device at index i is <paramref name="names"/>[i] or null.</summary>
    public async Task<FleetDevice?[]> EnrolAsync(IReadOnlyList<string> names, EnrolmentToken?[] tokens, CancellationToken cancellationToken)
    {
        var enrolled = new FleetDevice?[names.Count];
        await ForEachAsync(names.Count, async i =>
        {
            if (tokens[i] is not { } token)
            {
                return;
            }

            try
            {
                enrolled[i] = await FleetDevice.EnrolAsync(fleet, token, Path.Combine(filesRoot, names[i]), Log, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is FleetException or IOException or OperationCanceledException)
            {
                counters.Fail(ref counters.EnrolFailures, $"{names[i]}: enrol: {e.Message}");
            }
        }).ConfigureAwait(false);
        lock (_devices)
        {
            _devices.AddRange(enrolled.OfType<FleetDevice>());
        }

        return enrolled;
    }

    /// <summary>Starts every enrolled device's control plane: each waits for its first bundle, then long-polls.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await ForEachAsync(_devices.Count, async i =>
        {
            try
            {
                await _devices[i].StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                counters.Fail(ref counters.EnrolFailures, $"device {i}: no first bundle before the deadline");
            }
        }).ConfigureAwait(false);
    }

    /// <summary>How many of <paramref name="names"/> the gateway reports as <c>applied</c> (<c>GET /api/fleet/devices</c>).</summary>
    public async Task<long> CountAppliedAsync(IReadOnlyList<string> names)
    {
        var wanted = names.ToHashSet(StringComparer.Ordinal);
        try
        {
            using var response = await admin.GetAsync(new Uri("api/fleet/devices", UriKind.Relative)).ConfigureAwait(false);
            using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync().ConfigureAwait(false)).ConfigureAwait(false);
            return json.RootElement.EnumerateArray().LongCount(d =>
                wanted.Contains(d.GetProperty("name").GetString() ?? string.Empty) && d.GetProperty("status").GetString() == "applied");
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException or KeyNotFoundException or InvalidOperationException)
        {
            return -1;
        }
    }

    /// <summary>Stops every device's loops (its held long poll is cancelled) and removes the fleet files.</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_devices.Select(d => d.DisposeAsync().AsTask())).ConfigureAwait(false);
        _devices.Clear();
        try
        {
            Directory.Delete(filesRoot, recursive: true);
        }
        catch (IOException)
        {
            // left for the OS's temp cleaning
        }
    }

    /// <summary>Runs <paramref name="body"/> for 0 … count − 1 with at most <see cref="InFlight"/> at once.</summary>
    private static async Task ForEachAsync(int count, Func<int, Task> body)
    {
        using var gate = new SemaphoreSlim(InFlight);
        var tasks = new Task[count];
        for (var i = 0; i < count; i++)
        {
            await gate.WaitAsync().ConfigureAwait(false);
            var index = i;
            tasks[i] = Task.Run(async () =>
            {
                try
                {
                    await body(index).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            });
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}

/// <summary>Sums of the gateway's own counters and gauges, read from its <c>/metrics</c> (Prometheus text).</summary>
internal static class GatewayMetrics
{
    /// <summary>The sum over every series of <paramref name="name"/> whose labels hold <paramref name="label"/>, or -1 when unreadable.</summary>
    public static async Task<double> SumAsync(HttpClient http, string name, string label = "")
    {
        try
        {
            var text = await http.GetStringAsync(new Uri("metrics", UriKind.Relative)).ConfigureAwait(false);
            double sum = 0;
            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is '{' or ' '
                    && line.Contains(label, StringComparison.Ordinal))
                {
                    sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                }
            }

            return sum;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException)
        {
            return -1;
        }
    }
}
