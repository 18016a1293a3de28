using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// syslog-ng's <c>loggen</c>, a syslog load generator nobody here wrote (architecture §7). It ships in the Debian
/// package <c>syslog-ng-core</c>, which conflicts with rsyslog as an installed package, so test.sh unpacks the .deb
/// into <c>.test-peers/syslog-ng-core</c> (or the directory in <c>FLOTEL_LOGGEN_ROOT</c>) and loggen runs from there
/// with <c>SYSLOGNG_PREFIX</c> (where it finds its socket plugins) and <c>LD_LIBRARY_PATH</c> (its helper library).
/// </summary>
internal static partial class LoggenProcess
{
    /// <summary>The loggen binary inside an unpacked syslog-ng-core.</summary>
    private const string Binary = "usr/bin/loggen";

    /// <summary>The unpacked package root, or a test failure that says how to get it.</summary>
    public static string Root
    {
        get
        {
            var root = Environment.GetEnvironmentVariable("FLOTEL_LOGGEN_ROOT");
            if (string.IsNullOrEmpty(root))
            {
                // dotnet test run directly after test.sh once: look for the repository's .test-peers upwards.
                for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                {
                    var candidate = Path.Combine(dir.FullName, ".test-peers", "syslog-ng-core");
                    if (File.Exists(Path.Combine(candidate, Binary)))
                    {
                        root = candidate;
                        break;
                    }
                }
            }

            Assert.True(
                root is not null && File.Exists(Path.Combine(root, Binary)),
                "loggen is missing: run ./test.sh once (it unpacks it: apt-get download syslog-ng-core && dpkg -x syslog-ng-core_*.deb .test-peers/syslog-ng-core), or set FLOTEL_LOGGEN_ROOT to such a directory");
            return root!;
        }
    }

    /// <summary>
    /// Runs <c>loggen --inet --stream ARGS 127.0.0.1 PORT</c> to its end (loggen stops by itself after
    /// <c>--interval</c> seconds) and returns the number of messages it reports having sent. The wait is bounded: a
    /// loggen still running after <paramref name="timeout"/> is killed by its PID and the test fails.
    /// </summary>
    public static async Task<long> RunAsync(int port, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var root = Root;
        var info = new ProcessStartInfo(Path.Combine(root, Binary))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.Environment["SYSLOGNG_PREFIX"] = Path.Combine(root, "usr");
        info.Environment["LD_LIBRARY_PATH"] = Path.Combine(root, "usr", "lib", "syslog-ng");
        info.ArgumentList.Add("--inet");
        info.ArgumentList.Add("--stream");
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.ArgumentList.Add("127.0.0.1");
        info.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));

        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: false);
            await process.WaitForExitAsync();
            Assert.Fail($"loggen did not end within {timeout.TotalSeconds} s:\n{Said(output)}");
        }

        // The stream readers may still be delivering the last lines after the exit.
        process.WaitForExit();
        var said = Said(output);
        Assert.True(process.ExitCode == 0, $"loggen exited with {process.ExitCode}:\n{said}");
        return SentCount(said) ?? throw new InvalidOperationException("loggen did not report how many messages it sent:\n" + said);
    }

    /// <summary>
    /// The count on loggen's closing line, e.g.
    /// <c>average rate = 1390.53 msg/sec, count=2792, time=2.00786, (average) msg size=256, bandwidth=347.63 kB/sec</c>.
    /// </summary>
    public static long? SentCount(string output)
    {
        var matches = AverageLine().Matches(output);
        return matches.Count == 0 ? null : long.Parse(matches[^1].Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static string Said(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    [GeneratedRegex(@"average rate = [0-9.]+ msg/sec, count=([0-9]+)")]
    private static partial Regex AverageLine();
}
