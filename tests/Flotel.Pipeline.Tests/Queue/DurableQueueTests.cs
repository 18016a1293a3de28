using System.Text;
using System.Globalization;
using Flotel.Pipeline.Queue;
using static Flotel.Pipeline.Tests.Queue.QueueTestDirectory;

namespace Flotel.Pipeline.Tests.Queue;

public sealed class DurableQueueTests
{
    [Fact]
    public async Task Append_SeveralRecords_ReaderGetsThemInOrderWithSequenceIds()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        var first = await queue.AppendAsync(Payload("one"));
        var second = await queue.AppendAsync(Payload("two"));
        using var reader = queue.OpenReader("store");

        var records = ReadAll(reader);

        Assert.Equal(new AppendResult(1, 1), first);
        Assert.Equal(new AppendResult(2, 2), second);
        Assert.Equal(["one", "two"], records.Select(Text));
        Assert.Equal([1L, 2L], records.Select(r => r.Sequence));
    }

    [Fact]
    public async Task Commit_WithCursorSyncInterval_EveryCommitIsWrittenAtOnceAndReopenResumesThere()
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options();
        options.CursorSyncInterval = TimeSpan.FromMinutes(1);
        await using (var queue = DurableQueue.Open(options))
        {
            await queue.AppendBatchAsync([Payload("a"), Payload("b"), Payload("c")]);
            using var reader = queue.OpenReader("fwd");
            ReadAll(reader);
            reader.Commit(1);
            reader.Commit(2);

            // Written (not only kept in memory) before Commit returned, although no fsync is due for a minute.
            var cursor = File.ReadAllBytes(System.IO.Path.Combine(dir.Path, "readers", "fwd.cursor"));
            Assert.Equal(2L, CursorSlots(cursor).Max());
        }

        await using var reopened = DurableQueue.Open(dir.Options());
        using var again = reopened.OpenReader("fwd");
        Assert.Equal(["c"], ReadAll(again).Select(Text));
    }

    [Fact]
    public async Task Commit_WithCursorSyncInterval_WritesInPlaceInTwoSlots_ATornNewestSlotFallsBackOneCommit()
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options();
        options.CursorSyncInterval = TimeSpan.FromSeconds(1);
        var path = System.IO.Path.Combine(dir.Path, "readers", "fwd.cursor");
        // Abandoned without a stop (which would write the cursor once more), as a killed process leaves it.
        var abandoned = DurableQueue.Open(options);
        await abandoned.AppendBatchAsync([.. Enumerable.Range(1, 10).Select(i => Payload("r" + i))]);
        var reader = abandoned.OpenReader("fwd");
        ReadAll(reader);
        for (var i = 1; i <= 7; i++)
        {
            reader.Commit(i);
            Assert.Equal(i, CursorSlots(File.ReadAllBytes(path)).Max());
            Assert.Empty(Directory.GetFiles(System.IO.Path.Combine(dir.Path, "readers"), "*.tmp"));
        }

        Assert.Equal(32, new FileInfo(path).Length);
        abandoned.UnsafeReleaseDirectoryLock();

        // A power cut tore the newest slot: the other one still has the commit before it.
        var bytes = File.ReadAllBytes(path);
        var slots = CursorSlots(bytes);
        var newest = slots[0] > slots[1] ? 0 : 1;
        bytes[(newest * 16) + 6] ^= 0xFF;
        File.WriteAllBytes(path, bytes);

        await using (var reopened = DurableQueue.Open(options))
        {
            using var again = reopened.OpenReader("fwd");
            Assert.Equal(["r7", "r8", "r9", "r10"], ReadAll(again).Select(Text));
            again.Commit(8); // goes into the torn slot, not over the good one
            Assert.Equal([8L, 6L], CursorSlots(File.ReadAllBytes(path)).OrderDescending());
        }
    }

    [Fact]
    public async Task Commit_CursorWrittenByRenameThenInPlaceThenByRenameAgain_EachOpenResumesAtTheLastCommit()
    {
        using var dir = new QueueTestDirectory();
        await using (var queue = DurableQueue.Open(dir.Options()))
        {
            await queue.AppendBatchAsync([.. Enumerable.Range(1, 6).Select(i => Payload("r" + i))]);
            using var reader = queue.OpenReader("fwd");
            ReadAll(reader);
            reader.Commit(2);
        }

        var inPlace = dir.Options();
        inPlace.CursorSyncInterval = TimeSpan.FromSeconds(1);
        await using (var queue = DurableQueue.Open(inPlace))
        {
            using var reader = queue.OpenReader("fwd");
            Assert.Equal(["r3", "r4", "r5", "r6"], ReadAll(reader).Select(Text));
            reader.Commit(4);
        }

        await using (var queue = DurableQueue.Open(dir.Options()))
        {
            using var reader = queue.OpenReader("fwd");
            Assert.Equal(["r5", "r6"], ReadAll(reader).Select(Text));
        }
    }

    /// <summary>The sequence in each whole, valid 16-byte slot of a cursor file (-1 for an invalid slot).</summary>
    private static long[] CursorSlots(byte[] file) =>
        [.. Enumerable.Range(0, file.Length / 16).Select(slot =>
        {
            var s = file.AsSpan(slot * 16, 16);
            return s[..4].SequenceEqual("FLQC"u8) && System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(s[12..]) == Crc32C.Compute(s[..12])
                ? System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(s[4..])
                : -1;
        })];

    [Fact]
    public void Open_CursorSyncIntervalOutOfRange_ErrorQuotesTheKey()
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options();
        options.CursorSyncInterval = TimeSpan.FromMinutes(5);
        var error = Assert.Throws<ArgumentException>(() => DurableQueue.Open(options));
        Assert.Contains("`CursorSyncInterval`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TryReadBatch_FilterOnFirstByte_OtherKindsPassedOverAndCommittable()
    {
        using var dir = new QueueTestDirectory();
        await using (var queue = DurableQueue.Open(dir.Options()))
        {
            var big = new byte[200_000];
            big[0] = 1;
            await queue.AppendBatchAsync([big, Kind(2, "m1"), Kind(1, "s1"), Kind(2, "m2"), Kind(1, "s2")]);
            using var metrics = queue.OpenReader("metrics");
            var got = new List<QueueRecord>();
            while (metrics.TryReadBatch(100, 1 << 20, got, static b => b == 2))
            {
            }

            Assert.Equal(["m1", "m2"], got.Select(r => Encoding.UTF8.GetString(r.Payload.Span[1..])));
            Assert.Equal([2L, 4L], got.Select(r => r.Sequence));
            Assert.Equal(5, metrics.LastReadSequence);
            metrics.Commit(metrics.LastReadSequence);

            using var logs = queue.OpenReader("logs");
            var other = new List<QueueRecord>();
            while (logs.TryReadBatch(100, 1 << 20, other, static b => b != 2))
            {
            }

            Assert.Equal([1L, 3L, 5L], other.Select(r => r.Sequence));
            Assert.Equal(200_000, other[0].Payload.Length);
        }

        await using var reopened = DurableQueue.Open(dir.Options());
        using var again = reopened.OpenReader("metrics");
        Assert.False(again.TryReadBatch(100, 1 << 20, [], static b => b == 2));
        Assert.False(again.TryReadBatch(100, 1 << 20, []));

        static ReadOnlyMemory<byte> Kind(byte kind, string text) => (byte[])[kind, .. Encoding.UTF8.GetBytes(text)];
    }

    [Fact]
    public async Task AppendBatch_ThreeRecords_ConsecutiveSequencesAndOneResult()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        await queue.AppendAsync(Payload("zero"));

        var result = await queue.AppendBatchAsync([Payload("a"), Payload("b"), Payload("c")]);

        using var reader = queue.OpenReader("store");
        Assert.Equal(new AppendResult(2, 4), result);
        Assert.Equal(["zero", "a", "b", "c"], ReadAll(reader).Select(Text));
        Assert.Equal(4, queue.GetStats().AppendedRecords);
    }

    [Fact]
    public async Task AppendBatch_Empty_ThrowsArgumentException()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        await Assert.ThrowsAsync<ArgumentException>(async () => await queue.AppendBatchAsync([]));
    }

    [Fact]
    public async Task Append_PayloadOverMaxRecordBytes_ThrowsArgumentOutOfRange()
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options();
        options.MaxRecordBytes = 10;
        await using var queue = DurableQueue.Open(options);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await queue.AppendAsync(new byte[11]));
    }

    [Fact]
    public async Task TryReadBatch_Limits_RespectsMaxRecordsAndMaxBytesButDeliversOneLargeRecord()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        await queue.AppendBatchAsync([new byte[100], new byte[100], new byte[100], new byte[5000], new byte[10]]);
        using var reader = queue.OpenReader("store");
        var batch = new List<QueueRecord>();

        Assert.True(reader.TryReadBatch(2, 1 << 20, batch));
        Assert.Equal([1L, 2L], batch.Select(r => r.Sequence));
        batch.Clear();
        Assert.True(reader.TryReadBatch(100, 150, batch));
        Assert.Equal([3L], batch.Select(r => r.Sequence));
        batch.Clear();
        Assert.True(reader.TryReadBatch(100, 150, batch));
        Assert.Equal(5000, Assert.Single(batch).Payload.Length);
        batch.Clear();
        Assert.True(reader.TryReadBatch(100, 150, batch));
        Assert.Equal(5L, Assert.Single(batch).Sequence);
        batch.Clear();
        Assert.False(reader.TryReadBatch(100, 150, batch));
    }

    [Fact]
    public async Task TryReadBatch_PayloadsKeptAcrossLaterReads_StillHoldTheirBytes()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        await queue.AppendAsync(Payload("first"));
        using var reader = queue.OpenReader("store");
        var kept = ReadAll(reader);
        await queue.AppendAsync(Payload("second"));

        var later = ReadAll(reader);

        Assert.Equal("first", Text(Assert.Single(kept)));
        Assert.Equal("second", Text(Assert.Single(later)));
    }

    [Fact]
    public async Task TryReadBatch_ReuseReadBuffers_NextReadsUseTheSameArrayAndEveryRecordIsIntact()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        var large = Filled(100_000, 7); // over the chunk size: an array of its own
        var thirds = new[] { Filled(30_000, 1), Filled(30_000, 2), Filled(30_000, 3) }; // one read spanning two chunks
        await queue.AppendBatchAsync([Payload("one"), Payload("two"), large, .. thirds, Payload("three")]);
        using var reader = queue.OpenReader("fwd");
        reader.ReuseReadBuffers = true;
        var batch = new List<QueueRecord>();

        Assert.True(reader.TryReadBatch(1, 1 << 20, batch));
        Assert.Equal("one", Text(Assert.Single(batch)));
        var first = ArrayOf(batch[0]);
        batch.Clear();
        Assert.True(reader.TryReadBatch(1, 1 << 20, batch));
        Assert.Equal("two", Text(Assert.Single(batch)));
        Assert.Same(first, ArrayOf(batch[0]));
        batch.Clear();
        Assert.True(reader.TryReadBatch(1, 1 << 20, batch));
        Assert.True(large.Span.SequenceEqual(Assert.Single(batch).Payload.Span));
        Assert.NotSame(first, ArrayOf(batch[0]));
        batch.Clear();
        Assert.True(reader.TryReadBatch(100, 1 << 20, batch));
        Assert.Equal(4, batch.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(thirds[i].Span.SequenceEqual(batch[i].Payload.Span));
        }

        Assert.Equal("three", Text(batch[3]));
        Assert.Same(first, ArrayOf(batch[0]));
        Assert.NotSame(first, ArrayOf(batch[2]));

        static ReadOnlyMemory<byte> Filled(int length, byte value)
        {
            var bytes = new byte[length];
            bytes.AsSpan().Fill(value);
            return bytes;
        }

        static byte[] ArrayOf(QueueRecord record) =>
            System.Runtime.InteropServices.MemoryMarshal.TryGetArray(record.Payload, out var segment) ? segment.Array! : throw new InvalidOperationException("not an array");
    }

    [Fact]
    public async Task WaitToReadAsync_NothingDurable_CompletesTrueAfterAppend()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        using var reader = queue.OpenReader("store");

        var wait = reader.WaitToReadAsync().AsTask();
        Assert.False(wait.IsCompleted);
        await queue.AppendAsync(Payload("x"));

        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("x", Text(Assert.Single(ReadAll(reader))));
    }

    [Fact]
    public async Task WaitToReadAsync_Cancelled_ThrowsOperationCanceled()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        using var reader = queue.OpenReader("store");
        using var cts = new CancellationTokenSource();

        var wait = reader.WaitToReadAsync(cts.Token).AsTask();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
    }

    [Fact]
    public async Task Stop_ReaderBlockedInWaitToRead_ReleasedWithFalse()
    {
        using var dir = new QueueTestDirectory();
        var queue = DurableQueue.Open(dir.Options());
        using var reader = queue.OpenReader("store");
        var wait = reader.WaitToReadAsync().AsTask();
        Assert.False(wait.IsCompleted);

        await queue.DisposeAsync();

        Assert.False(await wait.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(reader.TryReadBatch(10, 1000, []));
    }

    [Fact]
    public async Task Stop_CalledTwiceAndConcurrently_IsIdempotentAndRefusesAppends()
    {
        using var dir = new QueueTestDirectory();
        var queue = DurableQueue.Open(dir.Options());
        await queue.AppendAsync(Payload("x"));

        await Task.WhenAll(queue.StopAsync(), queue.StopAsync());
        await queue.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await queue.AppendAsync(Payload("late")));
        Assert.Throws<ObjectDisposedException>(() => queue.OpenReader("store"));
    }

    [Fact]
    public async Task Stop_AppendsPendingInGroupCommit_CompleteAndSurviveReopen()
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options();
        options.GroupCommitWindow = TimeSpan.FromMilliseconds(200);
        var queue = DurableQueue.Open(options);
        var pending = Enumerable.Range(0, 10).Select(i => queue.AppendAsync(Payload($"m{i}")).AsTask()).ToArray();

        await queue.StopAsync();

        var results = await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(10)); // none failed, none left hanging
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), results.Select(r => r.FirstSequence));
        await using var reopened = DurableQueue.Open(dir.Options());
        using var reader = reopened.OpenReader("store");
        Assert.Equal(10, ReadAll(reader).Count);
    }

    [Fact]
    public async Task OpenReader_SameNameTwice_ThrowsUntilFirstDisposed()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        var first = queue.OpenReader("store");

        Assert.Throws<InvalidOperationException>(() => queue.OpenReader("store"));
        first.Dispose();
        using var second = queue.OpenReader("store");
        Assert.Equal("store", second.Name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("elastic search")]
    public async Task OpenReader_BadName_ThrowsArgumentException(string name)
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        Assert.Throws<ArgumentException>(() => queue.OpenReader(name));
    }

    [Fact]
    public async Task Commit_BeyondDelivered_ThrowsArgumentOutOfRange()
    {
        using var dir = new QueueTestDirectory();
        await using var queue = DurableQueue.Open(dir.Options());
        await queue.AppendBatchAsync([Payload("a"), Payload("b")]);
        using var reader = queue.OpenReader("store");
        var batch = new List<QueueRecord>();
        reader.TryReadBatch(1, 1000, batch);

        Assert.Throws<ArgumentOutOfRangeException>(() => reader.Commit(2));
        reader.Commit(1);
        Assert.Equal(1, reader.CommittedSequence);
    }

    [Theory]
    [InlineData("", 64L << 20, 1L << 30, "`Directory`")]
    [InlineData("dir", 10, 1L << 30, "`MaxSegmentBytes`")]
    [InlineData("dir", 64L << 20, 100, "`MaxTotalBytes`")]
    public void Open_InvalidOption_ThrowsQuotingTheKey(string directory, long segment, long total, string key)
    {
        var options = new DurableQueueOptions { Directory = directory, MaxSegmentBytes = segment, MaxTotalBytes = total };
        var error = Assert.Throws<ArgumentException>(() => DurableQueue.Open(options));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConcurrentAppenders_EightTimesFiveThousand_EveryRecordReadOnceInPerAppenderOrder()
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options();
        options.Fsync = false; // the property under test is ordering, not fsync latency (40,000 awaited group commits)
        await using var queue = DurableQueue.Open(options);
        using var reader = queue.OpenReader("store");
        const int Appenders = 8, PerAppender = 5000;

        var received = new List<QueueRecord>();
        var consumer = Task.Run(async () =>
        {
            var batch = new List<QueueRecord>();
            while (received.Count < Appenders * PerAppender && await reader.WaitToReadAsync())
            {
                while (reader.TryReadBatch(512, 1 << 20, batch))
                {
                    received.AddRange(batch);
                    reader.Commit(batch[^1].Sequence);
                    batch.Clear();
                }
            }
        });
        var producers = Enumerable.Range(0, Appenders).Select(a => Task.Run(async () =>
        {
            for (var i = 0; i < PerAppender; i++)
            {
                await queue.AppendAsync(Payload($"{a}:{i}"));
            }
        })).ToArray();
        await Task.WhenAll(producers);
        await consumer.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(Appenders * PerAppender, received.Count);
        Assert.Equal(Enumerable.Range(1, Appenders * PerAppender).Select(i => (long)i), received.Select(r => r.Sequence));
        var next = new int[Appenders];
        foreach (var record in received)
        {
            var parts = Text(record).Split(':');
            var appender = int.Parse(parts[0], CultureInfo.InvariantCulture);
            Assert.Equal(next[appender]++, int.Parse(parts[1], CultureInfo.InvariantCulture));
        }

        Assert.All(next, n => Assert.Equal(PerAppender, n));
    }

    [Fact]
    public async Task ConcurrentAppenders_WithFsync_ShareGroupCommits()
    {
        using var dir = new QueueTestDirectory();
        var options = dir.Options();
        options.GroupCommitWindow = TimeSpan.FromMilliseconds(20);
        await using var queue = DurableQueue.Open(options);
        using var reader = queue.OpenReader("store");

        var appends = Enumerable.Range(0, 200).Select(i => queue.AppendAsync(Payload($"r{i}")).AsTask()).ToArray();
        var results = await Task.WhenAll(appends);

        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), results.Select(r => r.FirstSequence).Order());
        Assert.Equal(200, ReadAll(reader).Count);
        Assert.InRange(queue.GetStats().GroupCommits, 1, 199);
    }
}
