namespace Flotel.Agent.Metrics;

/// <summary>Where a target's exposition comes from.</summary>
internal enum ScrapeTargetKind
{
    /// <summary>An HTTP GET (node_exporter, a workload's exporter).</summary>
    Http,

    /// <summary>The agent's own <see cref="Flotel.Pipeline.Diagnostics.MetricsRegistry"/>, rendered in process.</summary>
    Agent,
}
