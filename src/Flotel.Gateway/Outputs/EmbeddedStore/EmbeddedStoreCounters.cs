using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Flotel.Gateway.Outputs.EmbeddedStore;

/// <summary>
/// The embedded store's own series (<c>flotel_store_*</c>, docs/operations.md) and its failure line, shared by its two
/// readers. The store has no <c>flotel_output_*</c> series: a write succeeds or fails whole, so there is no per-item
/// outcome to count.
/// </summary>
public sealed partial class EmbeddedStoreCounters
{
    /// <param name="registry">Where the series go.</param>
    public EmbeddedStoreCounters(MetricsRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        Events = registry.Counter("flotel_store_log_events_total", "Syslog events written to the embedded log store.");
        Documents = registry.Counter("flotel_store_bulk_documents_total", "_bulk documents written to the embedded log store.");
        ReplaySkipped = registry.Counter(
            "flotel_store_log_replay_skipped_total",
            "Syslog events and _bulk documents delivered again by the queue after a restart that the log store already held (not stored twice).");
        Samples = registry.Counter("flotel_store_samples_total", "Samples appended to the embedded metric store.");
        Undecodable = registry.Counter("flotel_store_dropped_records_total", "Queue records the store output could not decode, by reason.", ("reason", "undecodable"));
        WriteErrors = registry.Counter("flotel_store_write_errors_total", "Failed writes to the embedded stores (retried).");
        MergeSteps = registry.Counter("flotel_store_log_merge_steps_total", "Full-text merge steps the log store ran while idle.");
    }

    /// <summary>Syslog events written.</summary>
    public Counter Events { get; }

    /// <summary><c>_bulk</c> documents written.</summary>
    public Counter Documents { get; }

    /// <summary>Events and documents of records at or before the log store's stored queue position: already stored, skipped.</summary>
    public Counter ReplaySkipped { get; }

    /// <summary>Samples appended.</summary>
    public Counter Samples { get; }

    /// <summary>Records that could not be decoded (skipped: they can never succeed).</summary>
    public Counter Undecodable { get; }

    /// <summary>Failed store writes and flushes (retried from the committed cursor).</summary>
    public Counter WriteErrors { get; }

    /// <summary>Full-text merge steps run while idle.</summary>
    public Counter MergeSteps { get; }

    /// <summary>Counts and logs a failed write of reader <paramref name="reader"/>; the records stay queued.</summary>
    public void WriteFailed(ILogger logger, string reader, Exception error, TimeSpan retryIn)
    {
        ArgumentNullException.ThrowIfNull(error);
        WriteErrors.Increment();
        LogStoreWriteFailed(logger, reader, retryIn.TotalSeconds, error.Message);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Embedded store output {Reader} failed to write; retrying in {Seconds} s with the records kept in the queue: {Reason}")]
    private static partial void LogStoreWriteFailed(ILogger logger, string reader, double seconds, string reason);
}
