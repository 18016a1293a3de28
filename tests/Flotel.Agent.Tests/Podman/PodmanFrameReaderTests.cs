using System.Buffers;
using System.Text;
using Flotel.Agent.Podman;

namespace Flotel.Agent.Tests.Podman;

public sealed class PodmanFrameReaderTests
{
    // Bytes as podman 4.3.1 sent them for `echo "New message…"` and `echo err26 >&2` (captured on this machine).
    private static readonly byte[] Stream = [.. Sequences.Frame(1, "2026-11-27T13:57:20Z New message at: Fri Nov 27 13:57:20 UTC 2026 seq=26\n"), .. Sequences.Frame(2, "2026-11-27T13:57:20Z err26\n")];

    [Fact]
    public void TryRead_TwoFrames_ReturnsStreamAndPayloadOfEach()
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Stream));
        Assert.True(PodmanFrameReader.TryRead(ref reader, out var s1, out var p1, out _));
        Assert.Equal(PodmanStream.Stdout, s1);
        Assert.Equal("2026-11-27T13:57:20Z New message at: Fri Nov 27 13:57:20 UTC 2026 seq=26\n", Encoding.UTF8.GetString(p1));
        Assert.True(PodmanFrameReader.TryRead(ref reader, out var s2, out var p2, out _));
        Assert.Equal(PodmanStream.Stderr, s2);
        Assert.Equal("2026-11-27T13:57:20Z err26\n", Encoding.UTF8.GetString(p2));
        Assert.False(PodmanFrameReader.TryRead(ref reader, out _, out _, out var error));
        Assert.Equal(PodmanFrameError.None, error);
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void TryRead_EveryPrefix_ConsumesNothingUntilTheFrameIsComplete()
    {
        int firstFrame = Sequences.Frame(1, "2026-11-27T13:57:20Z New message at: Fri Nov 27 13:57:20 UTC 2026 seq=26\n").Length;
        for (int n = 0; n < Stream.Length; n++)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Stream, 0, n));
            int frames = 0;
            while (PodmanFrameReader.TryRead(ref reader, out _, out _, out var error))
            {
                frames++;
            }

            Assert.Equal(n >= firstFrame ? 1 : 0, frames);
            Assert.Equal(n >= firstFrame ? firstFrame : 0, reader.Consumed);
        }
    }

    [Fact]
    public void TryRead_OneBytePerSegment_ReadsTheSameFrames()
    {
        var reader = new SequenceReader<byte>(Sequences.OneBytePerSegment(Stream));
        var payloads = new List<string>();
        while (PodmanFrameReader.TryRead(ref reader, out _, out var payload, out _))
        {
            payloads.Add(Encoding.UTF8.GetString(payload));
        }

        Assert.Equal(["2026-11-27T13:57:20Z New message at: Fri Nov 27 13:57:20 UTC 2026 seq=26\n", "2026-11-27T13:57:20Z err26\n"], payloads);
    }

    [Theory]
    [InlineData(new byte[] { 3, 0, 0, 0, 0, 0, 0, 1, 65 }, PodmanFrameError.UnknownStream)]
    [InlineData(new byte[] { 1, 0, 7, 0, 0, 0, 0, 1, 65 }, PodmanFrameError.NonZeroPadding)]
    [InlineData(new byte[] { 1, 0, 0, 0, 0x7f, 0, 0, 0 }, PodmanFrameError.Oversized)]
    public void TryRead_MalformedHeader_ReturnsReasonAndConsumesNothing(byte[] bytes, PodmanFrameError expected)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        Assert.False(PodmanFrameReader.TryRead(ref reader, out _, out _, out var error));
        Assert.Equal(expected, error);
        Assert.Equal(0, reader.Consumed);
    }
}
