using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Flotel.Gateway.Inputs.Bulk;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;
using Flotel.Store.Query.Elasticsearch.Aggregations;
using Flotel.Wire.Logs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotel.Gateway.Query.Elasticsearch;

/// <summary>
/// The Elasticsearch-compatible subset of architecture §6 over the embedded log store, as minimal-API endpoints:
/// <c>GET|HEAD /</c>, <c>GET|POST /_search</c>, <c>GET|POST /{index}/_search</c>, <c>GET|POST /_count</c>,
/// <c>GET|POST /{index}/_count</c>, <c>GET /_cat/indices[/{index}]</c>, <c>GET|HEAD /_cat/health</c>,
/// <c>POST|PUT /_bulk</c>, <c>POST|PUT /{index}/_bulk</c>; <c>_msearch</c> (<see cref="ElasticsearchMultiSearch"/>) and
/// what tools ask before searching (<see cref="ElasticsearchMetadataApi"/>) are mapped with them. Every route either is
/// literal or ends in a literal <c>_</c> segment, except <c>GET|HEAD /{index}</c>, which literal routes (<c>/metrics</c>,
/// <c>/healthz</c>, …) take precedence over, so none can shadow <c>/api/v1/…</c>, <c>/healthz</c>, <c>/metrics</c> or
/// <c>/ui/</c>. <c>_search</c> and <c>_count</c> run under the gateway's <see cref="QueryLimiter"/>
/// (see <see cref="HandleQueryAsync"/>).
/// </summary>
public static class ElasticsearchApi
{
    /// <summary>The Elasticsearch version announced by <c>GET /</c> (see <see cref="WriteBanner"/> for why this one).</summary>
    public const string Version = "7.17.0";

    /// <summary>The cluster's name in <c>GET /</c> and the licence's <c>issued_to</c>.</summary>
    public const string ClusterName = "flotel";

    /// <summary>Elasticsearch's numeric id of <see cref="Version"/> (<c>settings.index.version.created</c>).</summary>
    public const string VersionId = "7170099";

    /// <summary>Largest request body accepted, as Elasticsearch's <c>http.max_content_length</c> default (100 MiB).</summary>
    public const int MaxBodyBytes = 100 * 1024 * 1024;

    /// <summary>Maps the query endpoints (everything but <c>_bulk</c>) with the default query limits.</summary>
    public static IEndpointRouteBuilder MapElasticsearchApi(this IEndpointRouteBuilder routes, LogStore store) =>
        MapElasticsearchApi(routes, store, new QueryLimiter(QueryLimiter.DefaultTimeout, QueryLimiter.DefaultMaxConcurrency, new MetricsRegistry(), TimeProvider.System));

    /// <summary>
    /// Maps the query endpoints (everything but <c>_bulk</c>), <c>_search</c> and <c>_count</c> under <paramref name="limits"/>;
    /// <paramref name="metrics"/>, when given, counts error answers (<see cref="QueryErrorMetric"/>).
    /// </summary>
    internal static IEndpointRouteBuilder MapElasticsearchApi(this IEndpointRouteBuilder routes, LogStore store, QueryLimiter limits, MetricsRegistry? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(limits);
        string[] read = [HttpMethods.Get, HttpMethods.Head];
        string[] search = [HttpMethods.Get, HttpMethods.Post];
        var contexts = new SearchContexts(limits.Time, metrics);
        _ = routes.MapMethods("/", read, (HttpContext c) => Handle(c, metrics, () =>
        {
            ElasticsearchParameters.Check(c.Request.Path, QueryParameters(c), ElasticsearchParameters.None);
            return WriteBanner(c);
        }));
        _ = routes.MapMethods("/_search", search, (HttpContext c) => HandleQueryAsync(c, limits, metrics, "search", run => SearchAsync(c, store, null, run, contexts)));
        _ = routes.MapMethods("/{index}/_search", search, (HttpContext c, string index) => HandleQueryAsync(c, limits, metrics, "search", run => SearchAsync(c, store, index, run, contexts)));
        _ = routes.MapMethods("/_count", search, (HttpContext c) => HandleQueryAsync(c, limits, metrics, "count", run => CountAsync(c, store, "_all", run)));
        _ = routes.MapMethods("/{index}/_count", search, (HttpContext c, string index) => HandleQueryAsync(c, limits, metrics, "count", run => CountAsync(c, store, index, run)));
        _ = routes.MapGet("/_cat/indices", (HttpContext c) => Handle(c, metrics, () => CatIndices(c, store, "_all")));
        _ = routes.MapGet("/_cat/indices/{index}", (HttpContext c, string index) => Handle(c, metrics, () => CatIndices(c, store, index)));
        _ = routes.MapMethods("/_cat/health", read, (HttpContext c) => Handle(c, metrics, () => CatHealth(c, store)));
        _ = routes.MapElasticsearchMultiSearch(store, limits, metrics, contexts);
        _ = routes.MapElasticsearchMetadataApi(store, metrics);
        _ = routes.MapElasticsearchPagingApi(store, limits, metrics, contexts);
        _ = routes.MapElasticsearchDocumentReads(store, limits, metrics);
        return routes;
    }

