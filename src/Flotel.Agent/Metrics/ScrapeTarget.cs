using System.Globalization;

namespace Flotel.Agent.Metrics;

/// <summary>
/// One endpoint the agent scrapes on its own schedule. <see cref="Source"/> is the <c>metric-source</c> label value
/// put on every sample (docs/reference/flotta-device-worker.md §4.2: <c>system</c>, or the workload name); <see cref="Instance"/> tells the
/// health series of two endpoints of one source apart.
/// </summary>
internal sealed record ScrapeTarget
{
    /// <summary>The <c>metric-source</c> label value.</summary>
    public required string Source { get; init; }

    /// <summary>HTTP endpoint; null for <see cref="ScrapeTargetKind.Agent"/>.</summary>
    public Uri? Url { get; init; }

    /// <summary>Time between scrape starts.</summary>
    public required TimeSpan Interval { get; init; }

    /// <summary>Names kept.</summary>
    public required AllowList AllowList { get; init; }

    /// <summary>Where the exposition comes from.</summary>
    public ScrapeTargetKind Kind { get; init; } = ScrapeTargetKind.Http;

    /// <summary>The <c>instance</c> label of the health series: <c>host:port</c>, or the source for the agent itself.</summary>
    public string Instance => Url is null ? Source : Url.Host + ":" + Url.Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Identity for plan diffs: a target with the same key and equal settings keeps running untouched.</summary>
    public string Key => Source + "|" + (Url?.ToString() ?? "self");

    /// <inheritdoc />
    public override string ToString() => Key + " every " + Interval.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s, allow " + AllowList;
}
