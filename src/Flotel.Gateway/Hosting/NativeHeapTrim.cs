using System.Runtime.InteropServices;

namespace Flotel.Gateway.Hosting;

/// <summary>
/// Gives the C heap's free pages back to the system once a minute (glibc <c>malloc_trim(0)</c>). OpenSSL's handshakes
/// and a TLS connection's record buffers are C heap: after a burst of connections (a fleet enrolling or reconnecting)
/// the memory freed between the connections that stay open is not returned by <c>free</c>, which only shrinks an arena
/// from its top. Measured at 1,000 held fleet connections: 38 MiB of C heap resident, 27 MiB after one trim
/// (docs/benchmarks.md, "Control plane: what a device costs"). A trim takes each arena's lock briefly; without glibc
/// (musl) there is nothing to call and nothing is done.
/// </summary>
internal static class NativeHeapTrim
{
    /// <summary>How often the heap is trimmed.</summary>
    public static readonly TimeSpan Every = TimeSpan.FromMinutes(1);

    private static readonly Lazy<MallocTrimFunction?> MallocTrim = new(Find);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int MallocTrimFunction(nuint pad);

    /// <summary>True when this process's C library has <c>malloc_trim</c>.</summary>
    public static bool Available => MallocTrim.Value is not null;

    /// <summary>Trims once: true when memory was given back.</summary>
    public static bool TrimNow() => MallocTrim.Value is { } trim && trim(0) == 1;

    /// <summary>Trims every <see cref="Every"/> until <paramref name="stopping"/>.</summary>
    public static async Task RunAsync(TimeProvider time, CancellationToken stopping)
    {
        if (!Available)
        {
            return;
        }

        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Every, time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            _ = TrimNow();
        }
    }

    private static MallocTrimFunction? Find() =>
        OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libc.so.6", out var libc) && NativeLibrary.TryGetExport(libc, "malloc_trim", out var address)
            ? Marshal.GetDelegateForFunctionPointer<MallocTrimFunction>(address)
            : null;
}
