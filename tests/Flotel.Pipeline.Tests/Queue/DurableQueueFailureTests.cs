using Flotel.Pipeline.Queue;
using static Flotel.Pipeline.Tests.Queue.QueueTestDirectory;

namespace Flotel.Pipeline.Tests.Queue;

/// <summary>The durable queue's failure modes: torn tail, restart with reads in flight, full disk, full queue, crash.</summary>
public sealed class DurableQueueFailureTests
{
    [Fact]
    public async Task TornTail_LastRecordCutMidway_CutOnOpenEarlierRecordsIntactCountedOnce()
    {
        using var dir = new QueueTestDirectory();
        await using (var queue = DurableQueue.Open(dir.Options()))
        {
            await queue.AppendBatchAsync([Payload("r1"), Payload("r2"), Payload("r3"), Payload("r4-is-torn")]);
        }

        var segment = Assert.Single(dir.SegmentFiles());
        var length = new FileInfo(segment).Length;
        using (var file = new FileStream(segment, FileMode.Open))
        {
            file.SetLength(length - 4); // the crash cut the last record's payload short
        }

        await using var reopened = DurableQueue.Open(dir.Options());
        using var reader = reopened.OpenReader("store");

        Assert.Equal(["r1", "r2", "r3"], ReadAll(reader).Select(Text));
        var stats = reopened.GetStats();
        Assert.Equal(1, stats.TornTailRepairs);
        Assert.Equal(16 + "r4-is-torn".Length - 4, stats.TornTailBytes);
        Assert.Equal(length - 16 - "r4-is-torn".Length, new FileInfo(segment).Length);
    }

    [Fact]
    public async Task TornTail_ByteFlippedInLastRecord_ChecksumFailsRecordCutCountedOnce()
    {
        using var dir = new QueueTestDirectory();
        await using (var queue = DurableQueue.Open(dir.Options()))
        {
            await queue.AppendBatchAsync([Payload("r1"), Payload("r2"), Payload("r3")]);
        }

        var segment = Assert.Single(dir.SegmentFiles());
        var bytes = await File.ReadAllBytesAsync(segment);
        bytes[^1] ^= 0x20; // last payload byte of r3
        await File.WriteAllBytesAsync(segment, bytes);

        await using var reopened = DurableQueue.Open(dir.Options());
        using var reader = reopened.OpenReader("store");

        Assert.Equal(["r1", "r2"], ReadAll(reader).Select(Text));
        Assert.Equal(1, reopened.GetStats().TornTailRepairs);
        Assert.Equal(new AppendResult(3, 3), await reopened.AppendAsync(Payload("r3-again")));
    }

    [Fact]
    public async Task TornTail_PartialHeaderOnly_CutOnOpen()
    {
        using var dir = new QueueTestDirectory();
        await using (var queue = DurableQueue.Open(dir.Options()))
        {
            await queue.AppendAsync(Payload("whole"));
        }

        var segment = Assert.Single(dir.SegmentFiles());
        await using (var file = new FileStream(segment, FileMode.Append))
        {
            await file.WriteAsync(new byte[] { 5, 0, 0, 0, 0xAB, 0xCD }); // 6 of a header's 16 bytes
        }

        await using var reopened = DurableQueue.Open(dir.Options());
        using var reader = reopened.OpenReader("store");

        Assert.Equal(["whole"], ReadAll(reader).Select(Text));
        Assert.Equal(1, reopened.GetStats().TornTailRepairs);
        Assert.Equal(6, reopened.GetStats().TornTailBytes);
    }

    [Fact]
    public async Task Open_CleanShutdown_NoTornTailRepair()
    {
        using var dir = new QueueTestDirectory();
        await using (var queue = DurableQueue.Open(dir.Options()))
        {
            await queue.AppendBatchAsync([Payload("a"), Payload("b")]);
        }

        await using var reopened = DurableQueue.Open(dir.Options());

        Assert.Equal(0, reopened.GetStats().TornTailRepairs);
        Assert.Equal(2, reopened.GetStats().LastSequence);
    }

