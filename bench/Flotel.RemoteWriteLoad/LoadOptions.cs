using System.Globalization;

namespace Flotel.RemoteWriteLoad;

/// <summary>
/// Command-line options of the generator. Every load is bounded twice: by <see cref="Requests"/> (the bodies are
/// encoded before the clock starts, so the count is fixed) and by <see cref="Duration"/> (no request starts after it).
/// </summary>
internal sealed class LoadOptions
{
    /// <summary>Remote-write URL, e.g. <c>http://127.0.0.1:8428/api/v1/write</c>; must be on loopback.</summary>
    public Uri Url { get; private set; } = new("http://127.0.0.1:9201/api/v1/write");

    /// <summary>Series in one request.</summary>
    public int SeriesPerRequest { get; private set; } = 1000;

    /// <summary>Samples per series in one request (a sender's backlog batch; Prometheus sends 1 per series when caught up).</summary>
    public int SamplesPerSeries { get; private set; } = 10;

    /// <summary>Series groups: the series set is <c>Groups × SeriesPerRequest</c>; request r carries group r mod Groups.</summary>
    public int Groups { get; private set; } = 40;

    /// <summary>Requests encoded in advance; the run sends at most these.</summary>
    public int Requests { get; private set; } = 1000;

    /// <summary>Concurrent senders (HTTP connections).</summary>
    public int Concurrency { get; private set; } = 4;

    /// <summary>No request starts after this much time.</summary>
    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(30);

    /// <summary>Milliseconds between a series' samples.</summary>
    public long StepMs { get; private set; } = 15_000;

    public static string Usage =>
        """
        flotel-rwload --url URL [--requests 1000] [--series-per-request 1000] [--samples-per-series 10]
                      [--groups 40] [--concurrency 4] [--duration-seconds 30] [--step-ms 15000]
        Encodes REQUESTS remote-write 1.0 bodies (snappy + protobuf) in advance, then posts them from CONCURRENCY
        senders until all are sent or DURATION passes, and prints one line of key=value results.
        """;

    /// <summary>Parses <paramref name="args"/>; returns null with <paramref name="error"/> set when they are wrong.</summary>
    public static LoadOptions? Parse(string[] args, out string? error)
    {
        var options = new LoadOptions();
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Length)
            {
                error = $"'{name}' needs a value";
                return null;
            }

            var value = args[++i];
            switch (name)
            {
                case "--url":
                    if (!Uri.TryCreate(value, UriKind.Absolute, out var url) || !url.IsLoopback)
                    {
                        error = $"'--url' must be an absolute URL on loopback (127.0.0.1), got '{value}'";
                        return null;
                    }

                    options.Url = url;
                    break;
                case "--requests":
                    options.Requests = Positive(name, value, ref error);
                    break;
                case "--series-per-request":
                    options.SeriesPerRequest = Positive(name, value, ref error);
                    break;
                case "--samples-per-series":
                    options.SamplesPerSeries = Positive(name, value, ref error);
                    break;
                case "--groups":
                    options.Groups = Positive(name, value, ref error);
                    break;
                case "--concurrency":
                    options.Concurrency = Positive(name, value, ref error);
                    break;
                case "--duration-seconds":
                    options.Duration = TimeSpan.FromSeconds(Positive(name, value, ref error));
                    break;
                case "--step-ms":
                    options.StepMs = Positive(name, value, ref error);
                    break;
                default:
                    error = $"unknown option '{name}'";
                    return null;
            }

            if (error is not null)
            {
                return null;
            }
        }

        if (options.Groups < options.Concurrency)
        {
            error = "'--groups' must be at least '--concurrency' (each sender owns whole groups so a series' samples stay in order)";
            return null;
        }

        return options;
    }

    private static int Positive(string name, string value, ref string? error)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            return n;
        }

        error = $"'{name}' must be a whole number greater than 0, got '{value}'";
        return 0;
    }
}
