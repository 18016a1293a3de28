using System.Globalization;
using System.Net;
using System.Text.Json;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotel.Gateway.Query.Elasticsearch;

/// <summary>
/// What tools ask about the store before they search: <c>GET /_mapping</c>, <c>/{index}/_mapping</c>,
/// <c>GET|POST /_field_caps</c>, <c>/{index}/_field_caps</c>, <c>GET|HEAD /{index}</c> (settings and mappings),
/// <c>GET /_cluster/health[/{index}]</c> (Grafana's "Save &amp; test": pkg/tsdb/elasticsearch/healthcheck.go asks
/// <c>?wait_for_status=yellow</c> and fails on 408 or <c>"status":"red"</c>), and <c>GET /_nodes[/…]</c> (Kibana and
/// OpenSearch Dashboards read every node's <c>version</c> and <c>http.publish_address</c> at start-up) and
/// <c>GET /_license</c> (Logstash's <c>elasticsearch</c> output reads it at start-up). Field types
/// come from <see cref="FieldMappings"/>. The gateway is one node holding one primary shard per index and no
/// replicas: always green.
/// </summary>
internal static class ElasticsearchMetadataApi
{
    /// <summary>The node's id in <c>_nodes</c> answers (Elasticsearch's are 22 URL-safe base64 characters).</summary>
    public const string NodeId = "flotel-gateway-node-01";

    /// <summary>The node's name.</summary>
    public const string NodeName = "flotel";

    // Node filters of _nodes (Elasticsearch's node specification names) the one node matches.
    private static readonly HashSet<string> NodeFilters = new(StringComparer.Ordinal)
    {
        "_local", "_all", "_master", "_data", "_ingest", "master:true", "data:true", "ingest:true", "*", NodeId, NodeName,
    };

    // Single-segment endpoints that do not take GET or HEAD, which /{index} would otherwise answer.
    private static readonly Dictionary<string, string> OtherMethods = new(StringComparer.Ordinal)
    {
        ["_bulk"] = "POST, PUT",
        ["_search"] = "GET, POST",
        ["_msearch"] = "GET, POST",
        ["_count"] = "GET, POST",
    };

    /// <summary>
    /// The <c>uid</c> of the licence <c>GET /_license</c> reports: fixed, as a cluster's self-generated basic licence
    /// keeps its uid.
    /// </summary>
    public const string LicenseUid = "5f1b1e1a-7e1a-4c1e-9a55-f10be1a7e500";

    /// <summary>
    /// The licence's issue date: Elasticsearch 7.17.0's release day, 2022-02-01 (a cluster's basic licence carries the
    /// day it first started; the gateway has no such day, and this one stays the same across restarts).
    /// </summary>
    public static readonly DateTimeOffset LicenseIssued = new(2022, 2, 1, 0, 0, 0, TimeSpan.Zero);

    // Sections of _nodes the gateway can describe.
    private static readonly HashSet<string> NodeMetrics = new(StringComparer.Ordinal) { "http", "settings", "_all", "_none" };

    /// <summary>Maps the routes.</summary>
    public static IEndpointRouteBuilder MapElasticsearchMetadataApi(this IEndpointRouteBuilder routes, LogStore store, MetricsRegistry? metrics)
    {
        string[] read = [HttpMethods.Get, HttpMethods.Head];
        string[] search = [HttpMethods.Get, HttpMethods.Post];
        _ = routes.MapMethods("/_mapping", read, (HttpContext c) => ElasticsearchApi.Handle(c, metrics, () => MappingAsync(c, store, "_all")));
        _ = routes.MapMethods("/{index}/_mapping", read, (HttpContext c, string index) => ElasticsearchApi.Handle(c, metrics, () => MappingAsync(c, store, index)));
        _ = routes.MapMethods("/_field_caps", search, (HttpContext c) => ElasticsearchApi.Handle(c, metrics, () => FieldCapsAsync(c, store, "_all")));
        _ = routes.MapMethods("/{index}/_field_caps", search, (HttpContext c, string index) => ElasticsearchApi.Handle(c, metrics, () => FieldCapsAsync(c, store, index)));
        _ = routes.MapMethods("/{index}", read, (HttpContext c, string index) => ElasticsearchApi.Handle(c, metrics, () => GetIndexAsync(c, store, index)));
        _ = routes.MapMethods("/_cluster/health", read, (HttpContext c) => ElasticsearchApi.Handle(c, metrics, () => ClusterHealthAsync(c, store, null)));
        _ = routes.MapMethods("/_cluster/health/{index}", read, (HttpContext c, string index) => ElasticsearchApi.Handle(c, metrics, () => ClusterHealthAsync(c, store, index)));
        _ = routes.MapMethods("/_license", read, (HttpContext c) => ElasticsearchApi.Handle(c, metrics, () => LicenseAsync(c)));
        _ = routes.MapMethods("/_nodes", read, (HttpContext c) => ElasticsearchApi.Handle(c, metrics, () => NodesAsync(c, [])));
        _ = routes.MapMethods("/_nodes/{first}", read, (HttpContext c, string first) => ElasticsearchApi.Handle(c, metrics, () => NodesAsync(c, [first])));
        _ = routes.MapMethods("/_nodes/{first}/{second}", read, (HttpContext c, string first, string second) => ElasticsearchApi.Handle(c, metrics, () => NodesAsync(c, [first, second])));
        return routes;
    }