    [Fact]
    public async Task CorruptActiveSegment_LastRecordFlippedWhileOpen_ReaderWaitsThenResyncsOnTheNextAppend()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        await queue.AppendBatchAsync([Payload("one"), Payload("two"), Payload("three")]);
        var segment = Assert.Single(dir.SegmentFiles());
        await using (var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            file.Position = 8 + 19 + 19 + 16; // first payload byte of "three" (records: 16-byte header + payload)
            file.WriteByte((byte)'T');
        }

        using var reader = queue.OpenReader("store");
        Assert.Equal(["one", "two"], ReadAll(reader).Select(Text));
        var wait = reader.WaitToReadAsync().AsTask();
        Assert.False(wait.IsCompleted); // nothing valid past the bad record yet

        await queue.AppendAsync(Payload("four"));

        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(["four"], ReadAll(reader).Select(Text));
        Assert.Equal(1, queue.GetStats().CorruptRecords);
        Assert.Equal(0, queue.GetStats().DroppedRecordsCorrupt);
        Assert.Single(dir.SegmentFiles()); // the writer goes on in the same segment, after the bad record
    }

    [Fact]
    public async Task Restart_CursorFileDamaged_ReaderStartsAgainFromOldestRecord()
    {
        using var dir = new QueueTestDirectory();
        await using (var queue = DurableQueue.Open(dir.Options()))
        {
            await queue.AppendBatchAsync([Payload("a"), Payload("b")]);
            using var reader = queue.OpenReader("store");
            reader.Commit(ReadAll(reader)[^1].Sequence);
        }

        var cursor = Path.Combine(dir.Path, "readers", "store.cursor");
        var bytes = await File.ReadAllBytesAsync(cursor);
        bytes[5] ^= 0xFF;
        await File.WriteAllBytesAsync(cursor, bytes);

        await using var reopened = DurableQueue.Open(dir.Options());
        using var again = reopened.OpenReader("store");

        Assert.Equal(["a", "b"], ReadAll(again).Select(Text)); // re-delivery, never loss
    }

    [Fact]
    public async Task Restart_RecordsReadButNotCommitted_AreDeliveredAgain()
    {
        using var dir = new QueueTestDirectory();
        await using (var queue = DurableQueue.Open(dir.Options()))
        {
            await queue.AppendBatchAsync([Payload("a"), Payload("b"), Payload("c"), Payload("d")]);
            using var reader = queue.OpenReader("elasticsearch");
            var batch = new List<QueueRecord>();
            reader.TryReadBatch(1, 1000, batch);
            reader.Commit(batch[^1].Sequence); // "a" acknowledged by the peer
            batch.Clear();
            reader.TryReadBatch(2, 1000, batch); // "b", "c" in flight when the process stops
            Assert.Equal(["b", "c"], batch.Select(Text));
        }

        await using var reopened = DurableQueue.Open(dir.Options());
        using var again = reopened.OpenReader("elasticsearch");

        Assert.Equal(1, again.CommittedSequence);
        Assert.Equal(["b", "c", "d"], ReadAll(again).Select(Text));
    }

    [Fact]
    public async Task Crash_QueueAbandonedWithoutDispose_EveryAcknowledgedRecordPresentOnReopen()
    {
        using var dir = new QueueTestDirectory();
        var acknowledged = new List<AppendResult>();
        var abandoned = DurableQueue.Open(dir.Options());
        for (var i = 0; i < 50; i++)
        {
            acknowledged.Add(await abandoned.AppendAsync(Payload($"m{i}")));
        }

        acknowledged.Add(await abandoned.AppendBatchAsync([Payload("b0"), Payload("b1")]));
        var readerBeforeCrash = abandoned.OpenReader("store");
        var batch = new List<QueueRecord>();
        readerBeforeCrash.TryReadBatch(10, 1 << 20, batch);
        readerBeforeCrash.Commit(batch[^1].Sequence);

        // No StopAsync, no Dispose: the object is simply dropped, as a killed process would leave the files (and, as
        // the kernel does for a dead process, its directory lock released).
        abandoned.UnsafeReleaseDirectoryLock();
        await using var reopened = DurableQueue.Open(dir.Options());
        using var reader = reopened.OpenReader("store");
        var records = ReadAll(reader);

        Assert.Equal(Enumerable.Range(11, 42).Select(i => (long)i), records.Select(r => r.Sequence));
        Assert.Equal(52, acknowledged[^1].LastSequence);
        Assert.Equal(0, reopened.GetStats().TornTailRepairs);
    }

    [Fact]
    public async Task FullDisk_WriteFailsWithEnospc_AppendThrowsAndEarlierRecordsIntact()
    {
        using var dir = new QueueTestDirectory();
        var space = new DiskSpace();
        var options = dir.Options();
        options.SegmentStreamWrapper = file => new DiskFullStream(file, space);
        await using (var queue = DurableQueue.Open(options))
        {
            await queue.AppendBatchAsync([Payload("before-1"), Payload("before-2")]);
            space.Remaining = 10; // the next record's header does not even fit

            var error = await Assert.ThrowsAsync<QueueWriteException>(async () => await queue.AppendAsync(Payload("lost-on-full-disk")));
            Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
            Assert.True(error.DiskFull);
            Assert.Equal(1, queue.GetStats().WriteFailures);
            Assert.True(queue.GetStats().WriteFailing);

            using var reader = queue.OpenReader("store");
            Assert.Equal(["before-1", "before-2"], ReadAll(reader).Select(Text));

            space.Remaining = long.MaxValue; // space freed
            var after = await queue.AppendAsync(Payload("after"));
            Assert.Equal(["after"], ReadAll(reader).Select(Text));
            Assert.Equal(4, after.FirstSequence); // 3 went to the failed write: ids stay increasing, with a gap
            Assert.False(queue.GetStats().WriteFailing);
        }

        await using var reopened = DurableQueue.Open(dir.Options());
        using var again = reopened.OpenReader("store");
        Assert.Equal(["before-1", "before-2", "after"], ReadAll(again).Select(Text));
        Assert.Equal(0, reopened.GetStats().TornTailRepairs); // the partial write was cut at once, not left for recovery
    }

    [Fact]
    public async Task FullDisk_FailsWhileRollingToNewSegment_QueueStaysUsable()
    {
        using var dir = new QueueTestDirectory();
        var space = new DiskSpace();
        var options = dir.Options(maxSegmentBytes: 256);
        options.SegmentStreamWrapper = file => new DiskFullStream(file, space);
        await using var queue = DurableQueue.Open(options);
        var payload = Payload(new string('p', 100));
        await queue.AppendAsync(payload);
        await queue.AppendAsync(payload); // 8 + 2 × 116 = 240: the segment is full

        space.Remaining = 4; // the new segment's 8-byte header cannot be written
        await Assert.ThrowsAsync<QueueWriteException>(async () => await queue.AppendAsync(payload));
        space.Remaining = long.MaxValue;
        var after = await queue.AppendAsync(payload);

        using var reader = queue.OpenReader("store");
        Assert.Equal([1L, 2L, after.FirstSequence], ReadAll(reader).Select(r => r.Sequence));
        Assert.Equal(2, dir.SegmentFiles().Length);
    }

    [Fact]
    public async Task FullDisk_BatchThatWouldCrossASegmentBoundary_FailsWholeSoARetryStoresItOnce()
    {
        using var dir = new QueueTestDirectory();
        var space = new DiskSpace();
        var options = dir.Options(maxSegmentBytes: 256);
        options.SegmentStreamWrapper = file => new DiskFullStream(file, space);
        await using var queue = DurableQueue.Open(options);
        await queue.AppendAsync(Payload(new string('a', 100))); // 8 + 116 = 124 bytes of 256
        var batch = new[] { Payload(new string('b', 60)), Payload(new string('c', 60)) }; // 2 × 76: fits a fresh segment, not the rest of this one

        space.Remaining = 76; // room for one of the batch's records, not for both
        await Assert.ThrowsAsync<QueueWriteException>(async () => await queue.AppendBatchAsync(batch));

        using var reader = queue.OpenReader("store");
        Assert.Equal([1L], ReadAll(reader).Select(r => r.Sequence)); // nothing of the failed batch is visible
        space.Remaining = long.MaxValue;
        _ = await queue.AppendBatchAsync(batch);
        Assert.Equal(["b", "c"], ReadAll(reader).Select(r => Text(r)[..1])); // once
    }

    [Fact]
    public async Task FullQueue_Reject_ThrowsQueueFullExceptionAndAcceptsAgainOnceReadersCommit()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options(maxTotalBytes: 4096));
        using var reader = queue.OpenReader("store");
        var payload = new byte[100];
        QueueFullException? full = null;
        var accepted = 0;
        for (var i = 0; i < 100 && full is null; i++)
        {
            try
            {
                await queue.AppendAsync(payload);
                accepted++;
            }
            catch (QueueFullException ex)
            {
                full = ex;
            }
        }

        Assert.NotNull(full);
        Assert.Equal(4096, full.CapacityBytes);
        Assert.Equal(116, full.RequestedBytes);
        Assert.InRange(queue.GetStats().BytesOnDisk, 4096 - 116 - 1024, 4096);
        Assert.Equal(1, queue.GetStats().RejectedAppends);
        Assert.Equal(0, queue.GetStats().DroppedRecordsQueueFull);

        var read = ReadAll(reader);
        Assert.Equal(accepted, read.Count);
        reader.Commit(read[^1].Sequence);
        await queue.AppendAsync(payload);
    }

    [Fact]
    public async Task FullQueue_DropOldest_DropsOldestSegmentsCountsThemAndAdvancesReaders()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options(maxTotalBytes: 4096, policy: QueueFullPolicy.DropOldest));
        using var reader = queue.OpenReader("syslog-target");
        for (var i = 1; i <= 100; i++)
        {
            await queue.AppendAsync(Payload($"{i:D3}" + new string('x', 97)));
        }

        var stats = queue.GetStats();
        var read = ReadAll(reader);

        Assert.InRange(stats.BytesOnDisk, 1, 4096);
        Assert.True(stats.DroppedRecordsQueueFull > 0);
        Assert.Equal(100, stats.DroppedRecordsQueueFull + read.Count); // every record is either delivered or counted
        Assert.Equal(stats.DroppedRecordsQueueFull * 116, stats.DroppedBytesQueueFull);
        Assert.Equal(stats.DroppedRecordsQueueFull + 1, read[0].Sequence); // the newest ones survive, in order
        Assert.Equal(100, read[^1].Sequence);
        Assert.Equal(stats.DroppedRecordsQueueFull, reader.CommittedSequence); // advanced past what was dropped
        Assert.Equal(0, stats.RejectedAppends);
    }

    [Fact]
    public async Task FullQueue_DropOldest_AfterARestartTheReaderStillSeesTheGap()
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options(maxTotalBytes: 4096, policy: QueueFullPolicy.DropOldest);
        long dropped;
        await using (var queue = DurableQueue.Open(options))
        {
            queue.OpenReader("syslog-target").Dispose();
            for (var i = 0; i < 60; i++)
            {
                await queue.AppendAsync(new byte[100]);
            }

            dropped = queue.GetStats().DroppedRecordsQueueFull;
        }

        await using var reopened = DurableQueue.Open(options);
        using var reader = reopened.OpenReader("syslog-target");

        // The cursor stays where the reader left it (0: it committed nothing), so the sequence ids after it show
        // exactly which records were dropped while it was stopped — the agent reports them after a restart.
        Assert.True(dropped > 0);
        Assert.Equal(0, reader.CommittedSequence);
        Assert.Equal(dropped + 1, ReadAll(reader)[0].Sequence);
    }
}
