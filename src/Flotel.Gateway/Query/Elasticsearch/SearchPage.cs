using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;

namespace Flotel.Gateway.Query.Elasticsearch;

/// <summary>
/// One <c>_search</c> page with its paging: a plain search, a search in a point in time (<c>pit</c> in the body, no
/// index in the path), the first page of a scroll (<c>?scroll=</c>) or a scroll's next page. It turns the parsed request
/// into the store's <see cref="LogSearch"/> (indices, snapshot, sort with the document order, resume point) and, once
/// the page is read, moves the scroll's cursor or opens the scroll.
/// </summary>
internal sealed class SearchPage
{
    private readonly SearchContexts _contexts;
    private readonly SearchRequest _request;
    private readonly TimeSpan? _scrollKeepAlive;
    private readonly byte[] _body;
    private readonly Dictionary<string, string> _parameters;

    private SearchPage(SearchContexts contexts, SearchRequest request, LogSearch search, bool appendDocOrder, byte[] body, Dictionary<string, string> parameters)
    {
        _contexts = contexts;
        _request = request;
        Search = search;
        AppendDocOrder = appendDocOrder;
        _body = body;
        _parameters = parameters;
    }

    private SearchPage(SearchContexts contexts, SearchRequest request, LogSearch search, bool appendDocOrder, byte[] body, Dictionary<string, string> parameters, TimeSpan? scrollKeepAlive)
        : this(contexts, request, search, appendDocOrder, body, parameters) => _scrollKeepAlive = scrollKeepAlive;

    /// <summary>What the store runs.</summary>
    public LogSearch Search { get; }

    /// <summary>Whether hits show the document order as their last sort value (<see cref="SearchPaging"/>).</summary>
    public bool AppendDocOrder { get; }

    /// <summary>The point in time searched, whose id the answer carries as <c>pit_id</c>.</summary>
    public SearchContext? Pit { get; private init; }

    /// <summary>The scroll this page belongs to (set for a first page by <see cref="Complete"/>); the answer carries its id.</summary>
    public SearchContext? Scroll { get; private set; }

    /// <summary>
    /// Plans the page. <paramref name="pathIndex"/> is the path's index expression (null for <c>/_search</c>),
    /// <paramref name="resolve"/> resolves an expression to concrete indices, <paramref name="scroll"/> is the scroll
    /// being continued.
    /// </summary>
    public static SearchPage Plan(SearchContexts contexts, LogStore store, SearchRequest request, byte[] body, Dictionary<string, string> parameters,
        string? pathIndex, Func<string, List<string>> resolve, SearchContext? scroll)
    {
        if (scroll is not null)
        {
            // A scroll's next page: the first page's search, resumed after its last hit, in its snapshot. The total was
            // counted on the first page; counting up to the store's plan threshold is enough to choose the plan.
            IReadOnlyList<LogSort> scrollSort = SearchPaging.StoreSort(request.Sort, SearchPaging.AppendsDocOrder(request.Sort, pages: true));
            var next = new LogSearch(scroll.Indices, request.Query, scrollSort, 0, request.Size, TrackTotalHitsUpTo: 1000)
            {
                Snapshot = scroll.Snapshot,
                SearchAfter = scroll.Cursor,
                TerminateAfter = request.TerminateAfter,
            };
            return new SearchPage(contexts, request, next, scrollSort.Count > request.Sort.Count, body, parameters) { Scroll = scroll };
        }

        bool scrolls = parameters.TryGetValue("scroll", out string? scrollText);
        if (request.Pit is { } pitReference)
        {
            if (pathIndex is not null)
            {
                throw Validation("[indices] cannot be used with point in time. Do not specify any index with point in time.");
            }

            if (scrolls)
            {
                throw Validation("using [point in time] is not allowed in a scroll context");
            }

            TimeSpan? keepAlive = pitReference.KeepAlive is { } text ? SearchContexts.ParseKeepAlive(text, "keep_alive") : null;
            SearchContext pit = contexts.Use(pitReference.Id, SearchContextKind.PointInTime, keepAlive);
            bool append = SearchPaging.AppendsDocOrder(request.Sort, pages: true);
            return new SearchPage(contexts, request, Build(request, pit.Indices, append, pit.Snapshot), append, body, parameters) { Pit = pit };
        }

        List<string> indices = resolve(pathIndex ?? "_all");
        if (scrolls)
        {
            TimeSpan keepAlive = SearchContexts.ParseKeepAlive(scrollText!, "scroll");
            if (request.From > 0)
            {
                throw Validation("using [from] is not allowed in a scroll context");
            }

            if (request.SearchAfter is not null)
            {
                throw Validation("[search_after] cannot be used in a scroll context");
            }

            if (request.Size == 0)
            {
                throw Validation("[size] cannot be [0] in a scroll context");
            }

            bool append = SearchPaging.AppendsDocOrder(request.Sort, pages: true);
            return new SearchPage(contexts, request, Build(request, indices, append, store.Snapshot(indices)), append, body, parameters, keepAlive);
        }

        bool plainAppend = SearchPaging.AppendsDocOrder(request.Sort, pages: request.SearchAfter is not null);
        return new SearchPage(contexts, request, Build(request, indices, plainAppend, null), plainAppend, body, parameters);
    }

    /// <summary>
    /// After the store answered: a scroll's cursor moves past the page's last hit (a first page opens the scroll), and
    /// the total to show is returned (a scroll's next page shows the first page's).
    /// </summary>
    public LogSearchResult Complete(LogSearchResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        SearchContext? scroll = Scroll;
        if (scroll is null && _scrollKeepAlive is { } keepAlive)
        {
            scroll = _contexts.Open(SearchContextKind.Scroll, Search.Indices, Search.Snapshot!, keepAlive, _body, _parameters);
            // Only the count is kept: a page of hits held per open scroll would be unbounded memory.
            scroll.FirstPage = result with { Hits = [] };
            Scroll = scroll;
        }

        if (scroll is null)
        {
            return result;
        }

        if (result.Hits.Count > 0)
        {
            scroll.Cursor = result.Hits[^1].SortValues;
        }

        return scroll.FirstPage is { } first ? result with { Total = first.Total, TotalIsLowerBound = first.TotalIsLowerBound } : result;
    }

    /// <summary>A hit's sort values as the client sees them, or null when the answer shows none (a scored search).</summary>
    public List<object?>? SortValues(LogHit hit)
    {
        ArgumentNullException.ThrowIfNull(hit);
        bool scored = _request.Sort.Count == 0 || _request.Sort.Any(s => s.Field == "_score");
        return scored && !AppendDocOrder ? null : SearchPaging.HitSortValues(_request.Sort, AppendDocOrder, hit.SortValues);
    }

    private static LogSearch Build(SearchRequest request, IReadOnlyList<string> indices, bool appendDocOrder, LogSnapshot? snapshot) =>
        new(indices, request.Query, SearchPaging.StoreSort(request.Sort, appendDocOrder), request.From, request.Size, request.TrackTotalHitsUpTo)
        {
            Snapshot = snapshot,
            SearchAfter = request.SearchAfter is { } values ? SearchPaging.StoreSearchAfter(request.Sort, appendDocOrder, values) : null,
            TerminateAfter = request.TerminateAfter,
        };

    private static ElasticsearchException Validation(string reason) =>
        new(400, "action_request_validation_exception", $"Validation Failed: 1: {reason};");
}
