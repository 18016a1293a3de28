using System.Runtime.InteropServices;
using Flotel.Gateway.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Hosting;

public sealed class NativeHeapTrimTests
{
    [Fact]
    public void FreedCHeapBelowALiveBlock_IsGivenBackByATrim()
    {
        Assert.True(NativeHeapTrim.Available); // glibc on the machines this runs on
        // 32 MiB of 32 KiB blocks (below glibc's mmap threshold: they are heap), then all freed but the last, which
        // keeps the arena's top in place so free() alone cannot shrink it.
        var blocks = new nint[1024];
        for (var i = 0; i < blocks.Length; i++)
        {
            blocks[i] = Marshal.AllocHGlobal(32 * 1024);
            Marshal.WriteByte(blocks[i], 1); // touched: resident
        }

        for (var i = 0; i < blocks.Length - 1; i++)
        {
            Marshal.FreeHGlobal(blocks[i]);
        }

        try
        {
            Assert.True(NativeHeapTrim.TrimNow());
        }
        finally
        {
            Marshal.FreeHGlobal(blocks[^1]);
        }
    }

    [Fact]
    public async Task TheLoop_EndsWhenStopped()
    {
        using var stopping = new CancellationTokenSource();
        var time = new FakeTimeProvider();
        var loop = NativeHeapTrim.RunAsync(time, stopping.Token);
        time.Advance(NativeHeapTrim.Every * 3); // three trims

        await stopping.CancelAsync();

        await loop.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(loop.IsCompletedSuccessfully);
    }
}
