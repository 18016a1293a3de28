using Flotel.Pipeline.Queue;

namespace Flotel.Pipeline.Delivery;

/// <summary>
/// A sender that keeps its own counters and log lines: the driver then registers none of its <c>flotel_output_*</c>
/// series for it and writes none of its own log lines, and tells the sender what happened instead. For an output whose
/// writes succeed or fail whole (no per-item outcome to count) and whose series predate the driver.
/// </summary>
public interface ISelfReportingSender
{
    /// <summary>The decoder refused <paramref name="record"/> (or found it damaged after intact items); it is skipped.</summary>
    void ReportUndecodable(QueueRecord record);

    /// <summary>
    /// A send, flush or idle step threw <paramref name="error"/>; nothing past the last commit was acknowledged. The
    /// next attempt comes after <paramref name="retryIn"/> (zero for a flush: it is tried again at the next flush).
    /// </summary>
    void ReportFailure(Exception error, TimeSpan retryIn);
}
