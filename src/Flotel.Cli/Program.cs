namespace Flotel.Cli;

internal static class Program
{
    public static Task<int> Main(string[] args) => FlotelCli.RunAsync(args, Console.Out, Console.Error);
}
