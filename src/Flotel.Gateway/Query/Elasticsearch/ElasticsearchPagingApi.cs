using System.Text;
using System.Text.Json;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotel.Gateway.Query.Elasticsearch;

/// <summary>
/// Deep pagination's own endpoints (searches in a point in time or a scroll go through <c>_search</c>, see
/// <see cref="SearchPage"/>):
/// <list type="bullet">
/// <item>Elasticsearch's point in time: <c>POST /{index}/_pit?keep_alive=1m</c> → <c>{"id": …}</c>; <c>DELETE /_pit</c>
/// with <c>{"id": …}</c>.</item>
/// <item>OpenSearch's: <c>POST /{index}/_search/point_in_time?keep_alive=1m</c> → <c>{"pit_id": …}</c>;
/// <c>DELETE /_search/point_in_time</c> with <c>{"pit_id": [ … ]}</c>; <c>GET|DELETE /_search/point_in_time/_all</c>.</item>
/// <item>Scroll: <c>GET|POST /_search/scroll[/{scroll_id}]</c> (<c>{"scroll": "1m", "scroll_id": …}</c>, the bare id as
/// the body, or <c>scroll_id</c>/<c>scroll</c> URL parameters); <c>DELETE /_search/scroll[/{ids|_all}]</c> (<c>{"scroll_id":
/// … or [ … ]}</c>, the bare id, or <c>_all</c>).</item>
/// </list>
/// An unknown or expired id is 404 <c>search_context_missing_exception</c>; limits are <see cref="SearchContexts"/>'.
/// </summary>
internal static class ElasticsearchPagingApi
{
    public static IEndpointRouteBuilder MapElasticsearchPagingApi(this IEndpointRouteBuilder routes, LogStore store, QueryLimiter limits, MetricsRegistry? metrics, SearchContexts contexts)
    {
        string[] search = [HttpMethods.Get, HttpMethods.Post];
        string[] delete = [HttpMethods.Delete];
        _ = routes.MapPost("/{index}/_pit", (HttpContext c, string index) => ElasticsearchApi.Handle(c, metrics, () => OpenPitAsync(c, store, contexts, index, openSearch: false)));
        _ = routes.MapDelete("/_pit", (HttpContext c) => ElasticsearchApi.Handle(c, metrics, () => ClosePitAsync(c, contexts)));
        _ = routes.MapPost("/{index}/_search/point_in_time", (HttpContext c, string index) => ElasticsearchApi.Handle(c, metrics, () => OpenPitAsync(c, store, contexts, index, openSearch: true)));
        _ = routes.MapDelete("/_search/point_in_time", (HttpContext c) => ElasticsearchApi.Handle(c, metrics, () => CloseOpenSearchPitsAsync(c, contexts, all: false)));
        _ = routes.MapDelete("/_search/point_in_time/_all", (HttpContext c) => ElasticsearchApi.Handle(c, metrics, () => CloseOpenSearchPitsAsync(c, contexts, all: true)));
        _ = routes.MapGet("/_search/point_in_time/_all", (HttpContext c) => ElasticsearchApi.Handle(c, metrics, () => ListOpenSearchPitsAsync(c, contexts)));
        _ = routes.MapMethods("/_search/scroll", search, (HttpContext c) => ElasticsearchApi.HandleQueryAsync(c, limits, metrics, "search", run => ScrollAsync(c, store, contexts, run, null)));
        _ = routes.MapMethods("/_search/scroll/{scrollId}", search, (HttpContext c, string scrollId) => ElasticsearchApi.HandleQueryAsync(c, limits, metrics, "search", run => ScrollAsync(c, store, contexts, run, scrollId)));
        _ = routes.MapMethods("/_search/scroll", delete, (HttpContext c) => ElasticsearchApi.Handle(c, metrics, () => ClearScrollAsync(c, contexts, null)));
        _ = routes.MapMethods("/_search/scroll/{scrollIds}", delete, (HttpContext c, string scrollIds) => ElasticsearchApi.Handle(c, metrics, () => ClearScrollAsync(c, contexts, scrollIds)));
        return routes;
    }

    private static Task OpenPitAsync(HttpContext context, LogStore store, SearchContexts contexts, string expression, bool openSearch)
    {
        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.OpenPointInTime);
        if (!query.TryGetValue("keep_alive", out string? keepAliveText))
        {
            throw new ElasticsearchException(400, "action_request_validation_exception", "Validation Failed: 1: [keep_alive] is not specified;");
        }

