namespace Flotel.Benchmarks;

internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "promql-range")
        {
            return PromQlRangeHarness.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "log-search")
        {
            return LogSearchHarness.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "log-blocks")
        {
            return LogBlockHarness.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "series-creation")
        {
            return SeriesCreationHarness.Run(args[1..]);
        }

        BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
