namespace Flotel.Cli;

internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        GcBudget.Apply(args);
        return FlotelCli.RunAsync(args, Console.Out, Console.Error);
    }
}
