using System.Text.Json;
using Flotel.Gateway.Outputs.Hosting;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Pipeline.Delivery;
using Flotel.Store.Logs;
using Flotel.Wire.Aws;
using Flotel.Wire.Logs;
using Flotel.Wire.Syslog;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs.Elasticsearch;

/// <summary>
/// <c>type: elasticsearch</c> on the shared <see cref="OutputHost{T}"/>: log records → <see cref="LogRecordDecoder"/>
/// (syslog events and <c>_bulk</c> documents) → batches of at most <c>maxDocuments</c> and <c>maxBytes</c> → this
/// sender (<see cref="BulkRequestEncoder"/>, <see cref="ElasticsearchClient"/>, <see cref="ElasticsearchResponseClassifier"/>);
/// refused documents go to <c>DATA/dead-letter/NAME.ndjson</c> with the server's reason.
/// </summary>
public sealed partial class ElasticsearchOutput : OutputHost<LogDocument>
{
    private readonly ElasticsearchOptions _options;
    private readonly ElasticsearchClient _client;

    /// <param name="options">The output's configuration.</param>
    /// <param name="context">Queue, parser, index pattern, metrics, clock, loggers.</param>
    /// <param name="credentials">AWS credentials for SigV4 (only used with <c>aws:</c>); default the AWS chain (<see cref="AwsCredentialChain"/>).</param>
    public ElasticsearchOutput(ElasticsearchOptions options, OutputContext context, Func<CancellationToken, ValueTask<AwsCredentials>>? credentials = null)
        : base(context, Settings(options, context))
    {
        _options = options;
        if (credentials is null && options.AwsRegion is not null)
        {
            credentials = Own(new AwsCredentialChain(options.AwsProfile)).GetAsync;
        }

        _client = new ElasticsearchClient(Http, options, credentials ?? NoCredentials, Time);
    }

    /// <summary>The registry's entry for <c>type: elasticsearch</c>.</summary>
    public static OutputDefinition Definition { get; } = OutputDefinition.Of<ElasticsearchOptions>(
        ElasticsearchOptions.TypeName, static (options, context) => new ElasticsearchOutput(options, context));

    /// <summary>Where bulk requests go.</summary>
    public Uri BulkUri => _client.BulkUri;

    /// <inheritdoc />
    public override async ValueTask<DeliveryOutcome<LogDocument>> SendAsync(IReadOnlyList<LogDocument> batch, CancellationToken cancellationToken)
    {
        var body = BulkRequestEncoder.Encode(batch, _options.Gzip);
        using var response = await _client.BulkAsync(body, cancellationToken).ConfigureAwait(false);
        return await ElasticsearchResponseClassifier.ClassifyAsync(response, batch, Time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override void LogStarting() =>
        LogStarting(Logger, Name, _options.Http.RedactedUrl, _options.AwsRegion is null ? "none" : "SigV4 " + _options.AwsService + "/" + _options.AwsRegion,
            _options.MaxDocuments, _options.MaxBytes);

    private static OutputHostSettings<LogDocument> Settings(ElasticsearchOptions options, OutputContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        return new OutputHostSettings<LogDocument>
        {
            Name = options.Name,
            Kinds = RecordKinds.Logs,
            Decoder = new LogRecordDecoder(context.Parser, LogstashIndexPattern.Parse(options.Index ?? context.IndexPattern), options.DeterministicIds),
            DeadLetterItem = WriteDeadLetter,
            Delivery = new DeliveryOptions { MaxBatchItems = options.MaxDocuments, MaxBatchBytes = options.MaxBytes },
            Http = options.Http,
        };
    }

    private static ValueTask<AwsCredentials> NoCredentials(CancellationToken cancellationToken) =>
        throw new InvalidOperationException("SigV4 signing needs `aws.region`");

    /// <summary>Dead-letter item: <c>{"index":"…","id":"…","source":{…}}</c>, replayable as a bulk action and source.</summary>
    private static void WriteDeadLetter(Utf8JsonWriter writer, LogDocument document)
    {
        writer.WriteStartObject();
        writer.WriteString("index"u8, document.Index);
        if (document.Id is { } id)
        {
            writer.WriteString("id"u8, id);
        }

        writer.WritePropertyName("source"u8);
        try
        {
            writer.WriteRawValue(document.Source.Span);
        }
        catch (JsonException)
        {
            writer.WriteStringValue(System.Text.Encoding.UTF8.GetString(document.Source.Span));
        }

        writer.WriteEndObject();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Output {Output}: _bulk to {Url} (signing: {Signing}), at most {MaxDocuments} documents and {MaxBytes} bytes per request")]
    private static partial void LogStarting(ILogger logger, string output, string url, string signing, int maxDocuments, long maxBytes);
}