    /// <summary>
    /// Maps the ingest endpoints, <c>_bulk</c> and the single-document writes (<see cref="ElasticsearchDocumentApi"/>);
    /// <paramref name="bulk"/> receives the documents; <paramref name="metrics"/>, when given, counts error answers
    /// (<see cref="QueryErrorMetric"/>); <paramref name="time"/> paces a <c>refresh=wait_for</c> write's wait.
    /// </summary>
    public static IEndpointRouteBuilder MapElasticsearchBulkApi(this IEndpointRouteBuilder routes, LogStore store, IBulkSink bulk, MetricsRegistry? metrics = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(bulk);
        string[] write = [HttpMethods.Post, HttpMethods.Put];
        _ = routes.MapMethods("/_bulk", write, (HttpContext c) => Handle(c, metrics, () => BulkAsync(c, store, bulk, null)));
        _ = routes.MapMethods("/{index}/_bulk", write, (HttpContext c, string index) => Handle(c, metrics, () => BulkAsync(c, store, bulk, index)));
        _ = routes.MapElasticsearchDocumentWrites(store, bulk, time ?? TimeProvider.System, metrics);
        return routes;
    }

    internal static async Task Handle(HttpContext context, MetricsRegistry? metrics, Func<Task> handler)
    {
        context.Response.Headers["X-elastic-product"] = "Elasticsearch";
        try
        {
            await HandleErrors(context, handler).ConfigureAwait(false);
        }
        finally
        {
            QueryErrorMetric.Count(metrics, "elasticsearch", context.Response.StatusCode);
        }
    }

