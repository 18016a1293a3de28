using System.CommandLine;
using System.Globalization;
using System.Net;
using Flotel.Bench;

namespace Flotel.LogCorpus;

/// <summary>
/// Command-line options of the corpus generator. A run is bounded by <see cref="Lines"/>; the same seed, shape, line
/// count and start time give the same bytes.
/// </summary>
internal sealed class CorpusOptions
{
    private static readonly Option<CorpusShape> ShapeOption = new("--shape")
    {
        Description = "What the lines look like: blog (the blog's workload in the Flotta layout), access (web access logs), " +
            "json (JSON application logs), system (systemd and kernel lines), mix (all four)",
        DefaultValueFactory = _ => CorpusShape.Mix,
    };

    private static readonly Option<int> LinesOption = BenchOptions.Positive("--lines", 100_000, "Lines to generate");
    private static readonly Option<int> SeedOption = BenchOptions.Positive("--seed", 1, "Seed of the random choices (same seed, same lines)");
    private static readonly Option<int> DevicesOption = BenchOptions.Positive("--devices", 50, "Edge devices the lines come from");

    private static readonly Option<DateTimeOffset?> StartOption = new("--start")
    {
        Description = "Time of the first line, RFC 3339 (default: an hour before now, to the minute). Lines are a few " +
            "milliseconds apart, so 100,000 lines span about 15 minutes",
        HelpName = "TIME",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
            string[] formats = ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFK"];
            if (DateTimeOffset.TryParseExact(text, formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var start))
            {
                return start;
            }

            result.AddError($"'--start' must be an RFC 3339 time such as 2026-12-01T00:00:00Z, got '{text}'");
            return null;
        },
    };

    private static readonly Option<FileInfo?> OutOption = new("--out")
    {
        Description = "Write the lines to this file, one per line (LF); '-' writes them to standard output",
        HelpName = "FILE",
    };

    private static readonly Option<IPEndPoint?> SendOption =
        BenchOptions.LoopbackEndpoint("--send", "Send the lines as syslog over TCP (LF-framed) to this loopback HOST:PORT");

    /// <summary>The shape of the lines.</summary>
    public CorpusShape Shape { get; init; }

    /// <summary>Lines to generate.</summary>
    public int Lines { get; init; }

    /// <summary>Seed of the random choices.</summary>
    public int Seed { get; init; }

    /// <summary>Edge devices the lines come from.</summary>
    public int Devices { get; init; }

    /// <summary>Time of the first line.</summary>
    public DateTimeOffset Start { get; init; }

    /// <summary>File to write (null: none; "-" is standard output).</summary>
    public string? Out { get; init; }

    /// <summary>Syslog TCP receiver on loopback, or null.</summary>
    public IPEndPoint? Send { get; init; }

    /// <summary>
    /// The generator's command: generates LINES lines of SHAPE from SEED, writes them to FILE and/or sends them as
    /// syslog, and prints one line of key=value results on standard error.
    /// </summary>
    public static RootCommand CreateCommand(Func<CorpusOptions, Task<int>> run)
    {
        var root = new RootCommand(
            "Generates LINES realistic log lines of one SHAPE from SEED (deterministic), writes them to a file (one per line) " +
            "and/or sends them as syslog over TCP, and prints lines=… bytes=… on standard error.")
        {
            ShapeOption, LinesOption, SeedOption, DevicesOption, StartOption, OutOption, SendOption,
        };
        root.SetAction(parse =>
        {
            var options = new CorpusOptions
            {
                Shape = parse.GetValue(ShapeOption),
                Lines = parse.GetValue(LinesOption),
                Seed = parse.GetValue(SeedOption),
                Devices = parse.GetValue(DevicesOption),
                Start = parse.GetValue(StartOption) ?? DefaultStart(),
                Out = parse.GetValue(OutOption)?.ToString(),
                Send = parse.GetValue(SendOption),
            };
            var problem = options.Out is null && options.Send is null ? "give '--out FILE' (or '--out -'), '--send HOST:PORT', or both" : null;
            return BenchOptions.RunCheckedAsync("flotel-logcorpus", options, problem, run);
        });
        return root;
    }

    // An hour before now, so the gateway's daily indices and its age retention see recent data.
    private static DateTimeOffset DefaultStart()
    {
        var now = DateTimeOffset.UtcNow.AddHours(-1);
        return new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero);
    }
}
