using Flotel.Gateway.Outputs.Hosting;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Pipeline.Delivery;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs.InfluxDb;

/// <summary>
/// <c>type: influxdb</c> on the shared <see cref="OutputHost{T}"/>: metric records → <see cref="InfluxDbSampleDecoder"/>
/// (one point per finite sample) → at most <c>maxPoints</c> lines per request → this sender
/// (<see cref="LineProtocolEncoder"/>, <see cref="InfluxDbClient"/>, <see cref="InfluxDbResponseClassifier"/>); refused
/// points go to <c>DATA/dead-letter/NAME.ndjson</c>.
/// </summary>
public sealed partial class InfluxDbOutput : OutputHost<SeriesSample>
{
    /// <summary>InfluxDB 1.x refuses bodies over max-body-size (25 MB by default).</summary>
    private const long MaxRequestBytes = 16L * 1024 * 1024;

    private readonly InfluxDbOptions _options;
    private readonly InfluxDbClient _client;

    public InfluxDbOutput(InfluxDbOptions options, OutputContext context)
        : base(context, Settings(options, context))
    {
        _options = options;
        _client = new InfluxDbClient(Http, options);
    }

    /// <summary>The registry's entry for <c>type: influxdb</c>.</summary>
    public static OutputDefinition Definition { get; } = OutputDefinition.Of<InfluxDbOptions>(
        InfluxDbOptions.TypeName, static (options, context) => new InfluxDbOutput(options, context));

    /// <summary>The decoder (counters of skipped samples).</summary>
    public InfluxDbSampleDecoder Decoder => (InfluxDbSampleDecoder)KindFilter.Decoder;

    /// <inheritdoc />
    public override async ValueTask<DeliveryOutcome<SeriesSample>> SendAsync(IReadOnlyList<SeriesSample> batch, CancellationToken cancellationToken)
    {
        var body = LineProtocolEncoder.Encode(batch, _options.Gzip, influxDb1: !_options.IsV2);
        using var response = await _client.WriteAsync(body, cancellationToken).ConfigureAwait(false);
        return await InfluxDbResponseClassifier.ClassifyAsync<SeriesSample>(response, Time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override void LogStarting() =>
        LogStarting(Logger, Name, _options.Http.RedactedUrl, _options.IsV2 ? "2.x/3.x" : "1.x", _options.MaxPoints);

    private static OutputHostSettings<SeriesSample> Settings(InfluxDbOptions options, OutputContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        return new OutputHostSettings<SeriesSample>
        {
            Name = options.Name,
            Kinds = RecordKinds.Metrics,
            Decoder = new InfluxDbSampleDecoder(options.Name, context.Metrics),
            DeadLetterItem = SeriesSample.WriteJson,
            Delivery = new DeliveryOptions { MaxBatchItems = options.MaxPoints, MaxBatchBytes = MaxRequestBytes },
            Http = options.Http,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Output {Output}: InfluxDB {Api} line protocol to {Url}, at most {MaxPoints} points per request")]
    private static partial void LogStarting(ILogger logger, string output, string url, string api, int maxPoints);
}
