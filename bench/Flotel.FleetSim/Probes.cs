using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Flotel.FleetSim;

/// <summary>
/// Latency probes: a few lines per second (each kind at its own rate) carry a unique token and are searched for with <c>_search</c> until found
/// (ingest-to-searchable); a few remote-write requests per second are followed by Prometheus API queries until their
/// series' latest timestamp is the one sent (ingest-to-queryable). Polls every 50 ms, give up after 60 s (counted).
/// At most <see cref="MaxOutstanding"/> probes poll at once, so probing never becomes the load. A rate of 0 starts none.
/// Probes started before <see cref="CountFrom"/> (the warm-up) run as the others but are left out of the percentiles;
/// one not found in time is counted whenever it started.
/// </summary>
internal sealed class Probes(HttpClient http, int perSecond, Stopwatch clock)
{
    private const int MaxOutstanding = 64;
    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);

    private readonly List<double> _searchable = [];
    private readonly List<double> _queryable = [];
    private readonly List<Task> _running = [];
    private long _startedLines;
    private long _startedSeries;
    private int _outstanding;
    private long _countFrom;
    private TimeSpan _origin;

    public long TimedOut;

    /// <summary>Probes found that started in the warm-up (not in the percentiles).</summary>
    public long WarmupFound;

    /// <summary>The rate counts from now: the time spent enrolling and connecting does not become a burst of probes.</summary>
    public void StartRate() => _origin = clock.Elapsed;

    /// <summary>Probes started before <paramref name="timestamp"/> (<see cref="Stopwatch.GetTimestamp"/>) are not in the percentiles.</summary>
    public void CountFrom(long timestamp) => Interlocked.Exchange(ref _countFrom, timestamp);

    /// <summary>True when a line probe may start now (the rate and the outstanding bound allow it).</summary>
    public bool TryReserveLine() => TryReserve(ref _startedLines);

    /// <summary>True when a series probe may start now (a rate of its own, so lines do not crowd series out).</summary>
    public bool TryReserveSeries() => TryReserve(ref _startedSeries);

    private bool TryReserve(ref long counter)
    {
        if (perSecond <= 0)
        {
            return false;
        }

        var allowed = (long)((clock.Elapsed - _origin).TotalSeconds * perSecond) + 1;
        while (true)
        {
            var started = Interlocked.Read(ref counter);
            if (started >= allowed || Volatile.Read(ref _outstanding) >= MaxOutstanding)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref counter, started + 1, started) == started)
            {
                Interlocked.Increment(ref _outstanding);
                return true;
            }
        }
    }

    /// <summary>Follows a line holding <paramref name="token"/> that was written at <paramref name="sentAt"/>.</summary>
    public void FollowLine(string token, long sentAt) => Track(PollAsync(sentAt, _searchable, async () =>
    {
        using var body = new StringContent("{\"query\":{\"match\":{\"message\":\"" + token + "\"}},\"size\":0}", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri("logstash-*/_search", UriKind.Relative), body).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return false;
        }

        using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync().ConfigureAwait(false)).ConfigureAwait(false);
        return json.RootElement.GetProperty("hits").GetProperty("total").GetProperty("value").GetInt64() > 0;
    }));

    /// <summary>Follows a series whose sample at <paramref name="timestampMs"/> was acknowledged at <paramref name="sentAt"/>.</summary>
    public void FollowSeries(string selector, long timestampMs, long sentAt) => Track(PollAsync(sentAt, _queryable, async () =>
    {
        var query = "api/v1/query?query=" + Uri.EscapeDataString("timestamp(" + selector + ")");
        using var response = await http.GetAsync(new Uri(query, UriKind.Relative)).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return false;
        }

        using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync().ConfigureAwait(false)).ConfigureAwait(false);
        foreach (var series in json.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var seconds = double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
            if (seconds * 1000 >= timestampMs - 1)
            {
                return true;
            }
        }

        return false;
    }));

    public async Task WaitAsync()
    {
        Task[] running;
        lock (_running)
        {
            running = [.. _running];
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    public (int Count, double P50, double P99) Searchable() => Percentiles(_searchable);

    public (int Count, double P50, double P99) Queryable() => Percentiles(_queryable);

    private static (int Count, double P50, double P99) Percentiles(List<double> values)
    {
        lock (values)
        {
            if (values.Count == 0)
            {
                return (0, double.NaN, double.NaN);
            }

            var sorted = values.Order().ToArray();
            return (sorted.Length, Rank(sorted, 0.50), Rank(sorted, 0.99));
        }
    }

    /// <summary>Nearest-rank percentile.</summary>
    private static double Rank(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private void Track(Task task)
    {
        lock (_running)
        {
            _running.Add(task);
        }
    }

    private async Task PollAsync(long sentAt, List<double> into, Func<Task<bool>> found)
    {
        try
        {
            while (Stopwatch.GetElapsedTime(sentAt) < GiveUpAfter)
            {
                try
                {
                    if (await found().ConfigureAwait(false))
                    {
                        var seconds = Stopwatch.GetElapsedTime(sentAt).TotalSeconds;
                        if (sentAt < Interlocked.Read(ref _countFrom))
                        {
                            Interlocked.Increment(ref WarmupFound);
                            return;
                        }

                        lock (into)
                        {
                            into.Add(seconds);
                        }

                        return;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or JsonException or TaskCanceledException or KeyNotFoundException or InvalidOperationException)
                {
                    // not there yet, or the gateway is busy: poll again
                }

                await Task.Delay(PollEvery).ConfigureAwait(false);
            }

            Interlocked.Increment(ref TimedOut);
        }
        finally
        {
            Interlocked.Decrement(ref _outstanding);
        }
    }
}
