using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Diagnostics;
using Flotel.Pipeline.Queue;
using Flotel.Pipeline.Tests.Queue;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Pipeline.Tests.Delivery;

public sealed class QueueDeliveryTests : IDisposable
{
    private readonly QueueTestDirectory _dir = new();

    [Fact]
    public async Task Delivery_AllAccepted_SendsEveryItemInOrderAndCommits()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "a b c", "d e", "f");
        var sender = new ScriptedSender();
        await using (var delivery = Create(queue, sender, maxBatchItems: 2))
        {
            delivery.Start();
            await Until(() => delivery.Sent == 6);
            await delivery.StopAsync(TimeSpan.FromSeconds(5));
        }

        Assert.Equal(["a", "b", "c", "d", "e", "f"], sender.Accepted);
        Assert.All(sender.Batches, b => Assert.True(b.Length <= 2));
        using var reader = queue.OpenReader("out");
        Assert.Empty(QueueTestDirectory.ReadAll(reader));
    }

    [Fact]
    public async Task Delivery_RetryableFailures_RetriesSameBatchUntilAccepted()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "x y");
        var sender = new ScriptedSender(
            _ => DeliveryOutcome<string>.Retry("HTTP 503"),
            _ => throw new HttpRequestException("connection refused"),
            _ => DeliveryOutcome<string>.Retry("HTTP 429", TimeSpan.FromMilliseconds(20)));
        await using var delivery = Create(queue, sender);
        delivery.Start();
        await Until(() => delivery.Sent == 2);
        Assert.Equal(3, delivery.Retries);
        Assert.Equal(4, sender.Batches.Count);
        Assert.All(sender.Batches, b => Assert.Equal(["x", "y"], b));
        Assert.Equal(0, delivery.DeadLettered + delivery.Dropped + delivery.Lost);
    }

    [Fact]
    public async Task Delivery_PartialOutcome_RetriesOnlyRemainingItemsAndSettlesFailures()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "ok1 retry bad dup ok2");
        var sender = new ScriptedSender(batch => DeliveryOutcome<string>.Partial(
            ["retry"],
            [new ItemFailure<string>("bad", "http_400", "mapper_parsing_exception", FailureAction.DeadLetter),
             new ItemFailure<string>("dup", "version_conflict", "409", FailureAction.Drop)],
            "HTTP 429"));
        var deadLetters = new MemoryDeadLetters();
        await using var delivery = Create(queue, sender, deadLetters: deadLetters);
        delivery.Start();
        await Until(() => delivery.Sent == 3);
        Assert.Equal(1, delivery.DeadLettered);
        Assert.Equal(1, delivery.Dropped);
        Assert.Equal(["bad"], deadLetters.Items.Select(f => f.Item));
        Assert.Equal(["retry"], sender.Batches[1]);
    }

    [Fact]
    public async Task Delivery_TooLarge_HalvesUntilAcceptedAndDeadLettersSingleOversizedItem()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "a b c d HUGE");
        var sender = new ScriptedSender
        {
            Steady = batch => batch.Count > 2 || batch.Contains("HUGE") ? DeliveryOutcome<string>.TooLarge("HTTP 413") : DeliveryOutcome<string>.Success,
        };
        var deadLetters = new MemoryDeadLetters();
        await using var delivery = Create(queue, sender, deadLetters: deadLetters);
        delivery.Start();
        await Until(() => delivery.Sent == 4 && delivery.DeadLettered == 1);
        Assert.Equal(["a", "b", "c", "d"], sender.Accepted);
        Assert.Equal("too_large", deadLetters.Items.Single().Code);
    }

    [Fact]
    public async Task Delivery_Rejected_DeadLettersWholeBatchAndMovesOn()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "p q", "r");
        var sender = new ScriptedSender(_ => DeliveryOutcome<string>.Reject("http_400", "HTTP 400: out of order sample"));
        // The first batch (p q) is rejected, the second (r) accepted.
        var path = Path.Combine(_dir.Path, "dead", "out.ndjson");
        using var file = new DeadLetterFile<string>(path, (w, s) => w.WriteStringValue(s));
        await using var delivery = Create(queue, sender, deadLetters: file, maxBatchItems: 2);
        delivery.Start();
        await Until(() => delivery.Sent == 1 && delivery.DeadLettered == 2);
        var lines = await File.ReadAllLinesAsync(path);
        Assert.Equal(2, lines.Length);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal("out", first.GetProperty("output").GetString());
        Assert.Equal("HTTP 400: out of order sample", first.GetProperty("reason").GetString());
        Assert.Equal("p", first.GetProperty("item").GetString());
        Assert.Equal("q", JsonDocument.Parse(lines[1]).RootElement.GetProperty("item").GetString());
    }

    [Fact]
    public async Task Delivery_DeadLetterFileFull_CountsItemsAsLost()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "a b");
        var sender = new ScriptedSender { Steady = _ => DeliveryOutcome<string>.Reject("http_400", "bad") };
        using var file = new DeadLetterFile<string>(Path.Combine(_dir.Path, "dl.ndjson"), (w, s) => w.WriteStringValue(s), maxBytes: 10);
        var registry = new MetricsRegistry();
        await using var delivery = Create(queue, sender, deadLetters: file, registry: registry);
        delivery.Start();
        await Until(() => delivery.Lost == 2);
        Assert.Equal(0, delivery.DeadLettered);
        Assert.Contains("flotel_output_items_total{output=\"out\",result=\"lost\",reason=\"dead_letter_full\"} 2", registry.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delivery_StoppedWhilePeerDown_LeavesRecordsForNextStart()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "one two");
        var down = new ScriptedSender { Steady = _ => DeliveryOutcome<string>.Retry("connection refused") };
        var first = Create(queue, down);
        first.Start();
        await Until(() => first.Retries >= 1);
        await first.StopAsync(TimeSpan.FromMilliseconds(100));
        await first.DisposeAsync();
        Assert.Equal(0, first.Sent);

        var up = new ScriptedSender();
        await using var second = Create(queue, up);
        second.Start();
        await Until(() => second.Sent == 2);
        Assert.Equal(["one", "two"], up.Accepted);
    }

    [Fact]
    public async Task Delivery_UndecodableRecord_CountedAndSkipped()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "a", "!garbage", "b");
        var sender = new ScriptedSender();
        await using var delivery = Create(queue, sender);
        delivery.Start();
        await Until(() => delivery.Sent == 2);
        Assert.Equal(1, delivery.Undecodable);
        Assert.Equal(["a", "b"], sender.Accepted);
    }

    [Fact]
    public async Task Delivery_MaxReadBytesAboveBatchBytes_ReadsManyRecordsButCutsBatchesByItemBytes()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        await AppendAsync(queue, "a b c", "d", "e f g", "h");
        var sender = new ScriptedSender();
        var options = new DeliveryOptions { MaxBatchBytes = 4, MaxReadBytes = 1 << 20, RetryInitial = TimeSpan.FromMilliseconds(5), RetryMax = TimeSpan.FromMilliseconds(20) };
        await using (var delivery = new QueueDelivery<string>("out", queue.OpenReader("out"), new WordDecoder(), sender, null, options, new MetricsRegistry(), TimeProvider.System, NullLogger.Instance))
        {
            delivery.Start();
            await Until(() => delivery.Sent == 8);
            await delivery.StopAsync(TimeSpan.FromSeconds(5));
        }

        // One read took every record, so each batch is filled up to its 4 item bytes across record boundaries; with
        // the read budget tied to MaxBatchBytes (4 payload bytes) the batches would be [a b c] [d e f g] [h].
        Assert.Equal([["a", "b", "c", "d"], ["e", "f", "g", "h"]], sender.Batches);
    }

    [Fact]
    public async Task Delivery_WithLinger_GathersRecordsArrivingOneByOneAfterTheQueueRanEmpty()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        var sender = new ScriptedSender();
        await using (var delivery = Lingering(queue, sender, TimeSpan.FromSeconds(5)))
        {
            delivery.Start();
            await AppendAsync(queue, "a");
            await Until(() => delivery.Sent == 1);
            // Each append is durable before the next: without the linger the reader would wake for "b" alone.
            await AppendAsync(queue, "b");
            await AppendAsync(queue, "c");
            await Until(() => delivery.Sent == 3);
            await delivery.StopAsync(TimeSpan.FromSeconds(5));
        }

        Assert.Equal([["a"], ["b", "c"]], sender.Batches);
    }

    [Fact]
    public async Task Delivery_StoppedWhileLingering_DeliversWhatCameBeforeTheDeadline()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        var sender = new ScriptedSender();
        await using (var delivery = Lingering(queue, sender, TimeSpan.FromSeconds(10)))
        {
            delivery.Start();
            await AppendAsync(queue, "a");
            await Until(() => delivery.Sent == 1);
            await AppendAsync(queue, "b");
            // The drain ends the linger: "b" is sent and committed well within the 5 s stop deadline.
            await delivery.StopAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(2, delivery.Sent);
        }

        using var reader = queue.OpenReader("out");
        Assert.Empty(QueueTestDirectory.ReadAll(reader));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11_000)]
    public void DeliveryOptions_LingerOutOfRange_IsRejected(int milliseconds)
    {
        var options = new DeliveryOptions { Linger = TimeSpan.FromMilliseconds(milliseconds) };
        var error = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal("Linger", error.ParamName);
    }

    [Fact]
    public void DeliveryOptions_MaxReadBytesZero_IsRejected()
    {
        var options = new DeliveryOptions { MaxReadBytes = 0 };
        var error = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal("MaxReadBytes", error.ParamName);
    }

    [Fact]
    public async Task StopAsync_WithoutStart_IsSafeAndIdempotent()
    {
        await using var queue = DurableQueue.Open(_dir.Options());
        var delivery = Create(queue, new ScriptedSender());
        await delivery.StopAsync(TimeSpan.FromSeconds(1));
        await delivery.StopAsync(TimeSpan.FromSeconds(1));
        await delivery.DisposeAsync();
    }

    [Theory]
    [InlineData(200, HttpStatusClassifier.Kind.Success)]
    [InlineData(204, HttpStatusClassifier.Kind.Success)]
    [InlineData(400, HttpStatusClassifier.Kind.Permanent)]
    [InlineData(401, HttpStatusClassifier.Kind.Permanent)]
    [InlineData(404, HttpStatusClassifier.Kind.Permanent)]
    [InlineData(408, HttpStatusClassifier.Kind.Retryable)]
    [InlineData(413, HttpStatusClassifier.Kind.TooLarge)]
    [InlineData(429, HttpStatusClassifier.Kind.Retryable)]
    [InlineData(500, HttpStatusClassifier.Kind.Retryable)]
    [InlineData(503, HttpStatusClassifier.Kind.Retryable)]
    [InlineData(302, HttpStatusClassifier.Kind.Permanent)]
    public void Classify_StatusCode_FollowsRemoteWriteRules(int status, HttpStatusClassifier.Kind expected) =>
        Assert.Equal(expected, HttpStatusClassifier.Classify((HttpStatusCode)status));

    [Fact]
    public void RetryAfter_SecondsAndDate_BothParsed()
    {
        var now = new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);
        using var a = new HttpResponseMessage();
        a.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
        Assert.Equal(TimeSpan.FromSeconds(7), HttpStatusClassifier.RetryAfter(a.Headers, now));
        using var b = new HttpResponseMessage();
        b.Headers.RetryAfter = new RetryConditionHeaderValue(now.AddSeconds(30));
        Assert.Equal(TimeSpan.FromSeconds(30), HttpStatusClassifier.RetryAfter(b.Headers, now));
        using var c = new HttpResponseMessage();
        Assert.Null(HttpStatusClassifier.RetryAfter(c.Headers, now));
    }

    [Fact]
    public void Backoff_GrowsCappedWithJitterAndHonoursRetryAfter()
    {
        var backoff = new RetryBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), new Random(1));
        for (var attempt = 0; attempt < 12; attempt++)
        {
            var ceiling = Math.Min(100 * Math.Pow(2, attempt), 2000);
            var wait = backoff.Next(attempt).TotalMilliseconds;
            Assert.InRange(wait, ceiling / 2, ceiling);
        }

        Assert.Equal(TimeSpan.FromSeconds(10), backoff.Next(0, TimeSpan.FromSeconds(10)));
        Assert.Equal(backoff.MaxRetryAfter, backoff.Next(0, TimeSpan.FromHours(3)));
    }

    public void Dispose() => _dir.Dispose();

    private static QueueDelivery<string> Lingering(DurableQueue queue, ScriptedSender sender, TimeSpan linger) =>
        new("out", queue.OpenReader("out"), new WordDecoder(), sender, null,
            new DeliveryOptions { Linger = linger, RetryInitial = TimeSpan.FromMilliseconds(5), RetryMax = TimeSpan.FromMilliseconds(20) },
            new MetricsRegistry(), TimeProvider.System, NullLogger.Instance);

    private static QueueDelivery<string> Create(
        DurableQueue queue, IBatchSender<string> sender, IDeadLetterSink<string>? deadLetters = null, int maxBatchItems = 100, MetricsRegistry? registry = null) =>
        new("out", queue.OpenReader("out"), new WordDecoder(), sender, deadLetters,
            new DeliveryOptions { MaxBatchItems = maxBatchItems, RetryInitial = TimeSpan.FromMilliseconds(5), RetryMax = TimeSpan.FromMilliseconds(20) },
            registry ?? new MetricsRegistry(), TimeProvider.System, NullLogger.Instance);

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

    /// <summary>Records hold space-separated words; a record starting with '!' cannot be decoded.</summary>
    private sealed class WordDecoder : IRecordDecoder<string>
    {
        public bool TryDecode(QueueRecord record, List<(string Item, int Bytes)> into)
        {
            var text = Encoding.UTF8.GetString(record.Payload.Span);
            if (text.StartsWith('!'))
            {
                return false;
            }

            foreach (var word in text.Split(' '))
            {
                into.Add((word, word.Length));
            }

            return true;
        }
    }

    /// <summary>Answers with the scripted outcomes in turn, then with <c>steady</c> (default: success).</summary>
    private sealed class ScriptedSender(params Func<IReadOnlyList<string>, DeliveryOutcome<string>>[] script) : IBatchSender<string>
    {
        private int _calls;

        public Func<IReadOnlyList<string>, DeliveryOutcome<string>>? Steady { get; init; }

        public ConcurrentQueue<string> AcceptedQueue { get; } = new();

        public List<string> Accepted => [.. AcceptedQueue];

        public List<string[]> Batches { get; } = [];

        public ValueTask<DeliveryOutcome<string>> SendAsync(IReadOnlyList<string> batch, CancellationToken cancellationToken)
        {
            lock (Batches)
            {
                Batches.Add([.. batch]);
            }

            var call = _calls++;
            var outcome = call < script.Length ? script[call](batch) : (Steady ?? (_ => DeliveryOutcome<string>.Success))(batch);
            if (outcome is DeliveryOutcome<string>.Delivered)
            {
                foreach (var item in batch)
                {
                    AcceptedQueue.Enqueue(item);
                }
            }
            else if (outcome is DeliveryOutcome<string>.PartiallyDelivered partial)
            {
                foreach (var item in batch)
                {
                    if (!partial.RetryItems.Contains(item) && !partial.Failed.Any(f => f.Item == item))
                    {
                        AcceptedQueue.Enqueue(item);
                    }
                }
            }

            return ValueTask.FromResult(outcome);
        }
    }

    private sealed class MemoryDeadLetters : IDeadLetterSink<string>
    {
        public List<ItemFailure<string>> Items { get; } = [];

        public ValueTask<int> WriteAsync(string output, IReadOnlyList<ItemFailure<string>> failures, CancellationToken cancellationToken)
        {
            Items.AddRange(failures);
            return ValueTask.FromResult(0);
        }
    }
}
