using System.Runtime.InteropServices;

namespace Flotel.Cli;

/// <summary>
/// Sets the garbage collector's first-generation budget of the long-running commands (<c>gateway</c>, <c>up</c>,
/// <c>agent</c>) before the runtime starts them. .NET sizes that budget from the L3 cache (this project's 2-core
/// benchmark VM reports 260 MiB of L3, which gives ~60–200 MiB), so under load the heap grew by that much between
/// collections and the gateway's peak RSS reached 350–400 MiB against a 256 MiB budget (architecture §8). A 16 MiB budget gave
/// 194 MiB at the same CPU per message (docs/benchmarks.md). The runtime reads the knob only from the environment
/// (<c>DOTNET_GCgen0size</c>; runtimeconfig.json properties are ignored for it), so when it is unset this sets it and
/// replaces the process image with the same command line once (<c>execve</c>: same PID, same open stdio). Setting
/// <c>DOTNET_GCgen0size</c> yourself (hexadecimal bytes) chooses another budget and skips the re-execution.
/// </summary>
internal static partial class GcBudget
{
    /// <summary>The runtime's environment variable for the gen-0 budget (hexadecimal bytes).</summary>
    public const string Variable = "DOTNET_GCgen0size";

    /// <summary>16 MiB.</summary>
    public const string DefaultBudget = "0x1000000";

    private static readonly string[] LongRunning = ["gateway", "up", "agent"];

    /// <summary>
    /// For a long-running command with the variable unset, re-executes this process with it set; returns only when
    /// nothing was done or the re-execution failed (the command then runs with the runtime's default budget).
    /// </summary>
    public static void Apply(string[] args)
    {
        if (args.Length == 0 || !LongRunning.Contains(args[0], StringComparer.Ordinal)
            || Environment.GetEnvironmentVariable(Variable) is not null || !OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            var executable = Environment.ProcessPath;
            // The exact argument vector this process was started with (e.g. `dotnet flotel.dll gateway …`).
            var argv = File.ReadAllText("/proc/self/cmdline").TrimEnd('\0').Split('\0');
            if (executable is null || argv.Length == 0)
            {
                return;
            }

            var environment = new List<string>();
            foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
            {
                environment.Add($"{entry.Key}={entry.Value}");
            }

            environment.Add($"{Variable}={DefaultBudget}");
            Execute(executable, argv, [.. environment]);
        }
        catch (IOException)
        {
            // /proc unreadable: run on the default budget.
        }
    }

    private static void Execute(string path, string[] argv, string[] environment)
    {
        var pointers = new List<nint>();
        try
        {
            var argvBlock = ToNullTerminated(argv, pointers);
            var envBlock = ToNullTerminated(environment, pointers);
            _ = execve(path, argvBlock, envBlock); // returns only on failure
        }
        finally
        {
            foreach (var p in pointers)
            {
                Marshal.FreeCoTaskMem(p);
            }
        }
    }

    private static nint[] ToNullTerminated(string[] values, List<nint> owned)
    {
        var block = new nint[values.Length + 1];
        for (var i = 0; i < values.Length; i++)
        {
            block[i] = Marshal.StringToCoTaskMemUTF8(values[i]);
            owned.Add(block[i]);
        }

        return block;
    }

    [LibraryImport("libc", EntryPoint = "execve", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int execve(string path, nint[] argv, nint[] envp);
}
