using Flotel.Gateway.Outputs.Hosting;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Pipeline.Delivery;
using Flotel.Wire.RemoteWrite;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs.RemoteWrite;

/// <summary>
/// <c>type: remote_write</c> on the shared <see cref="OutputHost{T}"/>: metric records → <see cref="SeriesSampleDecoder"/>
/// → batches of at most <c>maxSamplesPerSend</c> samples → this sender (<see cref="RemoteWriteRequestEncoder"/>,
/// <see cref="RemoteWriteClient"/>, <see cref="RemoteWriteResponseClassifier"/>); refused samples go to
/// <c>DATA/dead-letter/NAME.ndjson</c>. One request in flight, so samples of a series arrive in order (the spec requires
/// it per series).
/// </summary>
public sealed partial class RemoteWriteOutput : OutputHost<SeriesSample>
{
    /// <summary>Bounds one request's uncompressed size well under receivers' limits (Flotel and Prometheus: 32 MiB).</summary>
    private const long MaxRequestBytes = 16L * 1024 * 1024;

    private readonly RemoteWriteOptions _options;
    private readonly RemoteWriteClient _client;

    public RemoteWriteOutput(RemoteWriteOptions options, OutputContext context)
        : base(context, Settings(options))
    {
        _options = options;
        _client = new RemoteWriteClient(Http, options.Http);
    }

    /// <summary>The registry's entry for <c>type: remote_write</c>.</summary>
    public static OutputDefinition Definition { get; } = OutputDefinition.Of<RemoteWriteOptions>(
        RemoteWriteOptions.TypeName, static (options, context) => new RemoteWriteOutput(options, context));

    /// <inheritdoc />
    public override async ValueTask<DeliveryOutcome<SeriesSample>> SendAsync(IReadOnlyList<SeriesSample> batch, CancellationToken cancellationToken)
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
        return await RemoteWriteResponseClassifier.ClassifyAsync<SeriesSample>(response, Time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override void LogStarting() => LogStarting(Logger, Name, _options.Http.RedactedUrl, _options.MaxSamplesPerSend);

    private static OutputHostSettings<SeriesSample> Settings(RemoteWriteOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new OutputHostSettings<SeriesSample>
        {
            Name = options.Name,
            Kinds = RecordKinds.Metrics,
            Decoder = new SeriesSampleDecoder(),
            DeadLetterItem = SeriesSample.WriteJson,
            Delivery = new DeliveryOptions { MaxBatchItems = options.MaxSamplesPerSend, MaxBatchBytes = MaxRequestBytes },
            Http = options.Http,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Output {Output}: remote write to {Url}, at most {MaxSamples} samples per request")]
    private static partial void LogStarting(ILogger logger, string output, string url, int maxSamples);
}
