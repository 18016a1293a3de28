using System.CommandLine;
using Flotel.Bench;

namespace Flotel.RemoteWriteLoad;

/// <summary>
/// Command-line options of the generator. Every load is bounded twice: by <see cref="Requests"/> (the bodies are
/// encoded before the clock starts, so the count is fixed) and by <see cref="Duration"/> (no request starts after it).
/// </summary>
internal sealed class LoadOptions
{
    private static readonly Option<Uri?> UrlOption =
        BenchOptions.LoopbackUrl("--url", new Uri("http://127.0.0.1:9201/api/v1/write"), "Remote-write URL on loopback");

    private static readonly Option<int> RequestsOption = BenchOptions.Positive("--requests", 1000, "Requests encoded in advance; the run sends at most these");
    private static readonly Option<int> SeriesOption = BenchOptions.Positive("--series-per-request", 1000, "Series in one request");
    private static readonly Option<int> SamplesOption = BenchOptions.Positive("--samples-per-series", 10, "Samples per series in one request");
    private static readonly Option<int> GroupsOption = BenchOptions.Positive("--groups", 40, "Series groups; request r carries group r mod GROUPS");
    private static readonly Option<int> ConcurrencyOption = BenchOptions.Positive("--concurrency", 4, "Concurrent senders (HTTP connections)");
    private static readonly Option<int> DurationOption = BenchOptions.Positive("--duration-seconds", 30, "No request starts after this many seconds");
    private static readonly Option<int> StepOption = BenchOptions.Positive("--step-ms", 15_000, "Milliseconds between a series' samples");

    /// <summary>Remote-write URL, e.g. <c>http://127.0.0.1:8428/api/v1/write</c>; on loopback.</summary>
    public required Uri Url { get; init; }

    /// <summary>Series in one request.</summary>
    public int SeriesPerRequest { get; init; }

    /// <summary>Samples per series in one request (a sender's backlog batch; Prometheus sends 1 per series when caught up).</summary>
    public int SamplesPerSeries { get; init; }

    /// <summary>Series groups: the series set is <c>Groups × SeriesPerRequest</c>; request r carries group r mod Groups.</summary>
    public int Groups { get; init; }

    /// <summary>Requests encoded in advance; the run sends at most these.</summary>
    public int Requests { get; init; }

    /// <summary>Concurrent senders (HTTP connections).</summary>
    public int Concurrency { get; init; }

    /// <summary>No request starts after this much time.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Milliseconds between a series' samples.</summary>
    public long StepMs { get; init; }

    /// <summary>
    /// The generator's command: encodes REQUESTS remote-write 1.0 bodies (snappy + protobuf) in advance, then posts them
    /// from CONCURRENCY senders until all are sent or DURATION passes, and prints one line of key=value results.
    /// </summary>
    public static RootCommand CreateCommand(Func<LoadOptions, Task<int>> run)
    {
        var root = new RootCommand(
            "Encodes REQUESTS remote-write 1.0 bodies (snappy + protobuf) in advance, then posts them from CONCURRENCY senders " +
            "until all are sent or DURATION passes, and prints one line of key=value results.")
        {
            UrlOption, RequestsOption, SeriesOption, SamplesOption, GroupsOption, ConcurrencyOption, DurationOption, StepOption,
        };
        root.SetAction(parse =>
        {
            var options = new LoadOptions
            {
                Url = parse.GetValue(UrlOption)!,
                Requests = parse.GetValue(RequestsOption),
                SeriesPerRequest = parse.GetValue(SeriesOption),
                SamplesPerSeries = parse.GetValue(SamplesOption),
                Groups = parse.GetValue(GroupsOption),
                Concurrency = parse.GetValue(ConcurrencyOption),
                Duration = TimeSpan.FromSeconds(parse.GetValue(DurationOption)),
                StepMs = parse.GetValue(StepOption),
            };
            var problem = options.Groups < options.Concurrency
                ? "'--groups' must be at least '--concurrency' (each sender owns whole groups so a series' samples stay in order)"
                : null;
            return BenchOptions.RunCheckedAsync("flotel-rwload", options, problem, run);
        });
        return root;
    }
}