    private static async Task HandleErrors(HttpContext context, Func<Task> handler)
    {
        try
        {
            await handler().ConfigureAwait(false);
        }
        catch (ElasticsearchException e)
        {
            await WriteErrorAsync(context, e).ConfigureAwait(false);
        }
        catch (LogQueryException e)
        {
            await WriteErrorAsync(context, new ElasticsearchException(400, "query_shard_exception", e.Message)).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's limits while reading the body (too large, client too slow): the request's fault.
            await WriteErrorAsync(context, new ElasticsearchException(e.StatusCode, "parse_exception", e.Message)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody to answer.
        }
        catch (Exception e)
        {
            // Last resort: a bug, not the request. Never an empty 500: Elasticsearch's error shape, and the stack trace
            // in the log once per cause.
            UnexpectedQueryErrors.Report(context, "Elasticsearch", e);
            if (context.Response.HasStarted)
            {
                context.Abort();
                return;
            }

            await WriteErrorAsync(context, new ElasticsearchException(500, "exception", "the gateway failed to answer this request; its log has the details")).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs a search or count as a <see cref="QueryRun"/>: it waits for a slot, and stops when its client disconnects
    /// (nothing is answered: the connection is gone) or its time is up — the search's own <c>timeout</c> (URL or body)
    /// when shorter than <c>query.timeout</c>. A search out of time is answered 504 <c>search_timeout_exception</c>
    /// "Time exceeded", what Elasticsearch answers when partial results are not allowed: the store cannot stop a search
    /// part-way and keep what it found, so there are never partial results (and never <c>"timed_out": true</c>).
    /// </summary>
    internal static async Task HandleQueryAsync(HttpContext context, QueryLimiter limits, MetricsRegistry? metrics, string api, Func<QueryRun, Task> handler)
    {
        using QueryRun run = limits.Begin(api, context.RequestAborted);
        await Handle(context, metrics, async () =>
        {
            try
            {
                await handler(run).ConfigureAwait(false);
                run.Complete(QueryOutcome.Ok);
            }
            catch (Exception e) when (run.IsStop(e))
            {
                if (run.ClientGone)
                {
                    run.Complete(QueryOutcome.Canceled);
                    context.Abort();
                    return;
                }

                run.Complete(QueryOutcome.Timeout);
                throw new ElasticsearchException(504, "search_timeout_exception", "Time exceeded");
            }
        }).ConfigureAwait(false);
    }

    // 7.17: Grafana's Elasticsearch data source warns that a version is past its end of life below 7.16.0
    // (public/app/plugins/datasource/elasticsearch/utils.ts, isSupportedVersion: semver gte 7.16.0), and 7.17 is the
    // last 7.x line. Not 8.x: Logstash's output then defaults to data streams and Kibana 7 refuses to start. Logstash's
    // output (>= 11.2, Logstash >= 7.16) accepts a 7.14+ server only with the X-Elastic-Product header (sent on every
    // answer), and wants build_flavor "default" and the tagline (docs/reference/syslog-and-elasticsearch.md §3.5); it
    // then sends no _type. rsyslog's omelasticsearch reads nothing here. No "distribution" field: ES never sends one,
    // and clients (Vector, Fluent Bit) treat "distribution":"opensearch" as OpenSearch.
    private static Task WriteBanner(HttpContext context) => WriteJsonAsync(context, 200, w =>
    {
        w.WriteString("name", "flotel");
        w.WriteString("cluster_name", ClusterName);
        w.WriteString("cluster_uuid", "_na_");
        w.WriteStartObject("version");
        w.WriteString("number", Version);
        w.WriteString("build_flavor", "default");
        w.WriteString("build_type", "flotel");
        w.WriteString("build_hash", "flotel");
        w.WriteString("build_date", "2022-01-28T08:36:04.875279988Z");
        w.WriteBoolean("build_snapshot", false);
        w.WriteString("lucene_version", "8.11.1");
        w.WriteString("minimum_wire_compatibility_version", "6.8.0");
        w.WriteString("minimum_index_compatibility_version", "6.0.0-beta1");
        w.WriteEndObject();
        w.WriteString("tagline", "You Know, for Search");
    });

    private static async Task SearchAsync(HttpContext context, LogStore store, string? pathIndex, QueryRun run, SearchContexts contexts)
    {
        Dictionary<string, string> query = QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.Search);
        byte[] body = await ReadBodyAsync(context).ConfigureAwait(false);
        Action<Utf8JsonWriter> members = await SearchMembersAsync(store, contexts, pathIndex, body, query, run).ConfigureAwait(false);
        await WriteJsonAsync(context, 200, members).ConfigureAwait(false);
    }

    /// <summary>
    /// The one search path of <c>_search</c>, every <c>_msearch</c> item and a scroll's next page: parses
    /// <paramref name="body"/> and <paramref name="query"/> (the URL parameters, an <c>_msearch</c> header's, or those a
    /// scroll was opened with), plans its paging (<see cref="SearchPage"/>: point in time, scroll, <c>search_after</c>),
    /// waits for <paramref name="run"/>'s slot, searches, and returns the writer of the answer's members
    /// (<c>_scroll_id</c>, <c>pit_id</c>, <c>took</c> … <c>hits</c>, <c>aggregations</c>). <paramref name="pathIndex"/> is
    /// the index expression the request names (null: none, which a point in time requires); <paramref name="scroll"/>
    /// the scroll whose next page this is.
    /// </summary>
    internal static async Task<Action<Utf8JsonWriter>> SearchMembersAsync(LogStore store, SearchContexts contexts, string? pathIndex, byte[] body,
        Dictionary<string, string> query, QueryRun run, SearchContext? scroll = null)
    {
        var stopwatch = Stopwatch.StartNew();
        SearchRequest request = QueryDslParser.Parse(body, query, store.Options.MaxResultWindow);
        TimeSpan? timeout = SearchTimeout.Read(body, query);
        var page = SearchPage.Plan(contexts, store, request, body, query, pathIndex, expression => Resolve(store, expression, query), scroll);
        IReadOnlyList<string> indices = page.Search.Indices;
        await run.StartAsync(timeout, "search").ConfigureAwait(false);
        LogSearchResult result = page.Complete(store.Search(page.Search, countOnly: false, run.Token));
        // Elasticsearch computes aggregations on a scroll's first page only; search_after does not narrow them.
        AggregationResults? aggregations = scroll is null ? RunAggregations(store, request, page.Search, run.Token) : null;
        bool scored = request.Sort.Count == 0 || request.Sort.Any(s => s.Field == "_score");
        bool totalAsInt = IsTrue(query, "rest_total_hits_as_int");
        bool typedKeys = IsTrue(query, "typed_keys");
        long took = stopwatch.ElapsedMilliseconds;
        return w =>
        {
            if (page.Scroll is { } scrolled)
            {
                w.WriteString("_scroll_id", scrolled.Id);
            }

            if (page.Pit is { } pit)
            {
                w.WriteString("pit_id", pit.Id);
            }

            w.WriteNumber("took", took);
            w.WriteBoolean("timed_out", false);
            if (request.TerminateAfter is not null)
            {
                w.WriteBoolean("terminated_early", result.TerminatedEarly);
            }

            WriteShards(w, indices.Count);
            w.WriteStartObject("hits");
            if (totalAsInt)
            {
                w.WriteNumber("total", result.Total);
            }
            else
            {
                w.WriteStartObject("total");
                w.WriteNumber("value", result.Total);
                w.WriteString("relation", result.TotalIsLowerBound ? "gte" : "eq");
                w.WriteEndObject();
            }

            // No relevance scoring: every hit scores 1.0, as a filter or match_all does in Elasticsearch.
            if (scored && result.Hits.Count > 0)
            {
                w.WriteNumber("max_score", 1.0);
            }
            else
            {
                w.WriteNull("max_score");
            }

            w.WriteStartArray("hits");
            foreach (LogHit hit in result.Hits)
            {
                w.WriteStartObject();
                w.WriteString("_index", hit.Index);
                w.WriteString("_type", "_doc");
                w.WriteString("_id", hit.Id);
                request.Display.WriteHitHeader(w);
                if (scored)
                {
                    w.WriteNumber("_score", 1.0);
                }
                else
                {
                    w.WriteNull("_score");
                }

                using JsonDocument source = JsonDocument.Parse(hit.Source);
                if (request.Source.Enabled)
                {
                    w.WritePropertyName("_source");
                    if (request.Source.IsWhole)
                    {
                        source.RootElement.WriteTo(w);
                    }
                    else
                    {
                        request.Source.Write(w, source.RootElement);
                    }
                }

                request.Display.WriteHitMembers(w, source.RootElement, request.Query);

                if (page.SortValues(hit) is { } sortValues)
                {
                    w.WriteStartArray("sort");
                    foreach (object? value in sortValues)
                    {
                        WriteValue(w, value);
                    }

                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            aggregations?.WriteTo(w, typedKeys);
        };
    }

    /// <summary>
    /// Runs a search's <c>aggs</c> over the documents its query matches in <paramref name="search"/>'s indices, as its
    /// point in time sees them when it has one (null when it has none); the caller writes them with
    /// <see cref="AggregationResults.WriteTo"/> after <c>hits</c>. For every endpoint that answers searches.
    /// </summary>
    internal static AggregationResults? RunAggregations(LogStore store, SearchRequest request, LogSearch search, CancellationToken cancellationToken) =>
        request.Aggregations.Count == 0 ? null : store.Aggregate(search.Indices, request.Query, request.Aggregations, search.Snapshot, cancellationToken);

    private static async Task CountAsync(HttpContext context, LogStore store, string expression, QueryRun run)
    {
        Dictionary<string, string> query = QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.Count);
        byte[] body = await ReadBodyAsync(context).ConfigureAwait(false);
        bool hasBody = QueryDslParser.HasBody(body);
        if ((hasBody || !query.ContainsKey("q")) && query.Keys.FirstOrDefault(ElasticsearchParameters.QueryString.Contains) is { } unread)
        {
            // Elasticsearch reads q only without a body, and df … only with q; what it leaves unread it refuses.
            throw ElasticsearchException.IllegalArgument($"request [{context.Request.Path}] contains unrecognized parameter: [{unread}]: "
                + (hasBody ? "a _count with a body takes its query from the body" : "it only qualifies [q]"));
        }

        SearchRequest request = QueryDslParser.ParseCount(body, query);
        List<string> indices = Resolve(store, expression, query);
        if (indices.Count == 0 && query.TryGetValue("allow_no_indices", out string? allowNone) && allowNone == "false")
        {
            throw ElasticsearchException.IndexNotFound(expression);
        }
        await run.StartAsync(null, "count").ConfigureAwait(false);
        LogSearchResult result = store.Search(new LogSearch(indices, request.Query, [], 0, 0) { TerminateAfter = request.TerminateAfter }, countOnly: true, run.Token);
        await WriteJsonAsync(context, 200, w =>
        {
            w.WriteNumber("count", result.Total);
            if (request.TerminateAfter is not null)
            {
                w.WriteBoolean("terminated_early", result.TerminatedEarly);
            }

            WriteShards(w, indices.Count);
        }).ConfigureAwait(false);
    }

    private static Task CatIndices(HttpContext context, LogStore store, string expression)
    {
        Dictionary<string, string> query = QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.CatIndices);
        List<string> names = IndexNames.Resolve(expression, store.ListIndices(), IsTrue(query, "ignore_unavailable"));
        bool rawBytes = query.TryGetValue("bytes", out string? bytesUnit) && bytesUnit == "b";
        string[] columns = ["health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted", "store.size", "pri.store.size"];
        string[] selected = query.TryGetValue("h", out string? h)
            ? h.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : columns;
        if (selected.FirstOrDefault(c => !columns.Contains(c)) is { } unknown)
        {
            throw ElasticsearchException.IllegalArgument($"header name [{unknown}] does not exist");
        }

        // store.size is what the index takes on disk, after compression, as in Elasticsearch (not the _source bytes
        // received); measuring reads the index's records, so only when the columns are asked for.
        IReadOnlyDictionary<string, long> stored = selected.Any(c => c is "store.size" or "pri.store.size")
            ? store.StoredBytes(names, context.RequestAborted)
            : new Dictionary<string, long>();
        var rows = new List<string[]>();
        foreach (LogIndexInfo index in store.ListIndices().Where(i => names.Contains(i.Name)))
        {
            long bytes = stored.GetValueOrDefault(index.Name);
            string size = rawBytes ? bytes.ToString(CultureInfo.InvariantCulture) : HumanBytes(bytes);
            string docs = index.DocumentCount.ToString(CultureInfo.InvariantCulture);
            var values = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["health"] = "green", ["status"] = "open", ["index"] = index.Name, ["uuid"] = index.Uuid, ["pri"] = "1", ["rep"] = "0",
                ["docs.count"] = docs, ["docs.deleted"] = "0", ["store.size"] = size, ["pri.store.size"] = size,
            };
            rows.Add([.. selected.Select(c => values[c])]);
        }

        if (query.TryGetValue("format", out string? format) && format == "json")
        {
            return WriteJsonArrayAsync(context, w =>
            {
                foreach (string[] row in rows)
                {
                    w.WriteStartObject();
                    for (int i = 0; i < selected.Length; i++)
                    {
                        w.WriteString(selected[i], row[i]);
                    }

                    w.WriteEndObject();
                }
            });
        }

        return WriteTextTableAsync(context, selected, rows, query.ContainsKey("v"));
    }

    private static Task CatHealth(HttpContext context, LogStore store)
    {
        long epoch = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string time = DateTimeOffset.UtcNow.ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        string shards = store.ListIndices().Count.ToString(CultureInfo.InvariantCulture);
        string[] header = ["epoch", "timestamp", "cluster", "status", "node.total", "node.data", "shards", "pri", "relo", "init", "unassign", "pending_tasks", "max_task_wait_time", "active_shards_percent"];
        string[] row = [epoch.ToString(CultureInfo.InvariantCulture), time, "flotel", "green", "1", "1", shards, shards, "0", "0", "0", "0", "-", "100.0%"];
        Dictionary<string, string> query = QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.CatHealth);
        if (query.TryGetValue("h", out string? h))
        {
            string[] selected = h.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (selected.FirstOrDefault(c => !header.Contains(c)) is { } unknown)
            {
                throw ElasticsearchException.IllegalArgument($"header name [{unknown}] does not exist");
            }

            row = [.. selected.Select(c => row[Array.IndexOf(header, c)])];
            header = selected;
        }

        if (query.TryGetValue("format", out string? format) && format == "json")
        {
            return WriteJsonArrayAsync(context, w =>
            {
                w.WriteStartObject();
                for (int i = 0; i < header.Length; i++)
                {
                    w.WriteString(header[i], row[i]);
                }

                w.WriteEndObject();
            });
        }

        return WriteTextTableAsync(context, header, [row], query.ContainsKey("v"));
    }

