using System.Globalization;
using System.Runtime.InteropServices;

namespace Flotel.Cli;

/// <summary>
/// Gives back the device build's start-up-only read-only pages once the agent runs. A NativeAOT binary's read-only
/// segment (2–4 MiB here: type metadata, the compressed data the runtime expands into its writable section when it
/// starts, unwind tables) is read almost entirely while the process starts and very little afterwards, yet every page
/// touched stays mapped and counts in the agent's RSS, a budget of architecture §8. Measured with /proc/PID/smaps: 3.5 MiB of
/// it resident at start, 0.2–0.7 MiB after the release, with the agent scraping and remote-writing as before.
/// <para>
/// How: for each read-only, non-executable mapping of our own binary that holds no private (copy-on-write) page —
/// pages that were written, like the relocated ones, are never touched — <c>madvise(MADV_RANDOM)</c> so a later fault
/// reads one page instead of a read-ahead window, then <c>madvise(MADV_PAGEOUT)</c> (Linux 5.4+) so the kernel drops
/// those clean file pages now rather than under memory pressure. A page needed again is read back from the binary.
/// Executable pages are left alone: the kernel keeps mapped code resident on purpose. Older kernels answer EINVAL and
/// nothing changes; no failure here stops the agent.
/// </para>
/// </summary>
internal static partial class StartupPages
{
    private const int MadvRandom = 1;
    private const int MadvPageout = 21;

    /// <summary>Releases the pages once, <paramref name="delay"/> after now (start-up done, first scrapes sent).</summary>
    public static Timer ScheduleRelease(TimeSpan delay) =>
        new(static _ => Release(), null, delay, Timeout.InfiniteTimeSpan);

    /// <summary>Advises the kernel as described above; returns the bytes of the mappings advised (for tests).</summary>
    public static long Release()
    {
        try
        {
            var self = Path.GetFullPath(Environment.ProcessPath ?? string.Empty);
            long advised = 0;
            foreach (var mapping in ReadOnlyMappingsOf(self))
            {
                if (madvise(mapping.Start, mapping.Length, MadvRandom) == 0 && madvise(mapping.Start, mapping.Length, MadvPageout) == 0)
                {
                    advised += (long)mapping.Length;
                }
            }

            return advised;
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>Mappings of <paramref name="path"/> with permissions <c>r--p</c> and no anonymous (written) page, from /proc/self/smaps.</summary>
    private static List<(nint Start, nuint Length)> ReadOnlyMappingsOf(string path)
    {
        var result = new List<(nint, nuint)>();
        (nint Start, nuint Length)? candidate = null;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            // A mapping's header: "start-end perms offset dev inode [path]"; its fields follow as "Name:   value kB".
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 5 && !fields[0].EndsWith(':') && fields[0].IndexOf('-', StringComparison.Ordinal) is var dash and > 0)
            {
                candidate = null;
                if (fields.Length >= 6 && fields[1] == "r--p" && string.Join(' ', fields[5..]) == path)
                {
                    var start = long.Parse(fields[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    var end = long.Parse(fields[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                    candidate = ((nint)start, (nuint)(end - start));
                }
            }
            else if (candidate is { } mapping && fields.Length >= 2 && fields[0] == "Anonymous:")
            {
                if (fields[1] == "0")
                {
                    result.Add(mapping);
                }

                candidate = null;
            }
        }

        return result;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int madvise(nint address, nuint length, int advice);
}
