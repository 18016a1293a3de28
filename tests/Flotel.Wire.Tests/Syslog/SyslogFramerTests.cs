using System.Buffers;
using System.Text;
using Flotel.Wire.Syslog;

using Flotel.Wire.Tests.TestKit;

namespace Flotel.Wire.Tests.Syslog;

public sealed class SyslogFramerTests
{
    // A stream holding every frame kind: octet counted, LF, CRLF, blank lines.
    private static readonly byte[] ValidStream = Encoding.UTF8.GetBytes(
        "58 <6>2022-05-12T16:22:01-04:00  random-workload[3966]: hello"
        + "<13>Feb 13 20:07:26 h root[8539]: a\r\n\n"
        + "107 <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8"
        + "<13>Feb 13 20:07:26 h root[8539]: b\n");

    [Fact]
    public void TryReadFrame_EveryPrefixOfAValidStream_ReturnsOnlyCompleteFramesAndConsumesNothingElse()
    {
        List<byte[]> all = FramerDriver.Run(new SyslogFramer(), [ValidStream]);
        Assert.Equal(4, all.Count);

        for (int length = 0; length <= ValidStream.Length; length++)
        {
            var framer = new SyslogFramer();
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(ValidStream, 0, length));
            int frames = 0;
            long consumedAfterLastFrame = 0;
            while (framer.TryReadFrame(ref reader, out ReadOnlySequence<byte> frame))
            {
                Assert.Equal(all[frames], frame.ToArray());
                frames++;
                consumedAfterLastFrame = reader.Consumed;
            }

            Assert.Equal(consumedAfterLastFrame, reader.Consumed);
            Assert.False(framer.IsDiscarding);
        }
    }

    [Fact]
    public void TryReadFrame_IncompleteOctetCountedFrame_ConsumesNothing()
    {
        var framer = new SyslogFramer();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>("107 <34>1 2003"u8.ToArray()));

        Assert.False(framer.TryReadFrame(ref reader, out _));
        Assert.Equal(0, reader.Consumed);
    }

    [Fact]
    public void TryReadFrame_OneBytePerSegment_GivesTheSameFrames()
    {
        List<byte[]> contiguous = FramerDriver.Run(new SyslogFramer(), [ValidStream]);

        var framer = new SyslogFramer();
        var reader = new SequenceReader<byte>(SequenceFactory.OneBytePerSegment(ValidStream));
        var segmented = new List<byte[]>();
        while (framer.TryReadFinalFrame(ref reader, out ReadOnlySequence<byte> frame))
        {
            segmented.Add(frame.ToArray());
        }

        Assert.Equal(contiguous, segmented);
    }

    [Fact]
    public void TryReadFrame_EveryTwoWaySplitOfTheStream_GivesTheSameFrames()
    {
        List<byte[]> expected = FramerDriver.Run(new SyslogFramer(), [ValidStream]);
        for (int split = 0; split <= ValidStream.Length; split++)
        {
            List<byte[]> frames = FramerDriver.Run(new SyslogFramer(), [ValidStream[..split], ValidStream[split..]]);
            Assert.Equal(expected, frames);
        }
    }

    [Fact]
    public void TryReadFrame_LineOverMaxWithoutLfAcrossReads_IsDiscardedAndStreamContinues()
    {
        // docs/reference/syslog-and-elasticsearch.md §9.1 F9: a 200 KiB line without LF (max 100 KiB), fed in 4 KiB reads, then a valid line.
        var framer = new SyslogFramer(100 * 1024);
        var reads = new List<byte[]>();
        byte[] big = new byte[200 * 1024];
        big.AsSpan().Fill((byte)'x');
        for (int i = 0; i < big.Length; i += 4096)
        {
            reads.Add(big[i..Math.Min(i + 4096, big.Length)]);
        }

        reads.Add("\n<13>Feb 13 20:07:26 h root[8539]: a\n"u8.ToArray());

        List<byte[]> frames = FramerDriver.Run(framer, reads);

        Assert.Equal(["<13>Feb 13 20:07:26 h root[8539]: a"], frames.Select(f => Encoding.UTF8.GetString(f)));
        Assert.Equal(1, framer.DiscardedOversizedLines);
        Assert.Equal(SyslogFrameError.OversizedLine, framer.LastError);
        Assert.Equal(big.Length, framer.DiscardedBytes);
    }

    [Fact]
    public void TryReadFrame_WhileDiscardingALongLine_NeverHoldsMoreThanMaxFrameBytes()
    {
        var framer = new SyslogFramer(1024);
        byte[] pending = [];
        for (int i = 0; i < 100; i++)
        {
            pending = [.. pending, .. Enumerable.Repeat((byte)'y', 500)];
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(pending));
            while (framer.TryReadFrame(ref reader, out _))
            {
            }

            pending = pending[(int)reader.Consumed..];
            Assert.True(pending.Length <= 1024 + 2, $"{pending.Length} bytes held after read {i}");
        }

        Assert.True(framer.IsDiscarding);
    }

    [Theory]
    [InlineData("99999999999999999999 ")]
    [InlineData("999999999 ")]
    [InlineData("4294967296 ")]
    [InlineData("2147483648 x")]
    public void TryReadFrame_HugeLengthPrefix_NeitherAllocatesNorWaitsForever(string prefix)
    {
        var framer = new SyslogFramer();
        byte[] bytes = Encoding.ASCII.GetBytes(prefix + "<13>Feb 13 20:07:26 h a: x\n<13>Feb 13 20:07:26 h a: y\n");
        long before = GC.GetAllocatedBytesForCurrentThread();

        List<byte[]> frames = FramerDriver.Run(framer, [bytes]);

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000);

        // Either the prefix is a declared (discarded) length or text; the stream itself never breaks.
        Assert.True(frames.Count + framer.DiscardedFrames >= 1);
    }

    [Fact]
    public void TryReadFrame_LengthOverMax_DiscardsDeclaredLengthAcrossReads()
    {
        var framer = new SyslogFramer(8);
        List<string> frames = FramerDriver.RunText(framer, ["20 0123", "456789", "0123456789", "5 hello"]);

        Assert.Equal(["hello"], frames);
        Assert.Equal(1, framer.DiscardedOversizedOctetFrames);
        Assert.Equal(0, framer.DiscardedOversizedLines);
        Assert.Equal(SyslogFrameError.OversizedOctetCountedFrame, framer.LastError);
        Assert.Equal(20, framer.DiscardedBytes);
    }

    [Fact]
    public void TryReadFinalFrame_UnterminatedLineWithCr_DeliversItWithoutCr()
    {
        List<string> frames = FramerDriver.RunText(new SyslogFramer(), ["<13>Feb 13 20:07:26 h a: last\r"]);

        Assert.Equal(["<13>Feb 13 20:07:26 h a: last"], frames);
    }

    [Fact]
    public void TryReadFrame_RandomBytesInRandomReads_NeverThrowsAndNeverHoldsUnboundedData()
    {
        var random = new Random(20260512);
        byte[] alphabet = "0123456789 \r\n<>abc"u8.ToArray();
        for (int round = 0; round < 300; round++)
        {
            var framer = new SyslogFramer(64);
            byte[] pending = [];
            int reads = random.Next(1, 20);
            for (int r = 0; r < reads; r++)
            {
                byte[] chunk = new byte[random.Next(0, 200)];
                for (int i = 0; i < chunk.Length; i++)
                {
                    chunk[i] = random.Next(4) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
                }

                pending = [.. pending, .. chunk];
                var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(pending));
                while (framer.TryReadFrame(ref reader, out ReadOnlySequence<byte> frame))
                {
                    Assert.InRange(frame.Length, 1, 64);
                }

                pending = pending[(int)reader.Consumed..];

                // Undecided bytes: at most a frame, its CR/LF, and a 9-digit length prefix.
                Assert.True(pending.Length <= 64 + 2 + SyslogFramer.MaxLengthDigits + 1, $"round {round}: {pending.Length} bytes held");
            }

            var final = new SequenceReader<byte>(new ReadOnlySequence<byte>(pending));
            while (framer.TryReadFinalFrame(ref final, out ReadOnlySequence<byte> frame))
            {
                Assert.InRange(frame.Length, 1, 64);
            }

            Assert.Equal(0, final.Remaining);
        }
    }

    [Theory]
    [InlineData("<13>Feb 13 20:07:26 h a: x\n", "<13>Feb 13 20:07:26 h a: x")]
    [InlineData("<13>Feb 13 20:07:26 h a: x\r\n", "<13>Feb 13 20:07:26 h a: x")]
    [InlineData("<13>Feb 13 20:07:26 h a: x\0", "<13>Feb 13 20:07:26 h a: x")]
    [InlineData("<13>Feb 13 20:07:26 h a: x", "<13>Feb 13 20:07:26 h a: x")]
    public void GetMessage_Datagram_StripsTrailingLineEndAndNul(string datagram, string expected)
    {
        Assert.Equal(expected, Encoding.UTF8.GetString(SyslogDatagram.GetMessage(Encoding.UTF8.GetBytes(datagram))));
    }

    [Fact]
    public void Constructor_MaxFrameBytesBelowOne_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SyslogFramer(0));
    }
}
