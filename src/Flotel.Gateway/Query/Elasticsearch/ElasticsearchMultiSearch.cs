using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Flotel.Pipeline.Diagnostics;
using Flotel.Store.Logs;
using Flotel.Store.Query.Elasticsearch;
using Flotel.Wire.Logs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotel.Gateway.Query.Elasticsearch;

/// <summary>
/// <c>GET|POST /_msearch</c> and <c>/{index}/_msearch</c>: NDJSON pairs of a header line (<c>index</c>,
/// <c>ignore_unavailable</c>, …; empty or <c>{}</c> for none) and a search body line, answered
/// <c>{"took":…,"responses":[…]}</c> with one answer per pair in order. Each pair runs through the same search as
/// <c>_search</c> (<see cref="ElasticsearchApi.SearchMembersAsync"/>, points in time and <c>search_after</c> included),
/// one after the other, each under the
/// gateway's <see cref="QueryLimiter"/> as its own search; a pair that fails gets Elasticsearch's error object and
/// its status in its place, and the others are still answered. Grafana sends every Elasticsearch query this way
/// (pkg/tsdb/elasticsearch/client/client.go: header <c>search_type</c>, <c>ignore_unavailable</c>, <c>index</c>;
/// parameter <c>max_concurrent_shard_requests</c>).
/// </summary>
internal static class ElasticsearchMultiSearch
{
    /// <summary>Searches in one request, at most: each holds a query slot in turn, so this bounds one request's time.</summary>
    public const int MaxSearches = 1000;

    // Header keys Elasticsearch's msearch takes; each becomes a parameter of its search.
    private static readonly HashSet<string> HeaderKeys = new(StringComparer.Ordinal)
    {
        "index", "indices", "search_type", "preference", "routing", "request_cache", "ignore_unavailable", "allow_no_indices",
        "expand_wildcards", "ccs_minimize_roundtrips", "allow_partial_search_results", "max_concurrent_shard_requests",
        "pre_filter_shard_size", "batched_reduce_size", "ignore_throttled", "types",
    };

    /// <summary>Maps the two routes.</summary>
    public static IEndpointRouteBuilder MapElasticsearchMultiSearch(this IEndpointRouteBuilder routes, LogStore store, QueryLimiter limits, MetricsRegistry? metrics, SearchContexts contexts)
    {
        string[] methods = [HttpMethods.Get, HttpMethods.Post];
        _ = routes.MapMethods("/_msearch", methods, (HttpContext c) => ElasticsearchApi.Handle(c, metrics, () => MultiSearchAsync(c, store, limits, contexts, null)));
        _ = routes.MapMethods("/{index}/_msearch", methods, (HttpContext c, string index) => ElasticsearchApi.Handle(c, metrics, () => MultiSearchAsync(c, store, limits, contexts, index)));
        return routes;
    }

    /// <summary>
    /// One search of the request: its index expression (its header's, else the path's; null when neither names one, as
    /// a search in a point in time requires), its parameters (URL defaults overlaid by its header) and its body.
    /// </summary>
    internal sealed record Item(string? Expression, Dictionary<string, string> Parameters, ReadOnlyMemory<byte> Body);