        TimeSpan keepAlive = SearchContexts.ParseKeepAlive(keepAliveText, "keep_alive");
        List<string> indices = IndexNames.Resolve(expression, store.ListIndices(), ElasticsearchApi.IsTrue(query, "ignore_unavailable"));
        SearchContext pit = contexts.Open(SearchContextKind.PointInTime, indices, store.Snapshot(indices), keepAlive);
        return ElasticsearchApi.WriteJsonAsync(context, 200, w =>
        {
            w.WriteString(openSearch ? "pit_id" : "id", pit.Id);
            ElasticsearchApi.WriteShards(w, indices.Count);
            if (openSearch)
            {
                w.WriteNumber("creation_time", pit.CreatedAt.ToUnixTimeMilliseconds());
            }
        });
    }

    // Elasticsearch: {"succeeded": true, "num_freed": n}, 404 when nothing was freed.
    private static async Task ClosePitAsync(HttpContext context, SearchContexts contexts)
    {
        ElasticsearchParameters.Check(context.Request.Path, ElasticsearchApi.QueryParameters(context), ElasticsearchParameters.CloseContexts);
        List<string> ids = IdsFromBody(await ElasticsearchApi.ReadBodyAsync(context).ConfigureAwait(false), "id");
        if (ids.Count == 0)
        {
            throw new ElasticsearchException(400, "action_request_validation_exception", "Validation Failed: 1: point in time id is not provided;");
        }

        int freed = ids.Count(id => contexts.Close(id, SearchContextKind.PointInTime));
        await WriteFreedAsync(context, freed).ConfigureAwait(false);
    }

    // OpenSearch: {"pits": [{"successful": bool, "pit_id": id}, …]}.
    private static async Task CloseOpenSearchPitsAsync(HttpContext context, SearchContexts contexts, bool all)
    {
        ElasticsearchParameters.Check(context.Request.Path, ElasticsearchApi.QueryParameters(context), ElasticsearchParameters.CloseContexts);
        List<(string Id, bool Closed)> results;
        if (all)
        {
            results = [.. contexts.CloseAll(SearchContextKind.PointInTime).Select(c => (c.Id, true))];
        }
        else
        {
            List<string> ids = IdsFromBody(await ElasticsearchApi.ReadBodyAsync(context).ConfigureAwait(false), "pit_id");
            if (ids.Count == 0)
            {
                throw new ElasticsearchException(400, "action_request_validation_exception", "Validation Failed: 1: no pit ids specified;");
            }

            results = [.. ids.Select(id => (id, contexts.Close(id, SearchContextKind.PointInTime)))];
        }

        await ElasticsearchApi.WriteJsonAsync(context, 200, w =>
        {
            w.WriteStartArray("pits");
            foreach ((string id, bool closed) in results)
            {
                w.WriteStartObject();
                w.WriteBoolean("successful", closed);
                w.WriteString("pit_id", id);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static Task ListOpenSearchPitsAsync(HttpContext context, SearchContexts contexts)
    {
        ElasticsearchParameters.Check(context.Request.Path, ElasticsearchApi.QueryParameters(context), ElasticsearchParameters.CloseContexts);
        IReadOnlyList<SearchContext> open = contexts.List(SearchContextKind.PointInTime);
        return ElasticsearchApi.WriteJsonAsync(context, 200, w =>
        {
            w.WriteStartArray("pits");
            foreach (SearchContext pit in open)
            {
                w.WriteStartObject();
                w.WriteString("pit_id", pit.Id);
                w.WriteNumber("creation_time", pit.CreatedAt.ToUnixTimeMilliseconds());
                w.WriteNumber("keep_alive", (long)pit.KeepAlive.TotalMilliseconds);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        });
    }

    private static async Task ScrollAsync(HttpContext context, LogStore store, SearchContexts contexts, QueryRun run, string? pathId)
    {
        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.Scroll);
        byte[] body = await ElasticsearchApi.ReadBodyAsync(context).ConfigureAwait(false);
        string? id = pathId ?? (query.TryGetValue("scroll_id", out string? fromUrl) ? fromUrl : null);
        string? keepAliveText = query.TryGetValue("scroll", out string? scrollParameter) ? scrollParameter : null;
        if (!IsBlank(body))
        {
            if (body[0] == (byte)'{')
            {
                (string? bodyId, string? bodyKeepAlive) = ReadScrollBody(body);
                id = bodyId ?? id;
                keepAliveText = bodyKeepAlive ?? keepAliveText;
            }
            else
            {
                // The legacy form: the bare scroll id as the body.
                id = Encoding.UTF8.GetString(body).Trim();
            }
        }

        if (string.IsNullOrEmpty(id))
        {
            throw new ElasticsearchException(400, "action_request_validation_exception", "Validation Failed: 1: scrollId is missing;");
        }

        TimeSpan? keepAlive = keepAliveText is null ? null : SearchContexts.ParseKeepAlive(keepAliveText, "scroll");
        SearchContext scroll = contexts.Use(id, SearchContextKind.Scroll, keepAlive);
        await scroll.Gate.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        try
        {
            // The page is the first request's search resumed; how its total is written is this request's choice.
            var parameters = new Dictionary<string, string>(scroll.Parameters, StringComparer.Ordinal);
            _ = parameters.Remove("rest_total_hits_as_int");
            if (query.TryGetValue("rest_total_hits_as_int", out string? asInt))
            {
                parameters["rest_total_hits_as_int"] = asInt;
            }

            Action<Utf8JsonWriter> members = await ElasticsearchApi.SearchMembersAsync(store, contexts, null, scroll.Body, parameters, run, scroll).ConfigureAwait(false);
            await ElasticsearchApi.WriteJsonAsync(context, 200, members).ConfigureAwait(false);
        }
        finally
        {
            _ = scroll.Gate.Release();
        }
    }

    private static async Task ClearScrollAsync(HttpContext context, SearchContexts contexts, string? pathIds)
    {
        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.ClearScroll);
        byte[] body = await ElasticsearchApi.ReadBodyAsync(context).ConfigureAwait(false);
        List<string> ids = pathIds is not null ? SplitIds(pathIds)
            : IsBlank(body) ? (query.TryGetValue("scroll_id", out string? fromUrl) ? SplitIds(fromUrl) : [])
            : body[0] == (byte)'{' ? IdsFromBody(body, "scroll_id")
            : SplitIds(Encoding.UTF8.GetString(body));
        if (ids.Count == 0)
        {
            throw new ElasticsearchException(400, "action_request_validation_exception", "Validation Failed: 1: no scroll ids specified;");
        }

        int freed = ids.Contains("_all")
            ? contexts.CloseAll(SearchContextKind.Scroll).Count
            : ids.Count(id => contexts.Close(id, SearchContextKind.Scroll));
        await WriteFreedAsync(context, freed).ConfigureAwait(false);
    }

    // Elasticsearch answers 404 when nothing was freed (ClearScrollResponse, ClosePointInTimeResponse), with the same body.
    private static Task WriteFreedAsync(HttpContext context, int freed) =>
        ElasticsearchApi.WriteJsonAsync(context, freed > 0 ? 200 : 404, w =>
        {
            w.WriteBoolean("succeeded", true);
            w.WriteNumber("num_freed", freed);
        });

    private static (string? Id, string? KeepAlive) ReadScrollBody(byte[] body)
    {
        using JsonDocument document = Parse(body);
        string? id = null, keepAlive = null;
        foreach (JsonProperty property in document.RootElement.EnumerateObject())
        {
            switch (property.Name)
            {
                case "scroll_id":
                    id = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : throw ElasticsearchException.Parsing("[scroll_id] must be a string");
                    break;
                case "scroll":
                    keepAlive = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : throw ElasticsearchException.Parsing("[scroll] must be a time value such as \"1m\"");
                    break;
                case "rest_total_hits_as_int":
                    break;
                default:
                    throw ElasticsearchException.Parsing($"Unknown parameter [{property.Name}] in request body or parameter is of the wrong type[{property.Value.ValueKind}] ");
            }
        }

        return (id, keepAlive);
    }

    // {"<name>": "id"} or {"<name>": ["id", …]}.
    private static List<string> IdsFromBody(byte[] body, string name)
    {
        if (IsBlank(body))
        {
            return [];
        }

        using JsonDocument document = Parse(body);
        var ids = new List<string>();
        foreach (JsonProperty property in document.RootElement.EnumerateObject())
        {
            if (property.Name != name)
            {
                throw ElasticsearchException.Parsing($"Unknown parameter [{property.Name}] in request body ([{name}] is expected)");
            }

            switch (property.Value.ValueKind)
            {
                case JsonValueKind.String:
                    ids.Add(property.Value.GetString()!);
                    break;
                case JsonValueKind.Array:
                    foreach (JsonElement item in property.Value.EnumerateArray())
                    {
                        ids.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw ElasticsearchException.Parsing($"[{name}] must hold strings"));
                    }

                    break;
                default:
                    throw ElasticsearchException.Parsing($"[{name}] must be a string or an array of strings");
            }
        }

        return ids;
    }

    private static JsonDocument Parse(byte[] body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = QueryDslParser.MaxJsonDepth });
        }
        catch (JsonException e)
        {
            throw ElasticsearchException.Parsing("request body is not valid JSON: " + e.Message);
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw ElasticsearchException.Parsing("request body must be a JSON object");
        }

        return document;
    }

    private static List<string> SplitIds(string text) =>
        [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static bool IsBlank(byte[] body) => body.All(b => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n');
}
