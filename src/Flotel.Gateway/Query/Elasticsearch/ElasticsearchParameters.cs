using Flotel.Store.Query.Elasticsearch;
using Microsoft.AspNetCore.Http;

namespace Flotel.Gateway.Query.Elasticsearch;

/// <summary>
/// The URL parameters each Elasticsearch endpoint takes. A parameter outside its endpoint's list is refused with
/// Elasticsearch's own answer, 400 <c>illegal_argument_exception</c> "request [/_search] contains unrecognized
/// parameter: [x]", and a parameter Elasticsearch knows but the gateway does not honour (<c>explain</c>,
/// <c>stored_fields</c>, …) with "contains unsupported parameter", so that nothing a client asks for is silently
/// ignored. The lists hold what the gateway honours plus what cannot change an answer here (one shard, one node, no
/// caches: <c>preference</c>, <c>routing</c>, <c>request_cache</c>, <c>max_concurrent_shard_requests</c> …).
/// </summary>
internal static class ElasticsearchParameters
{
    /// <summary>Accepted everywhere: output formatting the gateway honours, or that only adds detail to errors.</summary>
    private static readonly string[] Common = ["pretty", "human", "error_trace", "filter_path"];

    // Scoring, routing and shard tuning: one shard on one node, so they cannot change an answer.
    private static readonly string[] ShardTuning =
    [
        "preference", "routing", "request_cache", "batched_reduce_size", "max_concurrent_shard_requests", "pre_filter_shard_size",
        "ccs_minimize_roundtrips", "allow_partial_search_results", "ignore_throttled", "search_type", "expand_wildcards", "allow_no_indices",
        "ignore_unavailable",
    ];

    /// <summary><c>_search</c> (and each <c>_msearch</c> item).</summary>
    public static readonly HashSet<string> Search = Set(
        ShardTuning,
        ["q", "df", "default_operator", "analyze_wildcard", "lenient", "from", "size", "sort", "_source", "track_total_hits", "timeout",
         "rest_total_hits_as_int", "typed_keys", "seq_no_primary_term", "track_scores", "scroll"]);

    /// <summary>A scroll's next page, <c>/_search/scroll</c>.</summary>
    public static readonly HashSet<string> Scroll = Set([], ["scroll", "scroll_id", "rest_total_hits_as_int"]);

    /// <summary>Clearing scrolls, <c>DELETE /_search/scroll</c>.</summary>
    public static readonly HashSet<string> ClearScroll = Set([], ["scroll_id"]);

    /// <summary>Opening a point in time, <c>/{index}/_pit</c> and OpenSearch's <c>/{index}/_search/point_in_time</c>.</summary>
    public static readonly HashSet<string> OpenPointInTime = Set(
        ["preference", "routing", "expand_wildcards", "ignore_unavailable", "allow_partial_pit_creation"], ["keep_alive"]);

    /// <summary>Closing or listing points in time: nothing but the common parameters.</summary>
    public static readonly HashSet<string> CloseContexts = Set([], []);

    /// <summary><c>_msearch</c>: its own parameters; the items take <see cref="Search"/>'s from their header lines.</summary>
    public static readonly HashSet<string> MultiSearch = Set(
        ShardTuning, ["max_concurrent_searches", "rest_total_hits_as_int", "typed_keys"]);

    /// <summary>
    /// <c>_count</c>: Elasticsearch's count action reads these and no more (not the search-only shard tuning of
    /// <see cref="ShardTuning"/>); <see cref="QueryString"/> only when there is no body and <c>q</c> is given.
    /// </summary>
    public static readonly HashSet<string> Count = Set(
        ["preference", "routing", "expand_wildcards", "allow_no_indices", "ignore_unavailable", "ignore_throttled"],
        ["q", "df", "default_operator", "analyze_wildcard", "lenient", "min_score", "terminate_after"]);

    /// <summary><c>q</c> and the parameters that only qualify it.</summary>
    public static readonly HashSet<string> QueryString = new(["q", "df", "default_operator", "analyze_wildcard", "lenient"], StringComparer.Ordinal);

    /// <summary>
    /// Reading documents, <c>GET|HEAD /{index}/_doc/{id}</c> and <c>_mget</c>. <c>refresh</c> and <c>realtime</c> are
    /// taken with the values the gateway honours only (<see cref="ElasticsearchDocumentApi"/>).
    /// </summary>
    public static readonly HashSet<string> DocumentRead = Set(
        ["preference", "routing"], ["_source", "_source_includes", "_source_excludes", "stored_fields", "refresh", "realtime"]);

    /// <summary>Writing one document, <c>PUT|POST /{index}/_doc[/{id}]</c> and <c>/{index}/_create/{id}</c>.</summary>
    public static readonly HashSet<string> DocumentWrite = Set(
        ["routing", "timeout", "wait_for_active_shards"], ["refresh", "op_type", "require_alias"]);

