using System.Text.Json;
using Flotel.Gateway.Outputs.Shared;
using Flotel.Gateway.Queueing;
using Flotel.Pipeline.Delivery;
using Flotel.Wire.Queueing;

namespace Flotel.Gateway.Outputs.Hosting;

/// <summary>What an output tells <see cref="OutputHost{T}"/> about itself; everything else is the host's.</summary>
public sealed class OutputHostSettings<T>
{
    /// <summary>The output's name: queue reader, <c>output</c> metric label, dead-letter file.</summary>
    public required string Name { get; init; }

    /// <summary>The queue-record kinds the output takes (<see cref="RecordKinds"/>); others are skipped before decoding.</summary>
    public required IReadOnlyList<GatewayRecordKind> Kinds { get; init; }

    /// <summary>Queue record → items. Disposed with the output when it is <see cref="IDisposable"/>.</summary>
    public required IRecordDecoder<T> Decoder { get; init; }

    /// <summary>
    /// Writes one item of <c>DATA/dead-letter/NAME.ndjson</c> as a JSON value; null = no dead-letter file (an output
    /// whose sends never reject items, or whose rejected items are counted as lost).
    /// </summary>
    public Action<Utf8JsonWriter, T>? DeadLetterItem { get; init; }

    /// <summary>
    /// Batch limits of the driver; the host sets the retry waits from <see cref="Http"/> when there is one. Also what
    /// an output needs beyond one call per batch, for any output: a deferred commit
    /// (<see cref="DeliveryOptions.FlushInterval"/> with <see cref="IFlushingSender"/>), one batch in flight while the next
    /// is read and decoded (<see cref="DeliveryOptions.SendAhead"/>), a replay from the committed cursor on a failed
    /// write (<see cref="DeliveryOptions.OnSendException"/>) with exact waits (<see cref="DeliveryOptions.RetryJitter"/>).
    /// Idle work (<see cref="IIdleWorkSender"/>) and the output's own counters and log lines instead of the driver's
    /// (<see cref="ISelfReportingSender"/>) are interfaces the output class implements. The host's reader never reuses
    /// its read buffers, so a decoder may point items into the records' memory instead of copying.
    /// </summary>
    public required DeliveryOptions Delivery { get; init; }

    /// <summary>The HTTP keys of an HTTP output: the host builds its <see cref="HttpClient"/>; null when the output has its own client.</summary>
    public HttpOutputSettings? Http { get; init; }

    /// <summary>Category of the output's logger; default the output class's full name.</summary>
    public string? LoggerCategory { get; init; }
}
