using System.Collections.Concurrent;
using System.Text;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Flotel.Pipeline.Tests.Queue;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Pipeline.Tests.Delivery;

/// <summary>
/// What the driver offers a sender beyond one call per batch: a deferred commit (<see cref="IFlushingSender"/>), a send
/// ahead, idle work, a replay from the committed cursor and the sender's own counters (<see cref="ISelfReportingSender"/>).
/// </summary>
public sealed class QueueDeliveryCapabilityTests : IDisposable
{
    private readonly QueueTestDirectory _dir = new();

    [Fact]
    public async Task ReplayFromCommitted_SendThrows_DeliversAgainFromCursorWithTheBatchReadAhead()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "a", "b", "c");
        var sender = new StoreLikeSender { FailOnce = "b" };
        var registry = new MetricsRegistry();
        await using (var delivery = Create(queue, sender, Options(sendAhead: true, replay: true), registry))
        {
            delivery.Start();
            await Until(() => sender.Accepted.Count == 3);
            await delivery.StopAsync(TimeSpan.FromSeconds(5));
        }

        // a was written; b failed while c was read ahead; both come again from the cursor, each written once.
        Assert.Equal(["a", "b", "c"], sender.Accepted);
        Assert.Equal([["a"], ["b"], ["b"], ["c"]], sender.Batches);
        var failure = Assert.Single(sender.Failures);
        Assert.Equal("refused: b", failure.Error.Message);
        Assert.Equal(TimeSpan.FromMilliseconds(5), failure.RetryIn); // no jitter: exactly the first wait
        Assert.DoesNotContain("flotel_output_", registry.ToText(), StringComparison.Ordinal);
        Assert.Equal(0, Lag(queue));
    }

    [Fact]
    public async Task ReplayFromCommitted_FailuresInARow_WaitDoublingAndStartOverAfterASuccess()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "a");
        var sender = new StoreLikeSender { FailTimes = 3 };
        await using var delivery = Create(queue, sender, Options(sendAhead: false, replay: true), new MetricsRegistry());
        delivery.Start();
        await Until(() => sender.Accepted.Count == 1);
        Assert.Equal([5.0, 10.0, 20.0], sender.Failures.Select(f => f.RetryIn.TotalMilliseconds));

        sender.FailTimes = 1;
        await AppendAsync(queue, "b");
        await Until(() => sender.Accepted.Count == 2);
        Assert.Equal(5.0, sender.Failures[^1].RetryIn.TotalMilliseconds);
    }

    [Fact]
    public async Task SendAhead_BatchInFlight_NextBatchIsReadAndDecodedButNotCommitted()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "a", "b");
        var sender = new StoreLikeSender { Gate = new TaskCompletionSource() };
        var decoder = new CountingDecoder();
        await using var delivery = new QueueDelivery<string>(
            "out", queue.OpenReader("out"), decoder, sender, null, Options(sendAhead: true, replay: false), new MetricsRegistry(), TimeProvider.System,
            NullLogger.Instance);
        delivery.Start();

        // The first send waits at the gate; the second record is decoded meanwhile, and nothing is committed yet.
        await Until(() => decoder.Decoded == 2);
        Assert.Equal(2, Lag(queue));
        Assert.Empty(sender.Accepted);

        sender.Gate.SetResult();
        await Until(() => Lag(queue) == 0);
        Assert.Equal(["a", "b"], sender.Accepted);
    }

    [Fact]
    public async Task FlushInterval_BatchesAccepted_CursorMovesOnlyAfterTheFlush()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "a", "b");
        var sender = new StoreLikeSender { FlushGate = new TaskCompletionSource() };
        await using var delivery = Create(queue, sender, Options(sendAhead: false, replay: true, flush: TimeSpan.FromHours(1)), new MetricsRegistry());
        delivery.Start();

        // The queue is empty, so the driver flushes at once; until the flush returns, the cursor stays put.
        await Until(() => sender.Flushes == 1);
        Assert.Equal(["a", "b"], sender.Accepted);
        Assert.Equal(2, Lag(queue));

        sender.FlushGate.SetResult();
        await Until(() => Lag(queue) == 0);
    }

    [Fact]
    public async Task MinIdleFlushInterval_RecordsArrivingOneByOne_FlushOncePerIntervalNotPerRecord()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        var sender = new StoreLikeSender();
        var options = Options(sendAhead: false, replay: true, flush: TimeSpan.FromHours(1));
        options.MinIdleFlushInterval = TimeSpan.FromSeconds(8);
        await using var delivery = Create(queue, sender, options, new MetricsRegistry());
        delivery.Start();
        foreach (var record in new[] { "a", "b", "c", "d" })
        {
            await AppendAsync(queue, record);
            await Until(() => sender.Accepted.Contains(record));
        }

        // The queue ran empty after each record; only the interval's end flushes, once for all of them.
        await Until(() => Lag(queue) == 0);
        Assert.Equal(["a", "b", "c", "d"], sender.Accepted);
        Assert.Equal(1, sender.Flushes);
    }

    [Fact]
    public async Task Linger_WithSendAhead_CommitsTheBatchSentAheadBeforeWaiting()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        var sender = new StoreLikeSender();
        var options = Options(sendAhead: true, replay: true);
        options.Linger = TimeSpan.FromSeconds(10);
        options.MaxQueueRecords = 16;
        // A clock that never moves: the linger lasts until the stop, so only a commit before the wait empties the lag.
        var frozen = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        await using var delivery = new QueueDelivery<string>("out", queue.OpenReader("out"), new CountingDecoder(), sender, null, options,
            new MetricsRegistry(), frozen, NullLogger.Instance, reopenReader: () => queue.OpenReader("out"));
        delivery.Start();
        await AppendAsync(queue, "a");
        await Until(() => sender.Accepted.Count == 1);
        await Until(() => Lag(queue) == 0);
        await delivery.StopAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task FlushInterval_FlushFails_NothingCommittedAndTheFailureReported()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "a");
        var sender = new StoreLikeSender { FlushFails = true };
        await using (var delivery = Create(queue, sender, Options(sendAhead: false, replay: true, flush: TimeSpan.FromHours(1)), new MetricsRegistry()))
        {
            delivery.Start();
            await Until(() => sender.Failures.Count >= 1);
            await delivery.StopAsync(TimeSpan.FromSeconds(5));
        }

        Assert.Equal(TimeSpan.Zero, sender.Failures[0].RetryIn);
        Assert.Equal(1, Lag(queue));
        using var reader = queue.OpenReader("out");
        Assert.Equal(["a"], QueueTestDirectory.ReadAll(reader).Select(r => Encoding.UTF8.GetString(r.Payload.Span)));
    }

    [Fact]
    public async Task FlushInterval_Stop_FlushesAndCommitsWhatWasAccepted()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        var sender = new StoreLikeSender();
        await using (var delivery = Create(queue, sender, Options(sendAhead: false, replay: true, flush: TimeSpan.FromHours(1)), new MetricsRegistry()))
        {
            delivery.Start();
            await AppendAsync(queue, "a");
            await Until(() => sender.Accepted.Count == 1);
            await delivery.StopAsync(TimeSpan.FromSeconds(5));
        }

        Assert.True(sender.Flushes >= 1);
        Assert.Equal(0, Lag(queue));
    }

    [Fact]
    public async Task IdleWork_QueueEmpty_StepsRunUntilNoneIsLeft()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "a");
        var sender = new StoreLikeSender { IdleSteps = 3 };
        await using var delivery = Create(queue, sender, Options(sendAhead: true, replay: true), new MetricsRegistry());
        delivery.Start();
        await Until(() => sender.IdleSteps == 0);
        Assert.Equal(["a"], sender.Accepted);
        Assert.Equal(3, sender.IdleStepsRun);
    }

    [Fact]
    public async Task Constructor_CapabilityWithoutWhatItNeeds_IsRefused()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        var plain = new PlainSender();
        using (var reader = queue.OpenReader("one"))
        {
            Assert.Throws<ArgumentException>(() => new QueueDelivery<string>(
                "one", reader, new CountingDecoder(), plain, null, Options(sendAhead: false, replay: false, flush: TimeSpan.FromSeconds(1)), new MetricsRegistry(), TimeProvider.System, NullLogger.Instance));
            Assert.Throws<ArgumentException>(() => new QueueDelivery<string>(
                "one", reader, new CountingDecoder(), plain, null, Options(sendAhead: false, replay: true), new MetricsRegistry(), TimeProvider.System, NullLogger.Instance));
            reader.ReuseReadBuffers = true;
            Assert.Throws<ArgumentException>(() => new QueueDelivery<string>(
                "one", reader, new CountingDecoder(), plain, null, Options(sendAhead: true, replay: false), new MetricsRegistry(), TimeProvider.System, NullLogger.Instance));
        }
    }

    [Fact]
    public void Backoff_WithoutJitter_DoublesExactlyUpToTheCap()
    {
        var backoff = new RetryBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(30)) { Jitter = false };
        Assert.Equal(
            [100.0, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000],
            Enumerable.Range(0, 11).Select(attempt => backoff.Next(attempt).TotalMilliseconds));
    }

    public void Dispose() => _dir.Dispose();

    private static DeliveryOptions Options(bool sendAhead, bool replay, TimeSpan? flush = null) => new()
    {
        MaxQueueRecords = 1,
        RetryInitial = TimeSpan.FromMilliseconds(5),
        RetryMax = TimeSpan.FromMilliseconds(40),
        RetryJitter = false,
        SendAhead = sendAhead,
        OnSendException = replay ? SendFailurePolicy.ReplayFromCommitted : SendFailurePolicy.RetryBatch,
        FlushInterval = flush,
    };

    private static QueueDelivery<string> Create(DurableQueue queue, IBatchSender<string> sender, DeliveryOptions options, MetricsRegistry registry) =>
        new("out", queue.OpenReader("out"), new CountingDecoder(), sender, null, options, registry, TimeProvider.System, NullLogger.Instance,
            reopenReader: () => queue.OpenReader("out"));

    private static long Lag(DurableQueue queue) => queue.GetStats().Readers.Single(r => r.Name == "out").Lag;

    private static async Task AppendAsync(DurableQueue queue, params string[] records)
    {
        foreach (var record in records)
        {
            await queue.AppendAsync(Encoding.UTF8.GetBytes(record));
        }
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 20 s");
            await Task.Delay(10);
        }
    }

    /// <summary>One item per record, its text.</summary>
    private sealed class CountingDecoder : IRecordDecoder<string>
    {
        private int _decoded;

        public int Decoded => Volatile.Read(ref _decoded);

        public bool TryDecode(QueueRecord record, List<(string Item, int Bytes)> into)
        {
            into.Add((Encoding.UTF8.GetString(record.Payload.Span), record.Payload.Length));
            Interlocked.Increment(ref _decoded);
            return true;
        }
    }

    private sealed class PlainSender : IBatchSender<string>
    {
        public ValueTask<DeliveryOutcome<string>> SendAsync(IReadOnlyList<string> batch, CancellationToken cancellationToken) =>
            ValueTask.FromResult(DeliveryOutcome<string>.Success);
    }

    /// <summary>Writes whole or throws, like a local store; flushes, idles and reports for itself.</summary>
    private sealed class StoreLikeSender : IBatchSender<string>, IFlushingSender, IIdleWorkSender, ISelfReportingSender
    {
        private readonly ConcurrentQueue<string> _accepted = new();
        private readonly ConcurrentQueue<string[]> _batches = new();
        private readonly ConcurrentQueue<(Exception Error, TimeSpan RetryIn)> _failures = new();
        private string? _failOnce;
        private int _flushes;

        public string? FailOnce { get => _failOnce; init => _failOnce = value; }

        public int FailTimes { get; set; }

        public TaskCompletionSource? Gate { get; init; }

        public TaskCompletionSource? FlushGate { get; init; }

        public bool FlushFails { get; init; }

        public int IdleSteps { get; set; }

        public int IdleStepsRun { get; private set; }

        public List<string> Accepted => [.. _accepted];

        public List<string[]> Batches => [.. _batches];

        public List<(Exception Error, TimeSpan RetryIn)> Failures => [.. _failures];

        public int Flushes => Volatile.Read(ref _flushes);

        public bool HasIdleWork => IdleSteps > 0;

        public async ValueTask<DeliveryOutcome<string>> SendAsync(IReadOnlyList<string> batch, CancellationToken cancellationToken)
        {
            _batches.Enqueue([.. batch]);
            if (Gate is not null)
            {
                await Gate.Task;
            }

            if (FailTimes > 0)
            {
                FailTimes--;
                throw new InvalidOperationException("refused");
            }

            if (_failOnce is { } refused && batch.Contains(refused))
            {
                _failOnce = null;
                throw new InvalidOperationException("refused: " + refused);
            }

            foreach (var item in batch)
            {
                _accepted.Enqueue(item);
            }

            return DeliveryOutcome<string>.Success;
        }

        public async ValueTask FlushAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _flushes);
            if (FlushGate is not null)
            {
                await FlushGate.Task;
            }

            if (FlushFails)
            {
                throw new IOException("disk gone");
            }
        }

        public ValueTask RunIdleStepAsync(CancellationToken cancellationToken)
        {
            IdleSteps--;
            IdleStepsRun++;
            return ValueTask.CompletedTask;
        }

        public void ReportUndecodable(QueueRecord record)
        {
        }

        public void ReportFailure(Exception error, TimeSpan retryIn) => _failures.Enqueue((error, retryIn));
    }
}