    /// <summary>Deleting one document, <c>DELETE /{index}/_doc/{id}</c> (refused after its parameters are checked).</summary>
    public static readonly HashSet<string> DocumentDelete = Set(["routing", "timeout", "wait_for_active_shards"], ["refresh"]);

    /// <summary><c>_nodes</c>.</summary>
    public static readonly HashSet<string> None = Set([], ["master_timeout", "timeout", "flat_settings", "local"]);

    /// <summary><c>_license</c>: <c>accept_enterprise</c> only renames a licence type the gateway never has.</summary>
    public static readonly HashSet<string> License = Set([], ["local", "accept_enterprise"]);

    /// <summary><c>_mapping</c> and <c>GET /{index}</c>.</summary>
    public static readonly HashSet<string> Mapping = Set(
        ["ignore_unavailable", "allow_no_indices", "expand_wildcards", "local", "master_timeout", "include_type_name", "flat_settings",
         "include_defaults"], []);

    /// <summary><c>_field_caps</c>.</summary>
    public static readonly HashSet<string> FieldCaps = Set(
        ["ignore_unavailable", "allow_no_indices", "expand_wildcards", "fields", "include_unmapped", "filters", "types"], []);

    /// <summary><c>_cluster/health</c>.</summary>
    public static readonly HashSet<string> ClusterHealth = Set(
        ["level", "local", "master_timeout", "timeout", "wait_for_status", "wait_for_nodes", "wait_for_active_shards",
         "wait_for_no_relocating_shards", "wait_for_no_initializing_shards", "wait_for_events", "expand_wildcards"], []);

    /// <summary><c>_cat/health</c>.</summary>
    public static readonly HashSet<string> CatHealth = Set(["format", "v", "h", "ts", "local", "master_timeout", "help", "time"], []);

    /// <summary><c>_cat/indices</c>.</summary>
    public static readonly HashSet<string> CatIndices =
        Set(["format", "v", "h", "bytes", "ignore_unavailable", "expand_wildcards", "local", "master_timeout"], []);

    /// <summary>Known to Elasticsearch, changing what it answers, and not honoured here: refused by name.</summary>
    private static readonly Dictionary<string, string> Unsupported = new(StringComparer.Ordinal)
    {
        ["scroll"] = "only _search (to open a scroll) and _search/scroll (to continue one) take it",
        ["source"] = "a request body in the [source] parameter is not supported by this gateway; send it as the body",
        ["_source_includes"] = "use the [_source] parameter or the body's _source",
        ["_source_excludes"] = "use the body's _source.excludes",
        ["stored_fields"] = "use the body's stored_fields",
        ["docvalue_fields"] = "use the body's docvalue_fields",
        ["explain"] = "explanations are not supported by this gateway",
        ["version"] = "use the body's version",
        ["terminate_after"] = "use the body's terminate_after",
        ["suggest_field"] = "suggesters are not supported by this gateway",
        ["stats"] = "search statistics groups are not supported by this gateway",
        ["analyzer"] = "a query string is analyzed as the store analyzes text; other analyzers are not supported by this gateway",
    };

    /// <summary>Known to Elasticsearch's single-document endpoints and not honoured here.</summary>
    public static readonly Dictionary<string, string> DocumentUnsupported = new(StringComparer.Ordinal)
    {
        ["if_seq_no"] = "the gateway keeps no document versions",
        ["if_primary_term"] = "the gateway keeps no document versions",
        ["version"] = "the gateway keeps no document versions",
        ["version_type"] = "the gateway keeps no document versions",
        ["pipeline"] = "ingest pipelines are not supported by this gateway",
    };

    /// <summary>Throws Elasticsearch's 400 for the first parameter of <paramref name="query"/> not in <paramref name="allowed"/>.</summary>
    public static void Check(PathString path, IReadOnlyDictionary<string, string> query, HashSet<string> allowed) => Check(path, query, allowed, Unsupported);

    /// <summary>As <see cref="Check(PathString, IReadOnlyDictionary{string, string}, HashSet{string})"/>, with <paramref name="unsupported"/> the endpoint's own list of parameters refused by name.</summary>
    public static void Check(PathString path, IReadOnlyDictionary<string, string> query, HashSet<string> allowed, Dictionary<string, string> unsupported)
    {
        foreach (string name in query.Keys)
        {
            if (allowed.Contains(name))
            {
                continue;
            }

            throw unsupported.TryGetValue(name, out string? why)
                ? ElasticsearchException.IllegalArgument($"request [{path}] contains unsupported parameter: [{name}]: {why}")
                : ElasticsearchException.IllegalArgument($"request [{path}] contains unrecognized parameter: [{name}]");
        }
    }

    private static HashSet<string> Set(string[] shared, string[] own) => new([.. Common, .. shared, .. own], StringComparer.Ordinal);
}
