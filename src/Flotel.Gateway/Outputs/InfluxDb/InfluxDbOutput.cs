using Flotel.Gateway.Outputs.Shared;
using Flotel.Pipeline.Delivery;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs.InfluxDb;

/// <summary>
/// Wiring of <c>type: influxdb</c>: the queue reader named after the output → <see cref="InfluxDbSampleDecoder"/>
/// (one point per finite sample) → <see cref="QueueDelivery{T}"/> (at most <c>maxPoints</c> lines per request,
/// retries, counters) → this sender (<see cref="LineProtocolEncoder"/>, <see cref="InfluxDbClient"/>,
/// <see cref="InfluxDbResponseClassifier"/>); refused points go to <c>DATA/dead-letter/NAME.ndjson</c>.
/// </summary>
public sealed partial class InfluxDbOutput : IGatewayOutput, IBatchSender<SeriesSample>
{
    private readonly InfluxDbOptions _options;
    private readonly HttpClient _http;
    private readonly InfluxDbClient _client;
    private readonly DeadLetterFile<SeriesSample> _deadLetters;
    private readonly QueueDelivery<SeriesSample> _delivery;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public InfluxDbOutput(InfluxDbOptions options, OutputContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        _options = options;
        _time = context.Time;
        _logger = context.LoggerFactory.CreateLogger<InfluxDbOutput>();
        _http = options.Http.CreateClient();
        _client = new InfluxDbClient(_http, options);
        _deadLetters = new DeadLetterFile<SeriesSample>(context.DeadLetterPath(options.Name), SeriesSample.WriteJson, time: context.Time);
        Decoder = new InfluxDbSampleDecoder(options.Name, context.Metrics);
        var delivery = new DeliveryOptions
        {
            MaxBatchItems = options.MaxPoints,

            // InfluxDB 1.x refuses bodies over max-body-size (25 MB by default).
            MaxBatchBytes = 16L * 1024 * 1024,
        };
        options.Http.ApplyTo(delivery);
        _delivery = new QueueDelivery<SeriesSample>(
            options.Name, context.Queue.OpenReader(options.Name), Decoder, this, _deadLetters, delivery, context.Metrics, context.Time, _logger);
    }

    /// <inheritdoc />
    public string Name => _options.Name;

    /// <summary>The shared driver (counters: sent, retries, dead letters).</summary>
    public QueueDelivery<SeriesSample> Delivery => _delivery;

    /// <summary>The decoder (counters of skipped samples).</summary>
    public InfluxDbSampleDecoder Decoder { get; }

    /// <inheritdoc />
    public void Start()
    {
        LogStarting(_logger, Name, _options.Http.RedactedUrl, _options.IsV2 ? "2.x/3.x" : "1.x", _options.MaxPoints);
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
        var body = LineProtocolEncoder.Encode(batch, _options.Gzip, influxDb1: !_options.IsV2);
        using var response = await _client.WriteAsync(body, cancellationToken).ConfigureAwait(false);
        return await InfluxDbResponseClassifier.ClassifyAsync<SeriesSample>(response, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Output {Output}: InfluxDB {Api} line protocol to {Url}, at most {MaxPoints} points per request")]
    private static partial void LogStarting(ILogger logger, string output, string url, string api, int maxPoints);
}
