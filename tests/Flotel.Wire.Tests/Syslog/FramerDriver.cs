using System.Buffers;
using System.Text;
using Flotel.Wire.Syslog;

using Flotel.Wire.Tests.TestKit;

namespace Flotel.Wire.Tests.Syslog;

/// <summary>Feeds reads to a <see cref="SyslogFramer"/> the way a pipe reader loop does: unconsumed bytes are kept.</summary>
internal static class FramerDriver
{
    public static List<byte[]> Run(SyslogFramer framer, IEnumerable<byte[]> reads, bool oneBytePerSegment = false)
    {
        var frames = new List<byte[]>();
        byte[] pending = [];
        foreach (byte[] read in reads)
        {
            pending = [.. pending, .. read];
            pending = Drain(framer, pending, isCompleted: false, frames, oneBytePerSegment);
        }

        Drain(framer, pending, isCompleted: true, frames, oneBytePerSegment);
        return frames;
    }

    public static List<string> RunText(SyslogFramer framer, IEnumerable<string> reads) =>
        Run(framer, reads.Select(Encoding.UTF8.GetBytes)).Select(f => Encoding.UTF8.GetString(f)).ToList();

    private static byte[] Drain(SyslogFramer framer, byte[] pending, bool isCompleted, List<byte[]> frames, bool oneBytePerSegment)
    {
        ReadOnlySequence<byte> sequence = oneBytePerSegment ? SequenceFactory.OneBytePerSegment(pending) : new ReadOnlySequence<byte>(pending);
        var reader = new SequenceReader<byte>(sequence);
        while (isCompleted
            ? framer.TryReadFinalFrame(ref reader, out ReadOnlySequence<byte> frame)
            : framer.TryReadFrame(ref reader, out frame))
        {
            frames.Add(frame.ToArray());
        }

        return pending[(int)reader.Consumed..];
    }
}
