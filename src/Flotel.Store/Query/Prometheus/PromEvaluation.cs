using System.Text.RegularExpressions;
using Flotel.Model.Metrics;
using Flotel.Store.Metrics;

namespace Flotel.Store.Query.Prometheus;

/// <summary>
/// One query's evaluation: its time range and step, lookback, cancellation, the series it read from the store and
/// the caches built while evaluating it. <see cref="PromEngine"/> makes one per query and passes it down every
/// evaluation call, so the engine itself keeps nothing between queries and two queries never share state.
/// </summary>
internal sealed class PromEvaluation(MetricStore store, long startMs, long endMs, long stepMs, CancellationToken cancellationToken)
{
    public MetricStore Store { get; } = store;

    /// <summary>First evaluation time (ms); an instant query's only one.</summary>
    public long StartMs { get; } = startMs;

    /// <summary>Last evaluation time (ms); equals <see cref="StartMs"/> for an instant query.</summary>
    public long EndMs { get; } = endMs;

    /// <summary>Range query step (ms); 0 for an instant query.</summary>
    public long StepMs { get; } = stepMs;

    /// <summary>How far back an instant selector looks for a sample (Prometheus's --query.lookback-delta).</summary>
    public long LookbackMs { get; init; } = PromEngine.LookbackMs;

    /// <summary>The step of a subquery written without one (<c>x[1h:]</c>): Prometheus's default evaluation interval.</summary>
    public long DefaultSubqueryStepMs { get; init; } = 60_000;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    // Samples held now (see Hold); written from parallel decoding loops too.
    private long _heldSamples;

    /// <summary>Most samples the evaluation may hold at once (<see cref="PromEngine.MaxSamples"/>).</summary>
    public long MaxSamples { get; init; } = PromEngine.DefaultMaxSamples;

    /// <summary>Most series one selector may read from the store (<see cref="PromEngine.MaxSeries"/>).</summary>
    public int MaxSeries { get; init; } = PromEngine.DefaultMaxSeries;

    /// <summary>Series a streamed aggregation reads at a time; 0: none is streamed (<see cref="PromEngine.StreamBatchSeries"/>).</summary>
    public int StreamBatchSeries { get; init; } = PromEngine.DefaultStreamBatchSeries;

    /// <summary>Samples the evaluation holds now (see <see cref="Hold"/>).</summary>
    public long HeldSamples => Interlocked.Read(ref _heldSamples);

    /// <summary>
    /// Counts <paramref name="samples"/> more samples held by the evaluation (decoded from the store, cells of rollup
    /// columns, points of the answer, cached subquery steps) and throws Prometheus's "too many samples" error when that
    /// makes more than <see cref="MaxSamples"/>: one addition per series or step, so the check costs nothing next to
    /// the work it guards, and a query is stopped at most one series past the limit, before it allocates the rest.
    /// Thread-safe.
    /// </summary>
    /// <exception cref="PromQueryException">Over the limit.</exception>
    public void Hold(long samples)
    {
        if (Interlocked.Add(ref _heldSamples, samples) > MaxSamples)
        {
            throw PromQueryException.TooManySamples();
        }
    }

    /// <summary>Counts <paramref name="samples"/> no longer held (a subquery step out of its window). Thread-safe.</summary>
    public void Release(long samples) => Interlocked.Add(ref _heldSamples, -samples);

    /// <summary>Per subquery, its expression's value at each step time still inside its window (see PromEngine.SubqueryWindow).</summary>
    public Dictionary<Subquery, Dictionary<long, List<VectorSample>>> SubqueryResults { get; } = [];

    /// <summary>The time a node with the <c>@</c> modifier <paramref name="at"/> is evaluated at, <paramref name="t"/> without one.</summary>
    public long TimeAt(PromAt? at, long t) => at switch
    {
        null => t,
        { Kind: PromAtKind.Start } => StartMs,
        { Kind: PromAtKind.End } => EndMs,
        _ => at.TimeMs,
    };

    /// <summary>Samples read from the store (the prefetched series' chunks, as their headers count them).</summary>
    public long SamplesLoaded { get; set; }

    /// <summary>Batches of series streamed aggregations read from the store.</summary>
    public long StreamedBatches { get; set; }

    /// <summary>Each selector's series as read from the store for the whole evaluation range (raw chunks), sorted by labels.</summary>
    public Dictionary<VectorSelector, IReadOnlyList<SeriesChunks>> Chunks { get; } = [];

    /// <summary>
    /// Each selector's series decoded (index = the same series in <see cref="Chunks"/>), made on first use by
    /// PromEngine.SeriesOf: a selector read only through rollup columns is decoded series by series instead.
    /// </summary>
    public Dictionary<VectorSelector, IReadOnlyList<SeriesSamples>> Data { get; } = [];

    /// <summary>Each selector's label sets without <c>__name__</c> (index = series).</summary>
    public Dictionary<VectorSelector, LabelSet[]> NamesDroppedLabels { get; } = [];

    /// <summary>Per matrix selector, where each series' previous window started (see PromEngine.Window).</summary>
    public Dictionary<MatrixSelector, int[]> RangeCursors { get; } = [];

    /// <summary>Per instant selector, each series' sample index at the previous step.</summary>
    public Dictionary<VectorSelector, int[]> InstantCursors { get; } = [];

    /// <summary>Per range-vector function call, its value at every step (see PromEngine.Columns).</summary>
    public Dictionary<Call, PromEngine.RollupColumns> Rollups { get; } = [];

    /// <summary>How many subqueries the evaluation is inside: their steps are not the range query's.</summary>
    public int SubqueryDepth { get; set; }

    /// <summary>Label sets derived per node from input labels (see PromEngine.Derived).</summary>
    public Dictionary<(PromExpr Node, int Kind), Dictionary<LabelSet, LabelSet>> DerivedLabels { get; } = [];

    /// <summary>Each <c>label_replace</c> call's compiled regex.</summary>
    public Dictionary<PromExpr, (Regex Regex, Dictionary<string, int> GroupNames)> LabelReplaceRegexes { get; } = [];

    /// <summary>Throws when the query was stopped, looking at the token once every <see cref="PromEngine.SeriesPerCancellationCheck"/> values of <paramref name="index"/>.</summary>
    public void CheckCanceled(int index)
    {
        if (index % PromEngine.SeriesPerCancellationCheck == 0)
        {
            CancellationToken.ThrowIfCancellationRequested();
        }
    }
}
