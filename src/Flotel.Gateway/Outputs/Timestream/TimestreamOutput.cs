using System.Globalization;
using System.Net;
using System.Text.Json;
using Flotel.Gateway.Outputs.Hosting;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;
using Flotel.Wire.Aws;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs.Timestream;

/// <summary>
/// The <c>timestream</c> output on the shared <see cref="OutputHost{T}"/>: metric records → <see cref="SampleRecordDecoder"/>
/// (one record per sample) → batches of at most 100 → per batch: <see cref="WriteRecordsEncoder.Check"/> (bad records
/// settled before sending: NaN/±Inf and stale markers dropped and counted, records outside Timestream's limits or time
/// window dead-lettered), <see cref="WriteRecordsEncoder.Encode"/>, <see cref="TimestreamClient"/>,
/// <see cref="TimestreamResponseClassifier"/>. Dead letters go to <c>DATA/dead-letter/NAME.ndjson</c> as
/// <c>{"labels":{…},"samples":[[ms,value]]}</c>. Its HTTP client is its own (SigV4, endpoint discovery), not the host's.
/// </summary>
public sealed class TimestreamOutput : OutputHost<TimeSeries>
{
    /// <summary>The logger category of the output and its client.</summary>
    private const string LoggerCategory = "Flotel.Gateway.Outputs.Timestream";

    private readonly WriteRecordsEncoder _encoder;
    private readonly TimestreamClient _client;

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
        : base(context, Settings(options, delivery))
    {
        credentials ??= Own(new AwsCredentialChain(options.Profile)).GetAsync;
        _encoder = new WriteRecordsEncoder(options);
        _client = Own(new TimestreamClient(
            options,
            credentials,
            handler ?? new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(10),
                AutomaticDecompression = DecompressionMethods.None,
            },
            context.Time,
            context.LoggerFactory.CreateLogger(LoggerCategory)));
    }

    /// <summary>The registry's entry for <c>type: timestream</c>.</summary>
    public static OutputDefinition Definition { get; } = OutputDefinition.Of<TimestreamOptions>(
        TimestreamOptions.TypeName, static (options, context) => new TimestreamOutput(options, context), nullAfterError: true);

    /// <summary>The client (endpoint in use, discoveries).</summary>
    public TimestreamClient Client => _client;

    /// <summary>Checks, encodes and sends one batch (≤ 100 one-sample series); the driver settles the outcome.</summary>
    public override async ValueTask<DeliveryOutcome<TimeSeries>> SendAsync(IReadOnlyList<TimeSeries> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var now = Time.GetUtcNow();
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

    private static OutputHostSettings<TimeSeries> Settings(TimestreamOptions options, DeliveryOptions? delivery)
    {
        ArgumentNullException.ThrowIfNull(options);
        delivery ??= new DeliveryOptions();
        delivery.MaxBatchItems = Math.Min(delivery.MaxBatchItems, options.MaxRecordsPerRequest);
        return new OutputHostSettings<TimeSeries>
        {
            Name = options.Name,
            Kinds = RecordKinds.Metrics,
            Decoder = new SampleRecordDecoder(),
            DeadLetterItem = DeadLetterJson.WriteSeries,
            Delivery = delivery,
            LoggerCategory = LoggerCategory,
        };
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
