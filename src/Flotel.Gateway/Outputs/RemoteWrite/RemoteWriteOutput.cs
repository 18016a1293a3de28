using Flotel.Gateway.Outputs.Shared;
using Flotel.Pipeline.Delivery;
using Flotel.Wire.RemoteWrite;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs.RemoteWrite;

/// <summary>
/// Wiring of <c>type: remote_write</c>: the queue reader named after the output → <see cref="SeriesSampleDecoder"/> →
/// <see cref="QueueDelivery{T}"/> (batches of at most <c>maxSamplesPerSend</c> samples, retries, counters) → this
/// sender (<see cref="RemoteWriteRequestEncoder"/>, <see cref="RemoteWriteClient"/>,
/// <see cref="RemoteWriteResponseClassifier"/>); refused samples go to <c>DATA/dead-letter/NAME.ndjson</c>.
/// One request in flight, so samples of a series arrive in order (the spec requires it per series).
/// </summary>
public sealed partial class RemoteWriteOutput : IGatewayOutput, IBatchSender<SeriesSample>
{
    private readonly HttpClient _http;
    private readonly RemoteWriteClient _client;
    private readonly DeadLetterFile<SeriesSample> _deadLetters;
    private readonly QueueDelivery<SeriesSample> _delivery;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RemoteWriteOptions _options;

    public RemoteWriteOutput(RemoteWriteOptions options, OutputContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        _options = options;
        _time = context.Time;
        _logger = context.LoggerFactory.CreateLogger<RemoteWriteOutput>();
        _http = options.Http.CreateClient();
        _client = new RemoteWriteClient(_http, options.Http);
        _deadLetters = new DeadLetterFile<SeriesSample>(context.DeadLetterPath(options.Name), SeriesSample.WriteJson, time: context.Time);
        var delivery = new DeliveryOptions
        {
            MaxBatchItems = options.MaxSamplesPerSend,

            // Bounds one request's uncompressed size well under receivers' limits (Flotel and Prometheus: 32 MiB).
            MaxBatchBytes = 16L * 1024 * 1024,
        };
        options.Http.ApplyTo(delivery);
        _delivery = new QueueDelivery<SeriesSample>(
            options.Name, context.Queue.OpenReader(options.Name), new SeriesSampleDecoder(), this, _deadLetters, delivery, context.Metrics, context.Time, _logger);
    }

    /// <inheritdoc />
    public string Name => _options.Name;

    /// <summary>The shared driver (counters: sent, retries, dead letters).</summary>
    public QueueDelivery<SeriesSample> Delivery => _delivery;

    /// <inheritdoc />
    public void Start()
    {
        LogStarting(_logger, Name, _options.Http.RedactedUrl, _options.MaxSamplesPerSend);
        _delivery.Start();
    }

    /// <inheritdoc />
    public Task StopAsync(TimeSpan drainTimeout) => _delivery.StopAsync(drainTimeout);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _delivery.DisposeAsync().ConfigureAwait(false);
        _deadLetters.Dispose();
        _http.Dispose();
    }

    /// <inheritdoc />
    async ValueTask<DeliveryOutcome<SeriesSample>> IBatchSender<SeriesSample>.SendAsync(IReadOnlyList<SeriesSample> batch, CancellationToken cancellationToken)
    {
        byte[] body;
        try
        {
            body = RemoteWriteRequestEncoder.Encode(batch);
        }
        catch (RemoteWriteException e)
        {
            // Inputs validate labels, so only a damaged record gets here; it can never be sent.
            return DeliveryOutcome<SeriesSample>.Reject("invalid_series", e.Message);
        }

        using var response = await _client.SendAsync(body, cancellationToken).ConfigureAwait(false);
        return await RemoteWriteResponseClassifier.ClassifyAsync<SeriesSample>(response, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Output {Output}: remote write to {Url}, at most {MaxSamples} samples per request")]
    private static partial void LogStarting(ILogger logger, string output, string url, int maxSamples);
}
