using System.Globalization;
using System.Text;
using System.Text.Json;
using Flotel.Gateway.Inputs.Bulk;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;
using Flotel.Wire.Logs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotel.Gateway.Query.Elasticsearch;

/// <summary>
/// Single-document endpoints with Elasticsearch's response shapes. Reads (query group): <c>GET|HEAD
/// /{index}/_doc/{id}</c>, <c>GET|POST /_mget</c> and <c>/{index}/_mget</c> (<c>docs</c> and <c>ids</c> forms). Writes
/// (ingest group): <c>PUT|POST /{index}/_doc/{id}</c>, <c>POST /{index}/_doc</c> (generated id), <c>PUT|POST
/// /{index}/_create/{id}</c> (409 <c>version_conflict_engine_exception</c> when the id exists). A write is a one-document
/// <c>_bulk</c> through the same <see cref="IBulkSink"/>, so it is in the durable queue when answered and reaches every
/// output; <c>refresh=true|wait_for</c> also waits until the store returns it.
/// </summary>
/// <remarks>
/// The store keeps no version history: <c>_version</c> is always 1 and <c>_primary_term</c> 1; <c>_seq_no</c> is the
/// document's row number (it grows with each write of the id), or -2 (Elasticsearch's "unassigned") in a write answered
/// before the store has it. <c>if_seq_no</c>, <c>version</c> and deleting documents are refused with a 400 naming them.
/// </remarks>
internal static class ElasticsearchDocumentApi
{
    /// <summary>Longest a <c>refresh=wait_for</c> write waits for its document to be searchable before answering anyway.</summary>
    public static readonly TimeSpan MaxRefreshWait = TimeSpan.FromSeconds(30);

    /// <summary>Most documents one <c>_mget</c> may name (each is one store look-up).</summary>
    public const int MaxMultiGetDocuments = 10_000;

    private const long UnassignedSeqNo = -2;

    /// <summary>Maps the reads; they run under <paramref name="limits"/> (a look-up in an index without an id index is a scan).</summary>
    public static IEndpointRouteBuilder MapElasticsearchDocumentReads(this IEndpointRouteBuilder routes, LogStore store, QueryLimiter limits, MetricsRegistry? metrics)
    {
        string[] read = [HttpMethods.Get, HttpMethods.Head];
        string[] search = [HttpMethods.Get, HttpMethods.Post];
        _ = routes.MapMethods("/{index}/_doc/{id}", read, (HttpContext c, string index, string id) => ElasticsearchApi.HandleQueryAsync(c, limits, metrics, "search", run => GetAsync(c, store, index, id, run)));
        _ = routes.MapMethods("/_mget", search, (HttpContext c) => ElasticsearchApi.HandleQueryAsync(c, limits, metrics, "search", run => MultiGetAsync(c, store, null, run)));
        _ = routes.MapMethods("/{index}/_mget", search, (HttpContext c, string index) => ElasticsearchApi.HandleQueryAsync(c, limits, metrics, "search", run => MultiGetAsync(c, store, index, run)));
        return routes;
    }

    public static IEndpointRouteBuilder MapElasticsearchDocumentWrites(this IEndpointRouteBuilder routes, LogStore store, IBulkSink bulk, TimeProvider time, MetricsRegistry? metrics)
    {
        string[] write = [HttpMethods.Put, HttpMethods.Post];
        _ = routes.MapMethods("/{index}/_doc/{id}", write, (HttpContext c, string index, string id) => ElasticsearchApi.Handle(c, metrics, () => IndexAsync(c, store, bulk, time, index, id, createOnly: false)));
        _ = routes.MapPost("/{index}/_doc", (HttpContext c, string index) => ElasticsearchApi.Handle(c, metrics, () => IndexAsync(c, store, bulk, time, index, null, createOnly: false)));
        _ = routes.MapMethods("/{index}/_create/{id}", write, (HttpContext c, string index, string id) => ElasticsearchApi.Handle(c, metrics, () => IndexAsync(c, store, bulk, time, index, id, createOnly: true)));
        _ = routes.MapDelete("/{index}/_doc/{id}", (HttpContext c) => ElasticsearchApi.Handle(c, metrics, () =>
            throw ElasticsearchException.IllegalArgument("deleting documents is not supported by this gateway: the store removes whole daily indices by retention")));
        return routes;
    }

