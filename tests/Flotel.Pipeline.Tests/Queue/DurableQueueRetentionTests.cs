using Flotel.Pipeline.Queue;
using static Flotel.Pipeline.Tests.Queue.QueueTestDirectory;

namespace Flotel.Pipeline.Tests.Queue;

/// <summary>Segment rollover, deletion once every reader is past, independent readers, sequence ids across restarts.</summary>
public sealed class DurableQueueRetentionTests
{
    // 50-byte payloads are 66-byte records: 3 fit a 256-byte segment after its 8-byte header.
    private static ReadOnlyMemory<byte> Record(int i) => Payload($"record-{i:D2}-" + new string('x', 40));

    private static async Task<DurableQueue> OpenWithTwelveRecordsAsync(QueueTestDirectory dir, params string[] readers)
    {
        var queue = DurableQueue.Open(dir.Options(maxSegmentBytes: 256));
        foreach (var name in readers)
        {
            queue.OpenReader(name).Dispose();
        }

        for (var i = 1; i <= 12; i++)
        {
            await queue.AppendAsync(Record(i));
        }

        return queue;
    }

    [Fact]
    public async Task Rollover_TwelveRecordsOfSixtySixBytes_FourSegmentsNamedByFirstSequence()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = await OpenWithTwelveRecordsAsync(dir);

        Assert.Equal(
            ["00000000000000000001.seg", "00000000000000000004.seg", "00000000000000000007.seg", "00000000000000000010.seg"],
            dir.SegmentFiles().Select(Path.GetFileName));
        Assert.Equal(4, queue.GetStats().SegmentCount);
        Assert.Equal(4 * (8 + 3 * 66), queue.GetStats().BytesOnDisk);
    }

    [Fact]
    public async Task Segments_ReaderCommitsPartway_OnlySegmentsBelowCursorDeleted()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = await OpenWithTwelveRecordsAsync(dir);
        using var reader = queue.OpenReader("store");
        ReadAll(reader);

        reader.Commit(7);

        Assert.Equal(["00000000000000000007.seg", "00000000000000000010.seg"], dir.SegmentFiles().Select(Path.GetFileName));
    }

    [Fact]
    public async Task Segments_AllReadersCommitEverything_OnlyActiveSegmentRemains()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = await OpenWithTwelveRecordsAsync(dir, "store", "elasticsearch");
        using var store = queue.OpenReader("store");
        using var elastic = queue.OpenReader("elasticsearch");

        store.Commit(ReadAll(store)[^1].Sequence);
        Assert.Equal(4, dir.SegmentFiles().Length); // elasticsearch still needs them
        elastic.Commit(ReadAll(elastic)[^1].Sequence);

        Assert.Equal(["00000000000000000010.seg"], dir.SegmentFiles().Select(Path.GetFileName));
        Assert.Equal(8 + 3 * 66, queue.GetStats().BytesOnDisk);
    }

    [Fact]
    public async Task Segments_NoReaderRegistered_NothingDeleted()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = await OpenWithTwelveRecordsAsync(dir);

        Assert.Equal(4, dir.SegmentFiles().Length);
        using var late = queue.OpenReader("added-later");
        Assert.Equal(12, ReadAll(late).Count); // a reader added later starts at the oldest retained record
    }

    [Fact]
    public async Task TwoReaders_ReadAndCommitAtTheirOwnPace_EachGetsEveryRecordIndependently()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = await OpenWithTwelveRecordsAsync(dir, "store", "timestream");
        using var store = queue.OpenReader("store");
        using var timestream = queue.OpenReader("timestream");
        var batch = new List<QueueRecord>();

        store.TryReadBatch(5, 1 << 20, batch);
        store.Commit(5);
        var timestreamAll = ReadAll(timestream);
        var storeRest = ReadAll(store);

        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), timestreamAll.Select(r => r.Sequence));
        Assert.Equal(Enumerable.Range(6, 7).Select(i => (long)i), storeRest.Select(r => r.Sequence));
        var lag = queue.GetStats().Readers.ToDictionary(r => r.Name, r => r.Lag);
        Assert.Equal(7, lag["store"]);
        Assert.Equal(12, lag["timestream"]);
    }

    [Fact]
    public async Task RegisteredReader_NotOpenAfterRestart_StillKeepsItsSegments()
    {
        using var dir = new QueueTestDirectory();
        await using (var queue = await OpenWithTwelveRecordsAsync(dir, "store", "influxdb"))
        {
        }

        await using var reopened = DurableQueue.Open(dir.Options(maxSegmentBytes: 256));
        using var store = reopened.OpenReader("store");
        store.Commit(ReadAll(store)[^1].Sequence);

        Assert.Equal(4, dir.SegmentFiles().Length); // "influxdb" has committed nothing
        Assert.True(reopened.DeleteReader("influxdb"));
        Assert.Single(dir.SegmentFiles());
        Assert.False(File.Exists(Path.Combine(dir.Path, "readers", "influxdb.cursor")));
        Assert.False(reopened.DeleteReader("influxdb"));
    }

    [Fact]
    public async Task DeleteReader_WhileOpen_ReaderThrowsObjectDisposed()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = await OpenWithTwelveRecordsAsync(dir);
        using var reader = queue.OpenReader("removed-output");

        queue.DeleteReader("removed-output");

        Assert.Throws<ObjectDisposedException>(() => reader.TryReadBatch(1, 100, []));
        Assert.DoesNotContain(queue.GetStats().Readers, r => r.Name == "removed-output");
    }

    [Fact]
    public async Task SequenceIds_AcrossRestartsAndSegmentDeletion_KeepIncreasing()
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options(maxSegmentBytes: 256);
        var seen = new List<long>();
        for (var run = 0; run < 3; run++)
        {
            await using var queue = DurableQueue.Open(options);
            using var reader = queue.OpenReader("store");
            for (var i = 0; i < 5; i++)
            {
                seen.Add((await queue.AppendAsync(Record(i))).FirstSequence);
            }

            reader.Commit(ReadAll(reader)[^1].Sequence); // everything read: older segments are deleted each run
        }

        Assert.Equal(Enumerable.Range(1, 15).Select(i => (long)i), seen);
    }

    [Fact]
    public async Task SequenceIds_AllSegmentFilesRemoved_ContinueAfterHighestCursor()
    {
        using var dir = new QueueTestDirectory();
        await using (var queue = DurableQueue.Open(dir.Options()))
        {
            using var reader = queue.OpenReader("store");
            await queue.AppendBatchAsync([Payload("a"), Payload("b")]);
            reader.Commit(ReadAll(reader)[^1].Sequence);
        }

        foreach (var file in dir.SegmentFiles())
        {
            File.Delete(file);
        }

        await using var reopened = DurableQueue.Open(dir.Options());
        Assert.Equal(new AppendResult(3, 3), await reopened.AppendAsync(Payload("c")));
    }
}
