using Flotel.Pipeline.Delivery;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs.Hosting;

/// <summary>
/// Everything gateway outputs share, written once (style rules 3 and 12): the queue reader named after the output,
/// filtered by <see cref="RecordKindFilter{T}"/> (records of kinds the output does not take are passed over unread) → the
/// output's decoder → <see cref="QueueDelivery{T}"/> (batches, retries, 413 halving, counters) → the output's
/// <see cref="SendAsync"/>; refused items go to <c>DATA/dead-letter/NAME.ndjson</c>. The host also builds the
/// <see cref="HttpClient"/> from the output's <see cref="Shared.HttpOutputSettings"/>, logs the start and owns the
/// lifecycle: <see cref="Start"/>, <see cref="StopAsync"/> (safe without start, idempotent), <see cref="DisposeAsync"/>.
/// <para>An output derives from this and supplies only its <see cref="OutputHostSettings{T}"/> (decoder, kinds, batch
/// limits, dead-letter item), <see cref="SendAsync"/> (encode one batch, send it, classify the answer) and, if it has
/// one, its start line (<see cref="LogStarting"/>). An output that writes somewhere other than an HTTP peer chooses in
/// its settings' <see cref="DeliveryOptions"/> a deferred commit, a send ahead and a replay on failure, and implements
/// <see cref="IFlushingSender"/>, <see cref="IIdleWorkSender"/> or <see cref="ISelfReportingSender"/> as it needs
/// (the embedded store's two readers use them all).</para>
/// </summary>
public abstract class OutputHost<T> : IGatewayOutput, IBatchSender<T>
{
    /// <summary>Built from <see cref="OutputHostSettings{T}.Http"/>; null for outputs with their own client. Disposed last.</summary>
    private readonly HttpClient? _http;

    private readonly DeadLetterFile<T>? _deadLetters;

    /// <summary>What the output handed over with <see cref="Own{TDisposable}"/>; disposed after the driver stopped, newest first.</summary>
    private readonly List<IDisposable> _owned = [];

    /// <param name="context">Queue, data directory, metrics, clock, loggers.</param>
    /// <param name="settings">What the output supplies.</param>
    protected OutputHost(OutputContext context, OutputHostSettings<T> settings)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(settings);
        Name = settings.Name;
        Time = context.Time;
        Logger = context.LoggerFactory.CreateLogger(settings.LoggerCategory ?? GetType().FullName ?? GetType().Name);
        if (settings.Http is { } http)
        {
            _http = http.CreateClient();
            http.ApplyTo(settings.Delivery);
        }

        if (settings.DeadLetterItem is { } deadLetterItem)
        {
            _deadLetters = new DeadLetterFile<T>(context.DeadLetterPath(Name), deadLetterItem, time: context.Time);
        }

        KindFilter = new RecordKindFilter<T>(settings.Decoder, settings.Kinds);
        var queue = context.Queue;
        var name = Name;
        Delivery = new QueueDelivery<T>(
            Name, queue.OpenReader(Name), KindFilter, this, _deadLetters, settings.Delivery, context.Metrics, context.Time, Logger,
            wantedRecords: KindFilter.Wants, reopenReader: () => queue.OpenReader(name));
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The shared driver (counters: sent, retries, dead letters, drops).</summary>
    public QueueDelivery<T> Delivery { get; }

    /// <summary>The record-kind filter in front of the output's decoder (records skipped).</summary>
    public RecordKindFilter<T> KindFilter { get; }

    /// <summary>The client built from the output's HTTP settings.</summary>
    protected HttpClient Http => _http ?? throw new InvalidOperationException($"Output {Name} has no HTTP settings.");

    /// <summary>The gateway's clock.</summary>
    protected TimeProvider Time { get; }

    /// <summary>The output's logger.</summary>
    protected ILogger Logger { get; }

    /// <inheritdoc />
    public void Start()
    {
        LogStarting();
        Delivery.Start();
    }

    /// <inheritdoc />
    public Task StopAsync(TimeSpan drainTimeout) => Delivery.StopAsync(drainTimeout);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Delivery.DisposeAsync().ConfigureAwait(false);
        (KindFilter.Decoder as IDisposable)?.Dispose();
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        _deadLetters?.Dispose();
        _http?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Encodes and sends one batch (never empty) and classifies the answer; the driver settles the outcome.</summary>
    public abstract ValueTask<DeliveryOutcome<T>> SendAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken);

    /// <summary>Writes the output's start line (what it sends where); called by <see cref="Start"/>.</summary>
    protected virtual void LogStarting()
    {
    }

    /// <summary>Hands <paramref name="disposable"/> (a client, a credential chain) to the host, which disposes it after the driver stopped.</summary>
    protected TDisposable Own<TDisposable>(TDisposable disposable)
        where TDisposable : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }
}