    private static async Task MultiSearchAsync(HttpContext context, LogStore store, QueryLimiter limits, SearchContexts contexts, string? pathIndex)
    {
        var stopwatch = Stopwatch.StartNew();
        Dictionary<string, string> query = ElasticsearchApi.QueryParameters(context);
        ElasticsearchParameters.Check(context.Request.Path, query, ElasticsearchParameters.MultiSearch);
        byte[] body = await ElasticsearchApi.ReadBodyAsync(context).ConfigureAwait(false);
        List<Item> items = Parse(body, pathIndex, query);
        var answers = new List<ReadOnlyMemory<byte>>(items.Count);
        foreach (Item item in items)
        {
            ReadOnlyMemory<byte>? answer = await SearchOneAsync(context, store, limits, contexts, item).ConfigureAwait(false);
            if (answer is null)
            {
                return; // the client went away
            }

            answers.Add(answer.Value);
        }

        long took = stopwatch.ElapsedMilliseconds;
        await ElasticsearchApi.WriteJsonAsync(context, 200, w =>
        {
            w.WriteNumber("took", took);
            w.WriteStartArray("responses");
            foreach (ReadOnlyMemory<byte> answer in answers)
            {
                w.WriteRawValue(answer.Span, skipInputValidation: true);
            }

            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    /// <summary>Runs one search; its answer or its error as a JSON object; null when the client disconnected.</summary>
    private static async Task<ReadOnlyMemory<byte>?> SearchOneAsync(HttpContext context, LogStore store, QueryLimiter limits, SearchContexts contexts, Item item)
    {
        using QueryRun run = limits.Begin("search", context.RequestAborted);
        try
        {
            Action<Utf8JsonWriter> members = await ElasticsearchApi.SearchMembersAsync(store, contexts, item.Expression, item.Body.ToArray(), item.Parameters, run).ConfigureAwait(false);
            ReadOnlyMemory<byte> answer = Render(w =>
            {
                members(w);
                w.WriteNumber("status", 200);
            });
            run.Complete(QueryOutcome.Ok);
            return answer;
        }
        catch (Exception e) when (run.IsStop(e))
        {
            if (run.ClientGone)
            {
                run.Complete(QueryOutcome.Canceled);
                context.Abort();
                return null;
            }

            run.Complete(QueryOutcome.Timeout);
            return Error(new ElasticsearchException(504, "search_timeout_exception", "Time exceeded"));
        }
        catch (ElasticsearchException e)
        {
            return Error(e);
        }
        catch (LogQueryException e)
        {
            return Error(new ElasticsearchException(400, "query_shard_exception", e.Message));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug, not the request: this search's place gets a 500, the others are still answered.
            UnexpectedQueryErrors.Report(context, "Elasticsearch", e);
            return Error(new ElasticsearchException(500, "exception", "the gateway failed to answer this search; its log has the details"));
        }
    }

    private static ReadOnlyMemory<byte> Error(ElasticsearchException e) => Render(w => ElasticsearchApi.WriteErrorMembers(w, e));

    private static ReadOnlyMemory<byte> Render(Action<Utf8JsonWriter> members)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = LogEventJson.WriterOptions.Encoder }))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenMemory;
    }

    /// <summary>
    /// Splits the NDJSON body into its searches. A malformed header, a header without a body line, or more than
    /// <see cref="MaxSearches"/> searches refuse the whole request (as Elasticsearch does for the first two); a
    /// malformed body line fails only its own search.
    /// </summary>
    internal static List<Item> Parse(ReadOnlySpan<byte> body, string? pathIndex, IReadOnlyDictionary<string, string> urlParameters)
    {
        var lines = new List<(int Start, int Length)>();
        int start = 0;
        while (start < body.Length)
        {
            int end = body[start..].IndexOf((byte)'\n');
            int length = end < 0 ? body.Length - start : end;
            lines.Add((start, length));
            start += length + 1;
        }

        // A blank header line means "no header" (as in Elasticsearch); a blank last line is the final newline.
        var defaults = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, string value) in urlParameters)
        {
            if (ElasticsearchParameters.Search.Contains(name))
            {
                defaults[name] = value;
            }
        }

        var items = new List<Item>();
        int i = 0;
        while (i < lines.Count)
        {
            (int headerStart, int headerLength) = lines[i];
            ReadOnlySpan<byte> header = Trim(body.Slice(headerStart, headerLength));
            if (i + 1 >= lines.Count)
            {
                if (header.IsEmpty)
                {
                    break;
                }

                throw ElasticsearchException.Parsing($"the _msearch header on line {(i + 1).ToString(CultureInfo.InvariantCulture)} has no search body line after it");
            }

            if (items.Count == MaxSearches)
            {
                throw ElasticsearchException.IllegalArgument($"an _msearch request may hold at most {MaxSearches.ToString(CultureInfo.InvariantCulture)} searches on this gateway");
            }

            var parameters = new Dictionary<string, string>(defaults, StringComparer.Ordinal);
            string? expression = ReadHeader(header, i + 1, parameters) ?? pathIndex;
            (int bodyStart, int bodyLength) = lines[i + 1];
            items.Add(new Item(expression, parameters, body.Slice(bodyStart, bodyLength).ToArray()));
            i += 2;
        }

        if (items.Count == 0)
        {
            throw new ElasticsearchException(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;");
        }

        return items;
    }

    /// <summary>Reads one header line into <paramref name="parameters"/>; returns its index expression, if it names one.</summary>
    private static string? ReadHeader(ReadOnlySpan<byte> header, int line, Dictionary<string, string> parameters)
    {
        if (header.IsEmpty)
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw ElasticsearchException.Parsing($"the _msearch header on line {line.ToString(CultureInfo.InvariantCulture)} is not valid JSON: {e.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw ElasticsearchException.Parsing($"the _msearch header on line {line.ToString(CultureInfo.InvariantCulture)} must be a JSON object");
            }

            string? expression = null;
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (!HeaderKeys.Contains(property.Name))
                {
                    throw ElasticsearchException.IllegalArgument($"key [{property.Name}] is not supported in the metadata section");
                }

                string value = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    JsonValueKind.Number => property.Value.GetRawText(),
                    JsonValueKind.Array => string.Join(',', property.Value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String
                        ? v.GetString()!
                        : throw ElasticsearchException.Parsing($"[{property.Name}] in the _msearch header on line {line.ToString(CultureInfo.InvariantCulture)} must hold strings"))),
                    _ => throw ElasticsearchException.Parsing($"[{property.Name}] in the _msearch header on line {line.ToString(CultureInfo.InvariantCulture)} must be a string, a boolean, a number or an array"),
                };
                if (property.Name is "index" or "indices")
                {
                    expression = value.Length == 0 ? null : value;
                }
                else if (property.Name is not "types")
                {
                    parameters[property.Name] = value;
                }
            }

            return expression;
        }
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> line) => line.Trim(" \t\r"u8);
}