    /// <summary>
    /// Answers 409 for a <c>create</c> whose id the store already holds, or that an earlier item of the same request
    /// indexes (Elasticsearch answers the second of two creates of one id with 409). A queued sink answers before the
    /// store sees a document, so this is the only place a conflict can reach the client; one still in the queue when
    /// the request arrives is not seen here, and the store then keeps the first and drops the create (see
    /// docs/configuration.md, "Delivery guarantees").
    /// </summary>
    private static List<BulkEntry> RejectKnownCreateConflicts(List<BulkEntry> entries, LogStore store)
    {
        HashSet<(string Index, string Id)>? seen = null;
        for (int i = 0; i < entries.Count; i++)
        {
            if (entries[i].Document is not { Id: { } id } document)
            {
                continue;
            }

            seen ??= [];
            bool earlier = !seen.Add((document.Index, id));
            if (document.CreateOnly && (earlier || store.ContainsId(document.Index, id) == true))
            {
                entries[i] = entries[i] with
                {
                    Document = null,
                    Failure = BulkItemResult.Failed(document.Index, id, 409, "version_conflict_engine_exception", $"[{id}]: version conflict, document already exists"),
                };
            }
        }

        return entries;
    }

    private static async Task BulkAsync(HttpContext context, LogStore store, IBulkSink sink, string? pathIndex)
    {
        var stopwatch = Stopwatch.StartNew();
        if (pathIndex is not null && IndexNames.Validate(pathIndex) is { } invalid)
        {
            throw new ElasticsearchException(400, "invalid_index_name_exception", invalid, pathIndex);
        }

        byte[] body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body.Length == 0)
        {
            throw new ElasticsearchException(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;");
        }

        List<BulkEntry> entries = RejectKnownCreateConflicts(BulkRequestReader.Read(body, pathIndex), store);
        var documents = entries.Where(e => e.Document is not null).Select(e => e.Document!).ToList();
        IReadOnlyList<BulkItemResult> accepted = documents.Count == 0 ? [] : await sink.AcceptAsync(documents, context.RequestAborted).ConfigureAwait(false);
        if (accepted.Count != documents.Count)
        {
            throw new InvalidOperationException($"bulk sink returned {accepted.Count} results for {documents.Count} documents");
        }

        var items = new List<(string Action, BulkItemResult Result)>(entries.Count);
        int next = 0;
        foreach (BulkEntry entry in entries)
        {
            items.Add((entry.Action, entry.Failure ?? accepted[next++]));
        }

        long took = stopwatch.ElapsedMilliseconds;
        await WriteJsonAsync(context, 200, w =>
        {
            w.WriteNumber("took", took);
            w.WriteBoolean("errors", items.Exists(i => !i.Result.IsSuccess));
            w.WriteStartArray("items");
            foreach ((string action, BulkItemResult item) in items)
            {
                w.WriteStartObject();
                w.WriteStartObject(action);
                WriteStringOrNull(w, "_index", item.Index);
                w.WriteString("_type", "_doc");
                WriteStringOrNull(w, "_id", item.Id);
                if (item.IsSuccess)
                {
                    w.WriteNumber("_version", 1);
                    w.WriteString("result", item.Result);
                    w.WriteStartObject("_shards");
                    w.WriteNumber("total", 1);
                    w.WriteNumber("successful", 1);
                    w.WriteNumber("failed", 0);
                    w.WriteEndObject();
                }

                w.WriteNumber("status", item.Status);
                if (!item.IsSuccess)
                {
                    w.WriteStartObject("error");
                    w.WriteString("type", item.ErrorType ?? "exception");
                    w.WriteString("reason", item.ErrorReason ?? string.Empty);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static List<string> Resolve(LogStore store, string expression, Dictionary<string, string> query) =>
        IndexNames.Resolve(expression, store.ListIndices(), IsTrue(query, "ignore_unavailable"));

    internal static void WriteShards(Utf8JsonWriter w, int count)
    {
        w.WriteStartObject("_shards");
        w.WriteNumber("total", count);
        w.WriteNumber("successful", count);
        w.WriteNumber("skipped", 0);
        w.WriteNumber("failed", 0);
        w.WriteEndObject();
    }

    internal static void WriteValue(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null:
                w.WriteNullValue();
                break;
            case long l:
                w.WriteNumberValue(l);
                break;
            case double d:
                w.WriteNumberValue(d);
                break;
            default:
                w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void WriteStringOrNull(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    // Elasticsearch's ByteSizeValue: one decimal, dropped when it is .0 ("225b", "5.2kb", "1gb").
    internal static string HumanBytes(long bytes)
    {
        string[] units = ["b", "kb", "mb", "gb", "tb", "pb"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        double rounded = Math.Round(value, 1, MidpointRounding.AwayFromZero);
        return rounded.ToString(rounded == Math.Floor(rounded) ? "0" : "0.0", CultureInfo.InvariantCulture) + units[unit];
    }

    internal static Dictionary<string, string> QueryParameters(HttpContext context)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> pair in context.Request.Query)
        {
            parameters[pair.Key] = pair.Value.ToString();
        }

        return parameters;
    }

    internal static bool IsTrue(Dictionary<string, string> query, string name) =>
        query.TryGetValue(name, out string? value) && value is "" or "true";

    private static bool IsPretty(HttpContext context) =>
        context.Request.Query.TryGetValue("pretty", out Microsoft.Extensions.Primitives.StringValues value) && value.ToString() is not "false";

    internal static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        if (request.ContentLength > MaxBodyBytes)
        {
            throw new ElasticsearchException(413, "content_too_long_exception", $"request body is larger than {MaxBodyBytes} bytes");
        }

        Stream stream = request.Body;
        bool gzip = request.Headers.ContentEncoding.ToString().Equals("gzip", StringComparison.OrdinalIgnoreCase);
        using var decoded = gzip ? new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true) : null;
        Stream source = decoded ?? stream;
        using var buffer = new MemoryStream();
        byte[] chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = await source.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxBodyBytes)
                {
                    throw new ElasticsearchException(413, "content_too_long_exception", $"request body is larger than {MaxBodyBytes} bytes");
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (InvalidDataException e)
        {
            throw new ElasticsearchException(400, "parse_exception", "request body is not valid gzip: " + e.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    /// <summary>Answers <paramref name="e"/> in Elasticsearch's error shape (also for answers the gateway writes before any endpoint runs).</summary>
    internal static Task WriteErrorAsync(HttpContext context, ElasticsearchException e) => WriteDocumentAsync(context, e.Status, w =>
    {
        w.WriteStartObject();
        WriteErrorMembers(w, e);
        w.WriteEndObject();
    }, filter: false);

    /// <summary>The members <c>"error":{…},"status":…</c> of Elasticsearch's error answer (also an <c>_msearch</c> item's).</summary>
    internal static void WriteErrorMembers(Utf8JsonWriter w, ElasticsearchException e)
    {
        w.WriteStartObject("error");
        w.WriteStartArray("root_cause");
        WriteCause(w, e);
        w.WriteEndArray();
        WriteCauseFields(w, e);
        w.WriteEndObject();
        w.WriteNumber("status", e.Status);
    }

    private static void WriteCause(Utf8JsonWriter w, ElasticsearchException e)
    {
        w.WriteStartObject();
        WriteCauseFields(w, e);
        w.WriteEndObject();
    }

    private static void WriteCauseFields(Utf8JsonWriter w, ElasticsearchException e)
    {
        w.WriteString("type", e.Type);
        w.WriteString("reason", e.Message);
        if (e.Index is { } index && e.Type == "index_not_found_exception")
        {
            w.WriteString("resource.type", "index_or_alias");
            w.WriteString("resource.id", index);
            w.WriteString("index_uuid", "_na_");
            w.WriteString("index", index);
        }
    }

    internal static Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> writeMembers) =>
        WriteDocumentAsync(context, status, w =>
        {
            w.WriteStartObject();
            writeMembers(w);
            w.WriteEndObject();
        }, filter: true);

    internal static Task WriteJsonArrayAsync(HttpContext context, Action<Utf8JsonWriter> writeItems) =>
        WriteDocumentAsync(context, 200, w =>
        {
            w.WriteStartArray();
            writeItems(w);
            w.WriteEndArray();
        }, filter: true);

    // Elasticsearch applies filter_path to every answer but an error (a 404 "found": false or a 201 is filtered too).
    private static async Task WriteDocumentAsync(HttpContext context, int status, Action<Utf8JsonWriter> write, bool filter)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = IsPretty(context), Encoder = LogEventJson.WriterOptions.Encoder }))
        {
            write(writer);
        }

        if (IsPretty(context))
        {
            buffer.Write("\n"u8);
        }

        ReadOnlyMemory<byte> json = buffer.WrittenMemory;
        if (filter && context.Request.Query.TryGetValue("filter_path", out Microsoft.Extensions.Primitives.StringValues filterPath))
        {
            json = FilterPath.Parse(filterPath.ToString()).Apply(json, IsPretty(context));
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=UTF-8";
        context.Response.ContentLength = json.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
        }
    }

    // _cat's text table: columns padded to their widest value, numbers right-aligned, one row per line.
    internal static async Task WriteTextTableAsync(HttpContext context, string[] header, List<string[]> rows, bool withHeader)
    {
        var all = new List<string[]>();
        if (withHeader)
        {
            all.Add(header);
        }

        all.AddRange(rows);
        int[] widths = new int[header.Length];
        foreach (string[] row in all)
        {
            for (int i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        var text = new StringBuilder();
        foreach (string[] row in all)
        {
            for (int i = 0; i < row.Length; i++)
            {
                bool numeric = row != header && row[i].Length > 0 && char.IsAsciiDigit(row[i][0]) && !row[i].Contains(':', StringComparison.Ordinal);
                string cell = numeric ? row[i].PadLeft(widths[i]) : row[i].PadRight(widths[i]);
                text.Append(cell).Append(i == row.Length - 1 ? string.Empty : " ");
            }

            text.Append('\n');
        }

        byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain; charset=UTF-8";
        context.Response.ContentLength = bytes.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