    private static Task MappingAsync(HttpContext context, LogStore store, string expression)
    {
        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.Mapping);
        bool typed = ElasticsearchApi.IsTrue(query, "include_type_name");
        FieldMappings mappings = Sample(store, expression, query, context.RequestAborted);
        return ElasticsearchApi.WriteJsonAsync(context, 200, w =>
        {
            foreach ((string index, FieldMappings.FieldNode root) in mappings.Indices)
            {
                w.WriteStartObject(index);
                WriteMappings(w, root, typed);
                w.WriteEndObject();
            }
        });
    }

    private static Task GetIndexAsync(HttpContext context, LogStore store, string expression)
    {
        if (expression.StartsWith('_'))
        {
            // Not an index name (they cannot start with '_'): an endpoint asked with another method (GET /_bulk, as
            // Elasticsearch: 405), or an API this gateway does not have, e.g. /_xpack (400).
            throw OtherMethods.TryGetValue(expression, out string? allowed)
                ? new ElasticsearchException(405, "illegal_argument_exception", $"Incorrect HTTP method for uri [{context.Request.Path}] and method [{context.Request.Method}], allowed: [{allowed}]")
                : new ElasticsearchException(400, "illegal_argument_exception", $"no handler found for uri [{context.Request.Path}] and method [{context.Request.Method}]");
        }

        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.Mapping);
        bool typed = ElasticsearchApi.IsTrue(query, "include_type_name");
        IReadOnlyList<LogIndexInfo> all = store.ListIndices();
        List<string> names = IndexNames.Resolve(expression, all, ElasticsearchApi.IsTrue(query, "ignore_unavailable"));
        if (HttpMethods.IsHead(context.Request.Method))
        {
            // HEAD /{index}: exists or not, no body (Elasticsearch answers 404 when a concrete name is missing).
            context.Response.StatusCode = names.Count > 0 || expression.Contains('*', StringComparison.Ordinal) ? 200 : 404;
            return Task.CompletedTask;
        }

        FieldMappings mappings = FieldMappings.Sample(store, names, context.RequestAborted);
        return ElasticsearchApi.WriteJsonAsync(context, 200, w =>
        {
            foreach (LogIndexInfo index in all.Where(i => names.Contains(i.Name)))
            {
                w.WriteStartObject(index.Name);
                w.WriteStartObject("aliases");
                w.WriteEndObject();
                WriteMappings(w, mappings.Indices[index.Name], typed);
                w.WriteStartObject("settings");
                w.WriteStartObject("index");
                w.WriteString("number_of_shards", "1");
                w.WriteString("number_of_replicas", "0");
                w.WriteString("uuid", index.Uuid);
                w.WriteString("provided_name", index.Name);
                w.WriteStartObject("version");
                w.WriteString("created", ElasticsearchApi.VersionId);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            }
        });
    }

    private static void WriteMappings(Utf8JsonWriter w, FieldMappings.FieldNode root, bool typed)
    {
        w.WriteStartObject("mappings");
        if (typed)
        {
            w.WriteStartObject("_doc");
        }

        WriteProperties(w, root);
        if (typed)
        {
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteProperties(Utf8JsonWriter w, FieldMappings.FieldNode node)
    {
        w.WriteStartObject("properties");
        foreach ((string name, FieldMappings.FieldNode child) in node.Properties)
        {
            w.WriteStartObject(name);
            if (child.Type == "object")
            {
                WriteProperties(w, child);
            }
            else
            {
                w.WriteString("type", child.Type);
                if (child.Type == "text")
                {
                    w.WriteBoolean("norms", false);
                }

                if (child.HasKeyword)
                {
                    w.WriteStartObject("fields");
                    w.WriteStartObject("keyword");
                    w.WriteString("type", "keyword");
                    w.WriteNumber("ignore_above", FieldMappings.KeywordIgnoreAbove);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static async Task FieldCapsAsync(HttpContext context, LogStore store, string expression)
    {
        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.FieldCaps);
        List<string> patterns = query.TryGetValue("fields", out string? fields) ? [.. Split(fields)] : [];
        byte[] body = await ElasticsearchApi.ReadBodyAsync(context).ConfigureAwait(false);
        patterns.AddRange(FieldCapsBody(body));
        if (patterns.Count == 0)
        {
            throw new ElasticsearchException(400, "action_request_validation_exception", "Validation Failed: 1: no fields specified;");
        }

        bool includeUnmapped = ElasticsearchApi.IsTrue(query, "include_unmapped");
        FieldMappings mappings = Sample(store, expression, query, context.RequestAborted);
        var all = new SortedDictionary<string, SortedDictionary<string, (bool Searchable, bool Aggregatable, List<string> Indices)>>(StringComparer.Ordinal);
        void Add(string path, string type, bool searchable, bool aggregatable, string index)
        {
            if (!patterns.Any(p => SourceFilter.Glob(p, path)))
            {
                return;
            }

            if (!all.TryGetValue(path, out var types))
            {
                types = new(StringComparer.Ordinal);
                all[path] = types;
            }

            if (!types.TryGetValue(type, out var entry))
            {
                entry = (searchable, aggregatable, []);
                types[type] = entry;
            }

            entry.Indices.Add(index);
        }

        foreach ((string index, FieldMappings.FieldNode root) in mappings.Indices)
        {
            // The metadata fields Elasticsearch lists for "*".
            Add("_id", "_id", true, true, index);
            Add("_index", "_index", true, true, index);
            Add("_source", "_source", false, false, index);
            foreach ((string path, string type, bool aggregatable) in root.Leaves())
            {
                Add(path, type, type != "object", aggregatable, index);
            }
        }

        if (includeUnmapped)
        {
            foreach ((string path, var types) in all)
            {
                var missing = mappings.Indices.Keys.Where(i => !types.Values.Any(t => t.Indices.Contains(i))).ToList();
                if (missing.Count > 0)
                {
                    types["unmapped"] = (false, false, missing);
                }
            }
        }

        int indexCount = mappings.Indices.Count;
        await ElasticsearchApi.WriteJsonAsync(context, 200, w =>
        {
            w.WriteStartArray("indices");
            foreach (string index in mappings.Indices.Keys)
            {
                w.WriteStringValue(index);
            }

            w.WriteEndArray();
            w.WriteStartObject("fields");
            foreach ((string path, var types) in all)
            {
                w.WriteStartObject(path);
                foreach ((string type, (bool searchable, bool aggregatable, List<string> indices)) in types)
                {
                    w.WriteStartObject(type);
                    w.WriteString("type", type);
                    w.WriteBoolean("metadata_field", path.StartsWith('_'));
                    w.WriteBoolean("searchable", searchable);
                    w.WriteBoolean("aggregatable", aggregatable);
                    // Elasticsearch lists the indices of a type only when the field has several types across them.
                    if (types.Count > 1 && indices.Count < indexCount)
                    {
                        w.WriteStartArray("indices");
                        foreach (string index in indices)
                        {
                            w.WriteStringValue(index);
                        }

                        w.WriteEndArray();
                    }

                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        }).ConfigureAwait(false);
    }

    // POST _field_caps: {"fields": [...], "index_filter": {...}, "runtime_mappings": {...}}. An index_filter is not
    // applied (the answer covers every index the expression names: a superset), runtime fields are refused.
    private static List<string> FieldCapsBody(byte[] body)
    {
        var fields = new List<string>();
        if (body.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            return fields;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = QueryDslParser.MaxJsonDepth });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw ElasticsearchException.Parsing("request body must be a JSON object");
            }

            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "fields" when property.Value.ValueKind == JsonValueKind.Array:
                        fields.AddRange(property.Value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : throw ElasticsearchException.Parsing("[fields] must hold strings")));
                        break;
                    case "fields" when property.Value.ValueKind == JsonValueKind.String:
                        fields.AddRange(Split(property.Value.GetString()!));
                        break;
                    case "index_filter":
                        break;
                    case "runtime_mappings" when property.Value.ValueKind == JsonValueKind.Object && !property.Value.EnumerateObject().Any():
                        break;
                    case "runtime_mappings":
                        throw ElasticsearchException.IllegalArgument("[runtime_mappings] is not supported: this gateway computes no runtime fields");
                    default:
                        throw ElasticsearchException.Parsing($"unknown key [{property.Name}] in the _field_caps body");
                }
            }
        }
        catch (JsonException e)
        {
            throw ElasticsearchException.Parsing("request body is not valid JSON: " + e.Message);
        }

        return fields;
    }

    private static FieldMappings Sample(LogStore store, string expression, Dictionary<string, string> query, CancellationToken cancellationToken)
    {
        List<string> names = IndexNames.Resolve(expression, store.ListIndices(), ElasticsearchApi.IsTrue(query, "ignore_unavailable"));
        return FieldMappings.Sample(store, names, cancellationToken);
    }

    private static Task ClusterHealthAsync(HttpContext context, LogStore store, string? expression)
    {
        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.ClusterHealth);
        IReadOnlyList<LogIndexInfo> all = store.ListIndices();
        List<string> names = expression is null ? [.. all.Select(i => i.Name)] : IndexNames.Resolve(expression, all, ignoreUnavailable: false);
        string level = query.GetValueOrDefault("level", "cluster");
        if (level is not ("cluster" or "indices" or "shards"))
        {
            throw ElasticsearchException.IllegalArgument($"No enum constant org.elasticsearch.action.admin.cluster.health.ClusterHealthRequest.Level.{level.ToUpperInvariant()}");
        }

        return ElasticsearchApi.WriteJsonAsync(context, 200, w =>
        {
            // Every wait_for_* condition holds already (one node, all shards started), so nothing waits.
            w.WriteString("cluster_name", NodeName);
            w.WriteString("status", "green");
            w.WriteBoolean("timed_out", false);
            w.WriteNumber("number_of_nodes", 1);
            w.WriteNumber("number_of_data_nodes", 1);
            w.WriteNumber("active_primary_shards", names.Count);
            w.WriteNumber("active_shards", names.Count);
            w.WriteNumber("relocating_shards", 0);
            w.WriteNumber("initializing_shards", 0);
            w.WriteNumber("unassigned_shards", 0);
            w.WriteNumber("delayed_unassigned_shards", 0);
            w.WriteNumber("number_of_pending_tasks", 0);
            w.WriteNumber("number_of_in_flight_fetch", 0);
            w.WriteNumber("task_max_waiting_in_queue_millis", 0);
            w.WriteNumber("active_shards_percent_as_number", 100.0);
            if (level is "indices" or "shards")
            {
                w.WriteStartObject("indices");
                foreach (string name in names)
                {
                    w.WriteStartObject(name);
                    w.WriteString("status", "green");
                    w.WriteNumber("number_of_shards", 1);
                    w.WriteNumber("number_of_replicas", 0);
                    w.WriteNumber("active_primary_shards", 1);
                    w.WriteNumber("active_shards", 1);
                    w.WriteNumber("relocating_shards", 0);
                    w.WriteNumber("initializing_shards", 0);
                    w.WriteNumber("unassigned_shards", 0);
                    if (level == "shards")
                    {
                        w.WriteStartObject("shards");
                        w.WriteStartObject("0");
                        w.WriteString("status", "green");
                        w.WriteBoolean("primary_active", true);
                        w.WriteNumber("active_shards", 1);
                        w.WriteNumber("relocating_shards", 0);
                        w.WriteNumber("initializing_shards", 0);
                        w.WriteNumber("unassigned_shards", 0);
                        w.WriteEndObject();
                        w.WriteEndObject();
                    }

                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }
        });
    }

    /// <summary>
    /// <c>GET /_license</c>, as an Elasticsearch 7.17 cluster on its self-generated basic licence answers it: active, type
    /// <c>basic</c>, issued by <c>elasticsearch</c> to the cluster, 1000 nodes, no expiry date and a start date of -1
    /// (Elastic's "Get license API" reference, 7.17).
    /// </summary>
    private static Task LicenseAsync(HttpContext context)
    {
        ElasticsearchParameters.Check(context.Request.Path, ElasticsearchApi.QueryParameters(context), ElasticsearchParameters.License);
        return ElasticsearchApi.WriteJsonAsync(context, 200, w =>
        {
            w.WriteStartObject("license");
            w.WriteString("status", "active");
            w.WriteString("uid", LicenseUid);
            w.WriteString("type", "basic");
            w.WriteString("issue_date", LicenseIssued.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteNumber("issue_date_in_millis", LicenseIssued.ToUnixTimeMilliseconds());
            w.WriteNumber("max_nodes", 1000);
            w.WriteString("issued_to", ElasticsearchApi.ClusterName);
            w.WriteString("issuer", "elasticsearch");
            w.WriteNumber("start_date_in_millis", -1);
            w.WriteEndObject();
        });
    }

    /// <summary><c>_nodes</c>, <c>_nodes/{nodes}</c>, <c>_nodes/{metrics}</c>, <c>_nodes/{nodes}/{metrics}</c>.</summary>
    private static Task NodesAsync(HttpContext context, string[] parts)
    {
        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.None);
        string? nodes = null, metrics = null;
        if (parts.Length == 2)
        {
            (nodes, metrics) = (parts[0], parts[1]);
        }
        else if (parts.Length == 1)
        {
            // Elasticsearch's rule: a single part is metrics when every name in it is a metric, else node filters.
            if (Split(parts[0]).All(NodeMetrics.Contains))
            {
                metrics = parts[0];
            }
            else
            {
                nodes = parts[0];
            }
        }

        if (metrics is not null && Split(metrics).FirstOrDefault(m => !NodeMetrics.Contains(m)) is { } unknown)
        {
            throw ElasticsearchException.IllegalArgument($"request [{context.Request.Path}] contains unrecognized metric: [{unknown}] (this gateway describes: http, settings)");
        }

        bool matches = nodes is null || Split(nodes).Any(NodeFilters.Contains);
        HashSet<string> sections = metrics is null || Split(metrics).Contains("_all") ? ["http", "settings"] : [.. Split(metrics).Where(m => m != "_none")];
        IPAddress local = context.Connection.LocalIpAddress ?? IPAddress.Loopback;
        local = local.IsIPv4MappedToIPv6 ? local.MapToIPv4() : local;
        string host = local.ToString();
        string address = new IPEndPoint(local, context.Connection.LocalPort).ToString();
        return ElasticsearchApi.WriteJsonAsync(context, 200, w =>
        {
            w.WriteStartObject("_nodes");
            w.WriteNumber("total", matches ? 1 : 0);
            w.WriteNumber("successful", matches ? 1 : 0);
            w.WriteNumber("failed", 0);
            w.WriteEndObject();
            w.WriteString("cluster_name", NodeName);
            w.WriteStartObject("nodes");
            if (matches)
            {
                w.WriteStartObject(NodeId);
                w.WriteString("name", NodeName);
                w.WriteString("transport_address", address);
                w.WriteString("host", host);
                w.WriteString("ip", host);
                w.WriteString("version", ElasticsearchApi.Version);
                w.WriteString("build_flavor", "default");
                w.WriteString("build_type", "flotel");
                w.WriteString("build_hash", "flotel");
                w.WriteStartArray("roles");
                w.WriteStringValue("data");
                w.WriteStringValue("ingest");
                w.WriteStringValue("master");
                w.WriteEndArray();
                w.WriteStartObject("attributes");
                w.WriteEndObject();
                if (sections.Contains("settings"))
                {
                    w.WriteStartObject("settings");
                    w.WriteStartObject("cluster");
                    w.WriteString("name", NodeName);
                    w.WriteEndObject();
                    w.WriteStartObject("node");
                    w.WriteString("name", NodeName);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                if (sections.Contains("http"))
                {
                    w.WriteStartObject("http");
                    w.WriteStartArray("bound_address");
                    w.WriteStringValue(address);
                    w.WriteEndArray();
                    w.WriteString("publish_address", address);
                    w.WriteNumber("max_content_length_in_bytes", ElasticsearchApi.MaxBodyBytes);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        });
    }

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