    private static async Task GetAsync(HttpContext context, LogStore store, string index, string id, QueryRun run)
    {
        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        SourceFilter source = SourceParameter(query);
        if (!store.ListIndices().Any(i => i.Name == index))
        {
            throw ElasticsearchException.IndexNotFound(index);
        }

        await run.StartAsync(null, "search").ConfigureAwait(false);
        LogStoredDocument? document = store.Get(index, id, run.Token);
        await ElasticsearchApi.WriteJsonAsync(context, document is null ? 404 : 200, w => WriteDocument(w, index, id, document, source)).ConfigureAwait(false);
    }

    private static async Task MultiGetAsync(HttpContext context, LogStore store, string? pathIndex, QueryRun run)
    {
        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        SourceFilter defaultSource = SourceParameter(query);
        byte[] body = await ElasticsearchApi.ReadBodyAsync(context).ConfigureAwait(false);
        var wanted = new List<(string? Index, string Id, SourceFilter Source)>();
        try
        {
            using JsonDocument document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = QueryDslParser.MaxJsonDepth });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw ElasticsearchException.Parsing("request body must be a JSON object with [docs] or [ids]");
            }

            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "ids" when property.Value.ValueKind == JsonValueKind.Array:
                        foreach (JsonElement id in property.Value.EnumerateArray())
                        {
                            wanted.Add((pathIndex, IdText(id), defaultSource));
                        }

                        break;
                    case "docs" when property.Value.ValueKind == JsonValueKind.Array:
                        foreach (JsonElement item in property.Value.EnumerateArray())
                        {
                            wanted.Add(ReadItem(item, pathIndex, defaultSource));
                        }

                        break;
                    default:
                        throw ElasticsearchException.Parsing($"unknown key [{property.Name}] for a multi-get request: [docs] or [ids] (an array) is expected");
                }

                if (wanted.Count > MaxMultiGetDocuments)
                {
                    throw ElasticsearchException.IllegalArgument($"a multi-get may name at most {MaxMultiGetDocuments.ToString(CultureInfo.InvariantCulture)} documents");
                }
            }
        }
        catch (JsonException e)
        {
            throw ElasticsearchException.Parsing("request body is not valid JSON: " + e.Message);
        }

        if (wanted.Count == 0)
        {
            throw new ElasticsearchException(400, "action_request_validation_exception", "Validation Failed: 1: no documents to get;");
        }

        var known = store.ListIndices().Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        await run.StartAsync(null, "search").ConfigureAwait(false);
        // One look-up per index for all its ids: an index without an id index is scanned once, not once per id.
        var byIndex = wanted.Where(w => w.Index is not null && known.Contains(w.Index)).GroupBy(w => w.Index!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => store.GetMany(g.Key, [.. g.Select(w => w.Id)], run.Token), StringComparer.Ordinal);
        var found = new List<(string? Index, string Id, SourceFilter Source, LogStoredDocument? Document)>(wanted.Count);
        foreach ((string? index, string id, SourceFilter source) in wanted)
        {
            found.Add((index, id, source, index is not null && byIndex.TryGetValue(index, out var documents) ? documents.GetValueOrDefault(id) : null));
        }

        await ElasticsearchApi.WriteJsonAsync(context, 200, w =>
        {
            w.WriteStartArray("docs");
            foreach ((string? index, string id, SourceFilter source, LogStoredDocument? document) in found)
            {
                w.WriteStartObject();
                if (index is null || !known.Contains(index))
                {
                    // Elasticsearch's per-item error for a document it cannot look for.
                    w.WriteString("_index", index);
                    w.WriteString("_type", "_doc");
                    w.WriteString("_id", id);
                    w.WriteStartObject("error");
                    w.WriteString("type", index is null ? "action_request_validation_exception" : "index_not_found_exception");
                    w.WriteString("reason", index is null ? "index is missing" : $"no such index [{index}]");
                    w.WriteEndObject();
                }
                else
                {
                    WriteDocumentMembers(w, index, id, document, source);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static async Task IndexAsync(HttpContext context, LogStore store, IBulkSink bulk, TimeProvider time, string index, string? id, bool createOnly)
    {
        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        foreach (string refused in new[] { "if_seq_no", "if_primary_term", "version", "version_type", "pipeline" })
        {
            if (query.ContainsKey(refused))
            {
                throw ElasticsearchException.IllegalArgument($"[{refused}] is not supported by this gateway: it keeps no document versions or ingest pipelines");
            }
        }

        if (query.TryGetValue("op_type", out string? opType))
        {
            createOnly |= opType switch
            {
                "create" => true,
                "index" => false,
                _ => throw ElasticsearchException.IllegalArgument($"opType must be 'create' or 'index', found: [{opType}]"),
            };
        }

        bool waitForRefresh = query.TryGetValue("refresh", out string? refresh) && refresh switch
        {
            "" or "true" or "wait_for" => true,
            "false" => false,
            _ => throw ElasticsearchException.IllegalArgument($"Unknown value for refresh: [{refresh}]."),
        };
        if (IndexNames.Validate(index) is { } invalid)
        {
            throw new ElasticsearchException(400, "invalid_index_name_exception", invalid, index);
        }

        if (id is { Length: > 512 })
        {
            throw new ElasticsearchException(400, "action_request_validation_exception", $"Validation Failed: 1: id [{id[..20]}...] is too long, must be no longer than 512 bytes but was: {id.Length.ToString(CultureInfo.InvariantCulture)};");
        }

        byte[] body = await ElasticsearchApi.ReadBodyAsync(context).ConfigureAwait(false);
        if (!LogStore.TryValidateSource(body, out string? error))
        {
            throw new ElasticsearchException(400, "mapper_parsing_exception", "failed to parse: " + error);
        }

        bool exists = id is not null && store.Get(index, id) is not null;
        if (createOnly && exists)
        {
            throw new ElasticsearchException(409, "version_conflict_engine_exception", $"[{id}]: version conflict, document already exists (current version [1])", index);
        }

        IReadOnlyList<BulkItemResult> results = await bulk.AcceptAsync([new LogDocument(index, id, body, createOnly)], context.RequestAborted).ConfigureAwait(false);
        BulkItemResult result = results[0];
        if (!result.IsSuccess)
        {
            throw new ElasticsearchException(result.Status, result.ErrorType ?? "exception", result.ErrorReason ?? "the document was not accepted", index);
        }

        string finalId = result.Id!;
        long seqNo = UnassignedSeqNo;
        bool refreshed = false;
        if (waitForRefresh)
        {
            // Searchable once the store returns this very body for the id (a replaced document keeps its old body until then).
            string text = Encoding.UTF8.GetString(body);
            DateTimeOffset deadline = time.GetUtcNow() + MaxRefreshWait;
            while (true)
            {
                if (store.Get(index, finalId) is { } stored && stored.Source == text)
                {
                    seqNo = stored.RowId;
                    refreshed = true;
                    break;
                }

                if (time.GetUtcNow() >= deadline)
                {
                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(10), time, context.RequestAborted).ConfigureAwait(false);
            }
        }

        bool updated = exists && !createOnly;
        await ElasticsearchApi.WriteJsonAsync(context, updated ? 200 : 201, w =>
        {
            w.WriteString("_index", index);
            w.WriteString("_type", "_doc");
            w.WriteString("_id", finalId);
            w.WriteNumber("_version", 1);
            w.WriteString("result", updated ? "updated" : "created");
            if (waitForRefresh && refresh != "wait_for")
            {
                w.WriteBoolean("forced_refresh", refreshed);
            }

            w.WriteStartObject("_shards");
            w.WriteNumber("total", 1);
            w.WriteNumber("successful", 1);
            w.WriteNumber("failed", 0);
            w.WriteEndObject();
            w.WriteNumber("_seq_no", seqNo);
            w.WriteNumber("_primary_term", 1);
        }).ConfigureAwait(false);
    }

    private static (string? Index, string Id, SourceFilter Source) ReadItem(JsonElement item, string? pathIndex, SourceFilter defaultSource)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw ElasticsearchException.Parsing("[docs] entries must be objects with [_id]");
        }

        string? index = pathIndex;
        string? id = null;
        SourceFilter source = defaultSource;
        foreach (JsonProperty property in item.EnumerateObject())
        {
            switch (property.Name)
            {
                case "_index":
                    index = property.Value.GetString();
                    break;
                case "_id":
                    id = IdText(property.Value);
                    break;
                case "_source":
                    source = property.Value.ValueKind switch
                    {
                        JsonValueKind.False => SourceFilter.None,
                        JsonValueKind.True => SourceFilter.All,
                        JsonValueKind.String => new SourceFilter(true, [property.Value.GetString()!], []),
                        JsonValueKind.Array => new SourceFilter(true, [.. property.Value.EnumerateArray().Select(IdText)], []),
                        _ => throw ElasticsearchException.Parsing("[_source] of a [docs] entry must be a boolean, a field or a list of fields"),
                    };
                    break;
                case "_type" or "routing" or "_routing" or "stored_fields":
                    break;
                default:
                    throw ElasticsearchException.Parsing($"unknown key [{property.Name}] in a [docs] entry");
            }
        }

        return (index, id ?? throw ElasticsearchException.Parsing("[docs] entry without [_id]"), source);
    }

    private static string IdText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.GetRawText(),
        _ => throw ElasticsearchException.Parsing("ids must be strings"),
    };

    private static SourceFilter SourceParameter(Dictionary<string, string> query)
    {
        if (query.ContainsKey("_source_includes") || query.ContainsKey("_source_excludes"))
        {
            string[] includes = query.TryGetValue("_source_includes", out string? i) ? i.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];
            string[] excludes = query.TryGetValue("_source_excludes", out string? e) ? e.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];
            return new SourceFilter(true, includes, excludes);
        }

        return query.TryGetValue("_source", out string? text) ? text switch
        {
            "true" or "" => SourceFilter.All,
            "false" => SourceFilter.None,
            _ => new SourceFilter(true, text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), []),
        } : SourceFilter.All;
    }

    private static void WriteDocument(Utf8JsonWriter w, string index, string id, LogStoredDocument? document, SourceFilter source) =>
        WriteDocumentMembers(w, index, id, document, source);

    // GET's answer: {"_index","_type","_id","_version","_seq_no","_primary_term","found":true,"_source"} or found:false.
    private static void WriteDocumentMembers(Utf8JsonWriter w, string index, string id, LogStoredDocument? document, SourceFilter source)
    {
        w.WriteString("_index", index);
        w.WriteString("_type", "_doc");
        w.WriteString("_id", id);
        if (document is null)
        {
            w.WriteBoolean("found", false);
            return;
        }

        w.WriteNumber("_version", 1);
        w.WriteNumber("_seq_no", document.RowId);
        w.WriteNumber("_primary_term", 1);
        w.WriteBoolean("found", true);
        if (source.Enabled)
        {
            using JsonDocument parsed = JsonDocument.Parse(document.Source);
            w.WritePropertyName("_source");
            if (source.IsWhole)
            {
                parsed.RootElement.WriteTo(w);
            }
            else
            {
                source.Write(w, parsed.RootElement);
            }
        }
    }
}
