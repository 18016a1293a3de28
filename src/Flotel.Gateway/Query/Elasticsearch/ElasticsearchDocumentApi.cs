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
        {
            _ = CheckParameters(c, ElasticsearchParameters.DocumentDelete);
            throw ElasticsearchException.IllegalArgument("deleting documents is not supported by this gateway: the store removes whole daily indices by retention");
        }));
        return routes;
    }

    private static async Task GetAsync(HttpContext context, LogStore store, string index, string id, QueryRun run)
    {
        Dictionary<string, string> query = CheckReadParameters(context);
        SourceFilter source = SourceParameter(query) ?? StoredFieldsSource(StoredFieldsParameter(query));
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
        Dictionary<string, string> query = CheckReadParameters(context);
        var defaults = new ItemDefaults(SourceParameter(query), StoredFieldsParameter(query));
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
                            wanted.Add((pathIndex, IdText(id), defaults.Source ?? StoredFieldsSource(defaults.StoredFields)));
                        }

                        break;
                    case "docs" when property.Value.ValueKind == JsonValueKind.Array:
                        foreach (JsonElement item in property.Value.EnumerateArray())
                        {
                            wanted.Add(ReadItem(item, pathIndex, defaults));
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
        Dictionary<string, string> query = CheckParameters(context, ElasticsearchParameters.DocumentWrite);
        if (query.TryGetValue("op_type", out string? opType))
        {
            // Elasticsearch's _create takes op_type=create only; _doc takes create or index.
            createOnly = (opType, createOnly) switch
            {
                ("create", _) => true,
                ("index", false) => false,
                (_, true) => throw ElasticsearchException.IllegalArgument($"opType must be 'create', found: [{opType}]"),
                _ => throw ElasticsearchException.IllegalArgument($"opType must be 'create' or 'index', found: [{opType}]"),
            };
        }

        if (query.TryGetValue("wait_for_active_shards", out string? activeShards) && activeShards is not ("all" or "index-setting" or "0" or "1"))
        {
            // One copy of each index: "all" and 1 are met at once; more copies than that never become active.
            throw ElasticsearchException.IllegalArgument(int.TryParse(activeShards, NumberStyles.None, CultureInfo.InvariantCulture, out _)
                ? $"[wait_for_active_shards] is [{activeShards}] but this gateway keeps one copy of each index: use 1 or all"
                : $"cannot parse ActiveShardCount[{activeShards}]");
        }

        if (query.TryGetValue("timeout", out string? timeout))
        {
            // Elasticsearch waits up to this long for the primary shard; the gateway's single copy is always there.
            _ = SearchTimeout.Parse(timeout);
        }

        if (Flag(query, "require_alias", fallback: false))
        {
            // The gateway has no aliases, so no name is one.
            throw new ElasticsearchException(404, "index_not_found_exception", $"no such index [{index}] and [require_alias] request flag is [true] and [{index}] is not an alias", index);
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

    private static (string? Index, string Id, SourceFilter Source) ReadItem(JsonElement item, string? pathIndex, ItemDefaults defaults)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw ElasticsearchException.Parsing("[docs] entries must be objects with [_id]");
        }

        string? index = pathIndex;
        string? id = null;
        SourceFilter? source = defaults.Source;
        string[]? storedFields = defaults.StoredFields;
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
                case "stored_fields":
                    storedFields = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => [property.Value.GetString()!],
                        JsonValueKind.Array => [.. property.Value.EnumerateArray().Select(IdText)],
                        _ => throw ElasticsearchException.Parsing("[stored_fields] of a [docs] entry must be a field or a list of fields"),
                    };
                    break;
                case "_type" or "routing" or "_routing":
                    // One shard per index: routing cannot change where a document is.
                    break;
                default:
                    throw ElasticsearchException.Parsing($"unknown key [{property.Name}] in a [docs] entry");
            }
        }

        return (index, id ?? throw ElasticsearchException.Parsing("[docs] entry without [_id]"), source ?? StoredFieldsSource(storedFields));
    }

    private static string IdText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.GetRawText(),
        _ => throw ElasticsearchException.Parsing("ids must be strings"),
    };

    // The URL's _source, _source_includes and _source_excludes as Elasticsearch's FetchSourceContext reads them: _source
    // is a boolean or an include list, _source_includes replaces that list; null when none is given.
    private static SourceFilter? SourceParameter(Dictionary<string, string> query)
    {
        bool? fetch = null;
        string[]? includes = null;
        string[]? excludes = null;
        if (query.TryGetValue("_source", out string? text))
        {
            fetch = text switch { "true" => true, "false" => false, _ => null };
            includes = fetch is null ? Fields(text) : null;
        }

        if (query.TryGetValue("_source_includes", out string? included))
        {
            includes = Fields(included);
        }

        if (query.TryGetValue("_source_excludes", out string? excluded))
        {
            excludes = Fields(excluded);
        }

        return fetch is null && includes is null && excludes is null ? null : new SourceFilter(fetch ?? true, includes ?? [], excludes ?? []);
    }

    private static string[]? StoredFieldsParameter(Dictionary<string, string> query) =>
        query.TryGetValue("stored_fields", out string? text) ? Fields(text) : null;

    // Elasticsearch: naming stored fields without a _source option returns _source only when _source is among them. The
    // store maps no field as stored (as Logstash's template does not), so no "fields" member is ever added.
    private static SourceFilter StoredFieldsSource(string[]? storedFields) =>
        storedFields is null || storedFields.Contains("_source") ? SourceFilter.All : SourceFilter.None;

    private static string[] Fields(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Checks the URL parameters against <paramref name="allowed"/> and a <c>filter_path</c> before anything is done.</summary>
    private static Dictionary<string, string> CheckParameters(HttpContext context, HashSet<string> allowed)
    {
        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, allowed, ElasticsearchParameters.DocumentUnsupported);
        if (query.TryGetValue("filter_path", out string? filterPath))
        {
            // Checked before a write is queued, not when its answer is written.
            _ = FilterPath.Parse(filterPath);
        }

        return query;
    }

    // A read sees what the store holds. Documents still in the durable queue are not there yet: that is
    // Elasticsearch's realtime=false, and a refresh cannot bring them in.
    private static Dictionary<string, string> CheckReadParameters(HttpContext context)
    {
        Dictionary<string, string> query = CheckParameters(context, ElasticsearchParameters.DocumentRead);
        if (Flag(query, "refresh", fallback: false))
        {
            throw ElasticsearchException.IllegalArgument(
                $"request [{context.Request.Path}] contains unsupported parameter: [refresh=true]: a read cannot wait for documents still in the durable queue; write with refresh=wait_for instead");
        }

        if (query.ContainsKey("realtime") && Flag(query, "realtime", fallback: true))
        {
            throw ElasticsearchException.IllegalArgument(
                $"request [{context.Request.Path}] contains unsupported parameter: [realtime=true]: a read sees only documents the store holds (realtime=false); write with refresh=wait_for to read a write at once");
        }

        return query;
    }

    // Elasticsearch's paramAsBoolean: absent or empty is the fallback, else exactly true or false.
    private static bool Flag(Dictionary<string, string> query, string name, bool fallback) =>
        !query.TryGetValue(name, out string? text) || text.Length == 0 ? fallback : text switch
        {
            "true" => true,
            "false" => false,
            _ => throw ElasticsearchException.IllegalArgument($"Failed to parse value [{text}] as only [true] or [false] are allowed."),
        };

    /// <summary>The URL's <c>_source</c> option (null: none) and <c>stored_fields</c> (null: none), the default of each <c>_mget</c> entry.</summary>
    private sealed record ItemDefaults(SourceFilter? Source, string[]? StoredFields);

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
