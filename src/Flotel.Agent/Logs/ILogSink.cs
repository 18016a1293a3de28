namespace Flotel.Agent.Logs;

/// <summary>Where a container's captured lines go: the buffer of its workload's current log target.</summary>
public interface ILogSink
{
    /// <summary>The longest message the workload's target holds, or 0 when the workload has no target now.</summary>
    int MaxMessageBytes(string workload);

    /// <summary>Appends encoded records durably; false when the workload has no target (the lines are counted as dropped).</summary>
    Task<bool> AppendAsync(string workload, IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken);

    /// <summary>Counts a line cut to <see cref="MaxMessageBytes"/>.</summary>
    void CountTruncated(string workload);
}
