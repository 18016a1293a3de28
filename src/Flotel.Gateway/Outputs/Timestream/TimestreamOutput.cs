using System.Globalization;
using System.Net;
using System.Text.Json;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Wire.Aws;

namespace Flotel.Gateway.Outputs.Timestream;

/// <summary>
/// The <c>timestream</c> output (wiring only, style rule 1): its own queue reader → <see cref="SampleRecordDecoder"/>
/// (one record per sample) → the shared <see cref="QueueDelivery{T}"/> in batches of at most 100 → per batch:
/// <see cref="WriteRecordsEncoder.Check"/> (bad records settled before sending: NaN/±Inf and stale markers dropped
/// and counted, records outside Timestream's limits or time window dead-lettered), <see cref="WriteRecordsEncoder.Encode"/>,
/// <see cref="TimestreamClient"/>, <see cref="TimestreamResponseClassifier"/>. Dead letters go to
/// <c>DATA/dead-letter/NAME.ndjson</c> as <c>{"labels":{…},"samples":[[ms,value]]}</c>.
/// </summary>
public sealed class TimestreamOutput : IGatewayOutput, IBatchSender<TimeSeries>
{
    private readonly WriteRecordsEncoder _encoder;
    private readonly TimestreamClient _client;
    private readonly DeadLetterFile<TimeSeries> _deadLetters;
    private readonly AwsCredentialChain? _chain;
    private readonly TimeProvider _time;

    /// <param name="options">Validated options.</param>
    /// <param name="context">The gateway's output context.</param>
    /// <param name="credentials">Credentials provider; default the AWS chain (<see cref="AwsCredentialChain"/>).</param>
    /// <param name="handler">HTTP handler; default a pooled <see cref="SocketsHttpHandler"/>.</param>
    /// <param name="delivery">Driver options; <see cref="DeliveryOptions.MaxBatchItems"/> is capped at <see cref="TimestreamOptions.MaxRecordsPerRequest"/>.</param>
    public TimestreamOutput(
        TimestreamOptions options,
        OutputContext context,
        Func<CancellationToken, ValueTask<AwsCredentials>>? credentials = null,
        HttpMessageHandler? handler = null,
        DeliveryOptions? delivery = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        Name = options.Name;
        _time = context.Time;
        if (credentials is null)
        {
            _chain = new AwsCredentialChain(options.Profile);
            credentials = _chain.GetAsync;
        }

        _encoder = new WriteRecordsEncoder(options);
        _client = new TimestreamClient(
            options,
            credentials,
            handler ?? new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(10),
                AutomaticDecompression = DecompressionMethods.None,
            },
            context.Time,
            context.LoggerFactory.CreateLogger("Flotel.Gateway.Outputs.Timestream"));
        _deadLetters = new DeadLetterFile<TimeSeries>(context.DeadLetterPath(Name), DeadLetterJson.WriteSeries, time: context.Time);
        delivery ??= new DeliveryOptions();
        delivery.MaxBatchItems = Math.Min(delivery.MaxBatchItems, options.MaxRecordsPerRequest);
        Delivery = new QueueDelivery<TimeSeries>(
            Name,
            context.Queue.OpenReader(Name),
            new SampleRecordDecoder(),
            this,
            _deadLetters,
            delivery,
            context.Metrics,
            context.Time,
            context.LoggerFactory.CreateLogger("Flotel.Gateway.Outputs.Timestream"));
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The driver (counters: sent, dead-lettered, dropped, retries).</summary>
    public QueueDelivery<TimeSeries> Delivery { get; }

    /// <summary>The client (endpoint in use, discoveries).</summary>
    public TimestreamClient Client => _client;

    /// <inheritdoc />
    public void Start() => Delivery.Start();

    /// <inheritdoc />
    public Task StopAsync(TimeSpan drainTimeout) => Delivery.StopAsync(drainTimeout);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Delivery.DisposeAsync().ConfigureAwait(false);
        _client.Dispose();
        _deadLetters.Dispose();
        _chain?.Dispose();
    }

    /// <summary>Checks, encodes and sends one batch (≤ 100 one-sample series); the driver settles the outcome.</summary>
    public async ValueTask<DeliveryOutcome<TimeSeries>> SendAsync(IReadOnlyList<TimeSeries> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var now = _time.GetUtcNow();
        List<ItemFailure<TimeSeries>>? settled = null;
        var valid = new List<TimeSeries>(batch.Count);
        foreach (var record in batch)
        {
            if (_encoder.Check(record, now) is { } failure)
            {
                (settled ??= []).Add(failure);
            }
            else
            {
                valid.Add(record);
            }
        }

        if (valid.Count == 0)
        {
            return DeliveryOutcome<TimeSeries>.Partial([], settled!);
        }

        var response = await _client.WriteRecordsAsync(_encoder.Encode(valid), cancellationToken).ConfigureAwait(false);
        var outcome = TimestreamResponseClassifier.Classify(response, valid);
        return settled is null ? outcome : Combine(outcome, valid, settled);
    }

    /// <summary>Adds the records settled before sending to the call's outcome, so each item is settled exactly once.</summary>
    private static DeliveryOutcome<TimeSeries> Combine(DeliveryOutcome<TimeSeries> outcome, List<TimeSeries> sent, List<ItemFailure<TimeSeries>> settled)
    {
        switch (outcome)
        {
            case DeliveryOutcome<TimeSeries>.Delivered:
                return DeliveryOutcome<TimeSeries>.Partial([], settled);
            case DeliveryOutcome<TimeSeries>.Retryable retry:
                return DeliveryOutcome<TimeSeries>.Partial(sent, settled, retry.Reason, retry.RetryAfter);
            case DeliveryOutcome<TimeSeries>.PartiallyDelivered partial:
                return DeliveryOutcome<TimeSeries>.Partial(partial.RetryItems, [.. settled, .. partial.Failed], partial.Reason, partial.RetryAfter);
            case DeliveryOutcome<TimeSeries>.RequestTooLarge tooLarge:
                // Only the valid records go again; the driver halves them if the next answer is 413 again.
                return DeliveryOutcome<TimeSeries>.Partial(sent, settled, tooLarge.Reason);
            case DeliveryOutcome<TimeSeries>.Rejected rejected:
                foreach (var record in sent)
                {
                    settled.Add(new ItemFailure<TimeSeries>(record, rejected.Code, rejected.Reason, FailureAction.DeadLetter));
                }

                return DeliveryOutcome<TimeSeries>.Partial([], settled);
            default:
                throw new InvalidOperationException($"Unknown outcome {outcome}.");
        }
    }
}
