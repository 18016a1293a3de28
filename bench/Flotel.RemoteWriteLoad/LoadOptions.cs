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
    private static readonly Option<string> ValuesOption = new("--values")
    {
        DefaultValueFactory = _ => "node",
        Description = "Value kinds: node (NodeSeries' mix) or decimal (uneven decimal counters and drifting decimal gauges)",
    };

    private static readonly Option<FileInfo?> BodiesOption = new("--bodies")
    {
        Description = "Read the bodies from this file when it exists, else encode them and write it (two receivers get the same scrapes)",
    };

    private static readonly Option<Uri?> ScrapeOption =
        BenchOptions.LoopbackUrl("--scrape", null, "Scrape this exporter (loopback) REQUESTS × SAMPLES times instead of generating values");

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

    /// <summary>Generated value kinds: <c>node</c> (<see cref="NodeSeries.ValueOf"/>) or <c>decimal</c> (<see cref="DecimalSeries.ValueOf"/>).</summary>
    public string Values { get; init; } = "node";

    /// <summary>
    /// When set, the bodies carry real scrapes of this exporter instead of generated series: REQUESTS × SAMPLES scrapes
    /// taken back to back before the clock starts, stamped STEP apart (ending about now), SAMPLES scrapes per body.
    /// </summary>
    public Uri? Scrape { get; init; }

    /// <summary>When set: the bodies are read from this file if it exists, else encoded and written to it.</summary>
    public FileInfo? Bodies { get; init; }

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
            ValuesOption, ScrapeOption, BodiesOption,
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
                Values = parse.GetValue(ValuesOption) ?? "node",
                Scrape = parse.GetValue(ScrapeOption),
                Bodies = parse.GetValue(BodiesOption),
            };
            var problem = options.Groups < options.Concurrency
                ? "'--groups' must be at least '--concurrency' (each sender owns whole groups so a series' samples stay in order)"
                : options.Values is not ("node" or "decimal")
                    ? "'--values' must be node or decimal"
                    : options.Scrape is not null && options.Concurrency != 1
                        ? "'--scrape' needs '--concurrency 1' (the scrapes are sent in time order)"
                        : null;
            return BenchOptions.RunCheckedAsync("flotel-rwload", options, problem, run);
        });
        return root;
    }
}
