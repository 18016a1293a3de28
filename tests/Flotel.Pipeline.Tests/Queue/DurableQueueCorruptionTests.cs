using Flotel.Pipeline.Queue;
using static Flotel.Pipeline.Tests.Queue.QueueTestDirectory;

namespace Flotel.Pipeline.Tests.Queue;

/// <summary>
/// A bad record in the middle of a segment costs that record only: readers and recovery resync on the next valid
/// record. Only a bad record with nothing valid after it is a torn tail.
/// </summary>
public sealed class DurableQueueCorruptionTests
{
    // 50-byte payloads: 66-byte records, three per 256-byte segment; twelve records make four segments.
    private const int RecordSize = 16 + 50;
    private const long SegmentBytes = 256;

    /// <summary>Where to damage record k (1-based within its segment): a payload byte, or the length field.</summary>
    public enum Damage
    {
        PayloadByte,
        LengthTooLarge,
        LengthShorter,
        SequenceId,
    }

    [Theory]
    [InlineData(Damage.PayloadByte)]
    [InlineData(Damage.LengthTooLarge)]
    [InlineData(Damage.LengthShorter)]
    [InlineData(Damage.SequenceId)]
    public async Task MiddleSegment_RecordTwoOfThreeDamaged_EveryOtherRecordDeliveredCountedOnce(Damage damage)
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options(maxSegmentBytes: SegmentBytes);
        await WriteTwelveAsync(options);
        var segments = dir.SegmentFiles();
        Assert.Equal(4, segments.Length);
        await DamageAsync(segments[1], recordInSegment: 2, damage); // sequence 5

        await using var reopened = DurableQueue.Open(options);
        using var reader = reopened.OpenReader("store");
        var records = ReadAll(reader);

        Assert.Equal([1L, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12], records.Select(r => r.Sequence));
        var stats = reopened.GetStats();
        Assert.Equal(1, stats.CorruptRecords);
        Assert.Equal(0, stats.DroppedRecordsCorrupt);
        Assert.Equal(0, stats.TornTailRepairs);
    }

    [Theory]
    [InlineData(Damage.PayloadByte)]
    [InlineData(Damage.LengthTooLarge)]
    [InlineData(Damage.LengthShorter)]
    [InlineData(Damage.SequenceId)]
    public async Task LastSegment_RecordTwoOfThreeDamaged_KeptOnOpenNotATornTail(Damage damage)
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options(maxSegmentBytes: SegmentBytes);
        await WriteTwelveAsync(options);
        var last = dir.SegmentFiles()[^1];
        var length = new FileInfo(last).Length;
        await DamageAsync(last, recordInSegment: 2, damage); // sequence 11

        await using var reopened = DurableQueue.Open(options);
        using var reader = reopened.OpenReader("store");
        var records = ReadAll(reader);

        Assert.Equal([1L, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12], records.Select(r => r.Sequence));
        var stats = reopened.GetStats();
        Assert.Equal(1, stats.CorruptRecords); // counted once: by recovery, not again by the reader
        Assert.Equal(0, stats.TornTailRepairs);
        Assert.Equal(length, new FileInfo(last).Length);
        Assert.Equal(new AppendResult(13, 13), await reopened.AppendAsync(Payload("record-13-" + new string('x', 40))));
    }

    [Fact]
    public async Task MiddleSegment_TwoReadersPassTheSameBadRecord_CountedOnce()
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options(maxSegmentBytes: SegmentBytes);
        await WriteTwelveAsync(options);
        await DamageAsync(dir.SegmentFiles()[1], recordInSegment: 1, Damage.PayloadByte); // sequence 4

        await using var reopened = DurableQueue.Open(options);
        using var store = reopened.OpenReader("store");
        using var elasticsearch = reopened.OpenReader("elasticsearch");

        Assert.Equal(11, ReadAll(store).Count);
        Assert.Equal(11, ReadAll(elasticsearch).Count);
        Assert.Equal(1, reopened.GetStats().CorruptRecords);
    }

    [Fact]
    public async Task MiddleSegment_LastRecordDamaged_NothingAfterItInTheSegment_ReaderMovesToTheNextSegment()
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options(maxSegmentBytes: SegmentBytes);
        await WriteTwelveAsync(options);
        await DamageAsync(dir.SegmentFiles()[1], recordInSegment: 3, Damage.PayloadByte); // sequence 6

        await using var reopened = DurableQueue.Open(options);
        using var reader = reopened.OpenReader("store");

        Assert.Equal([1L, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12], ReadAll(reader).Select(r => r.Sequence));
        Assert.Equal(1, reopened.GetStats().CorruptRecords);
        Assert.Equal(1, reopened.GetStats().DroppedRecordsCorrupt);
    }

    [Fact]
    public async Task ActiveSegment_MiddleRecordFlippedWhileOpen_ReaderSkipsOnlyThatRecord()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        await queue.AppendBatchAsync([Payload("one"), Payload("two"), Payload("three")]);
        var segment = Assert.Single(dir.SegmentFiles());
        await using (var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            file.Position = 8 + 19 + 16; // first payload byte of "two"
            file.WriteByte((byte)'T');
        }

        using var reader = queue.OpenReader("store");

        Assert.Equal(["one", "three"], ReadAll(reader).Select(Text));
        await queue.AppendAsync(Payload("four"));
        Assert.Equal(["four"], ReadAll(reader).Select(Text));
        Assert.Equal(1, queue.GetStats().CorruptRecords);
        Assert.Single(dir.SegmentFiles());
    }

    [Fact]
    public async Task LastSegment_LastRecordDamaged_StillATornTailCutOnOpen()
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options(maxSegmentBytes: SegmentBytes);
        await WriteTwelveAsync(options);
        var last = dir.SegmentFiles()[^1];
        var length = new FileInfo(last).Length;
        await DamageAsync(last, recordInSegment: 3, Damage.PayloadByte); // sequence 12

        await using var reopened = DurableQueue.Open(options);
        using var reader = reopened.OpenReader("store");

        Assert.Equal(Enumerable.Range(1, 11).Select(i => (long)i), ReadAll(reader).Select(r => r.Sequence));
        Assert.Equal(1, reopened.GetStats().TornTailRepairs);
        Assert.Equal(0, reopened.GetStats().CorruptRecords);
        Assert.Equal(length - RecordSize, new FileInfo(last).Length);
    }

    private static async Task WriteTwelveAsync(DurableQueueOptions options)
    {
        await using var queue = DurableQueue.Open(options);
        for (var i = 1; i <= 12; i++)
        {
            await queue.AppendAsync(Payload($"record-{i:D2}-" + new string('x', 40)));
        }
    }

    private static async Task DamageAsync(string segment, int recordInSegment, Damage damage)
    {
        var bytes = await File.ReadAllBytesAsync(segment);
        var record = 8 + ((recordInSegment - 1) * RecordSize);
        switch (damage)
        {
            case Damage.PayloadByte:
                bytes[record + 16 + 3] ^= 0x01;
                break;
            case Damage.LengthTooLarge:
                bytes[record + 2] = 0x7F; // ~8 MB: runs past the end of the segment
                break;
            case Damage.LengthShorter:
                bytes[record] = 20; // fits, but the CRC no longer matches and the next "header" is payload bytes
                break;
            case Damage.SequenceId:
                bytes[record + 8] ^= 0x40;
                break;
        }

        await File.WriteAllBytesAsync(segment, bytes);
    }
}
