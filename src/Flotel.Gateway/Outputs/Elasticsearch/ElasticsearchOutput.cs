using System.Text.Json;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Pipeline.Delivery;
using Flotel.Store.Logs;
using Flotel.Wire.Aws;
using Flotel.Wire.Logs;
using Flotel.Wire.Syslog;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs.Elasticsearch;

/// <summary>
/// Wiring of <c>type: elasticsearch</c>: the queue reader named after the output → <see cref="LogRecordDecoder"/>
/// (syslog events and <c>_bulk</c> documents) → <see cref="QueueDelivery{T}"/> (batches of at most
/// <c>maxDocuments</c> and <c>maxBytes</c>, retries, 413 halving, counters) → this sender
/// (<see cref="BulkRequestEncoder"/>, <see cref="ElasticsearchClient"/>, <see cref="ElasticsearchResponseClassifier"/>);
/// refused documents go to <c>DATA/dead-letter/NAME.ndjson</c> with the server's reason.
/// </summary>
public sealed partial class ElasticsearchOutput : IGatewayOutput, IBatchSender<LogDocument>
{
    private readonly ElasticsearchOptions _options;
    private readonly HttpClient _http;
    private readonly ElasticsearchClient _client;
    private readonly DeadLetterFile<LogDocument> _deadLetters;
    private readonly QueueDelivery<LogDocument> _delivery;
    private readonly LogRecordDecoder _decoder;
    private readonly AwsCredentialChain? _chain;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <param name="options">The output's configuration.</param>
    /// <param name="context">Queue, parser, index pattern, metrics, clock, loggers.</param>
    /// <param name="credentials">AWS credentials for SigV4 (only used with <c>aws:</c>); default the AWS chain (<see cref="AwsCredentialChain"/>).</param>
    public ElasticsearchOutput(ElasticsearchOptions options, OutputContext context, Func<CancellationToken, ValueTask<AwsCredentials>>? credentials = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        _options = options;
        _time = context.Time;
        _logger = context.LoggerFactory.CreateLogger<ElasticsearchOutput>();
        _http = options.Http.CreateClient();
        if (credentials is null && options.AwsRegion is not null)
        {
            _chain = new AwsCredentialChain(options.AwsProfile);
            credentials = _chain.GetAsync;
        }

        _client = new ElasticsearchClient(_http, options, credentials ?? NoCredentials, context.Time);
        _deadLetters = new DeadLetterFile<LogDocument>(context.DeadLetterPath(options.Name), WriteDeadLetter, time: context.Time);
        var delivery = new DeliveryOptions { MaxBatchItems = options.MaxDocuments, MaxBatchBytes = options.MaxBytes };
        options.Http.ApplyTo(delivery);
        _decoder = new LogRecordDecoder(context.Parser, LogstashIndexPattern.Parse(options.Index ?? context.IndexPattern), options.DeterministicIds);
        _delivery = new QueueDelivery<LogDocument>(
            options.Name, context.Queue.OpenReader(options.Name), _decoder, this, _deadLetters, delivery, context.Metrics, context.Time, _logger);
    }

    /// <inheritdoc />
    public string Name => _options.Name;

    /// <summary>The shared driver (counters: sent, retries, dead letters, drops).</summary>
    public QueueDelivery<LogDocument> Delivery => _delivery;

    /// <summary>Where bulk requests go.</summary>
    public Uri BulkUri => _client.BulkUri;

    /// <inheritdoc />
    public void Start()
    {
        LogStarting(_logger, Name, _options.Http.RedactedUrl, _options.AwsRegion is null ? "none" : "SigV4 " + _options.AwsService + "/" + _options.AwsRegion,
            _options.MaxDocuments, _options.MaxBytes);
        _delivery.Start();
    }

    /// <inheritdoc />
    public Task StopAsync(TimeSpan drainTimeout) => _delivery.StopAsync(drainTimeout);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _delivery.DisposeAsync().ConfigureAwait(false);
        _decoder.Dispose();
        _chain?.Dispose();
        _deadLetters.Dispose();
        _http.Dispose();
    }

    /// <inheritdoc />
    async ValueTask<DeliveryOutcome<LogDocument>> IBatchSender<LogDocument>.SendAsync(IReadOnlyList<LogDocument> batch, CancellationToken cancellationToken)
    {
        var body = BulkRequestEncoder.Encode(batch, _options.Gzip);
        using var response = await _client.BulkAsync(body, cancellationToken).ConfigureAwait(false);
        return await ElasticsearchResponseClassifier.ClassifyAsync(response, batch, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
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
