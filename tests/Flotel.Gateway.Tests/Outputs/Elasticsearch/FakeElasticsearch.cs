using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Flotel.Gateway.Tests.Outputs.Elasticsearch;

/// <summary>One action of a received <c>_bulk</c> body.</summary>
internal sealed record BulkAction(string Action, string Index, string? Id, bool HasType, string Source);

/// <summary>
/// A fake Elasticsearch/OpenSearch written from the bulk API documentation (docs: "Bulk API", response body:
/// <c>took</c>, <c>errors</c>, <c>items[].{index|create}.{_index,_id,status,error{type,reason}}</c>), on a
/// <see cref="FakeHttpPeer"/>. <c>GET /</c> answers OpenSearch 2.11's root document; <c>_bulk</c> answers per item
/// with <see cref="ItemStatus"/> (null = 201) unless <see cref="WholeStatus"/> gives a status for the whole request.
/// </summary>
internal sealed class FakeElasticsearch : IAsyncDisposable
{
    public const string OpenSearchRoot = """
        {"name":"node-1","cluster_name":"flotta","cluster_uuid":"x","version":{"distribution":"opensearch","number":"2.11.0","build_type":"tar","minimum_wire_compatibility_version":"7.10.0","minimum_index_compatibility_version":"7.0.0"},"tagline":"The OpenSearch Project: https://opensearch.org/"}
        """;

    private readonly FakeHttpPeer _peer;
    private int _bulkRequests;

    private FakeElasticsearch(FakeHttpPeer peer)
    {
        _peer = peer;
        peer.Respond = RespondAsync;
    }

    public FakeHttpPeer Peer => _peer;

    public Uri BaseAddress => _peer.BaseAddress;

    /// <summary>Per bulk request (1-based number, its actions): a status for the whole request, or null to answer per item.</summary>
    public Func<int, IReadOnlyList<BulkAction>, (int Status, string Body)?> WholeStatus { get; set; } = (_, _) => null;

    /// <summary>Per item (1-based request number, action): its status and error type, or null for 201.</summary>
    public Func<int, BulkAction, (int Status, string Type)?> ItemStatus { get; set; } = (_, _) => null;

    /// <summary>Every action of every bulk request, per request.</summary>
    public List<IReadOnlyList<BulkAction>> Bulks { get; } = [];

    public static async Task<FakeElasticsearch> StartAsync() => new(await FakeHttpPeer.StartAsync());

    public static IReadOnlyList<BulkAction> Parse(string ndjson)
    {
        Assert.EndsWith("\n", ndjson, StringComparison.Ordinal);
        var lines = ndjson[..^1].Split('\n');
        Assert.True(lines.Length % 2 == 0, "odd number of NDJSON lines");
        var actions = new List<BulkAction>();
        for (var i = 0; i < lines.Length; i += 2)
        {
            var action = JsonNode.Parse(lines[i])!.AsObject();
            var (name, meta) = action.Single();
            actions.Add(new BulkAction(name, (string)meta!["_index"]!, (string?)meta["_id"], meta.AsObject().ContainsKey("_type"), lines[i + 1]));
            _ = JsonDocument.Parse(lines[i + 1]); // every source line is one JSON document
        }

        return actions;
    }

    private async Task RespondAsync(ReceivedRequest request, HttpResponse response)
    {
        if (request.Method == "GET" && request.Path == "/")
        {
            response.ContentType = "application/json";
            await response.WriteAsync(OpenSearchRoot);
            return;
        }

        if (request.Method != "POST" || !request.Path.EndsWith("/_bulk", StringComparison.Ordinal))
        {
            response.StatusCode = 404;
            return;
        }

        var actions = Parse(request.Text);
        int number;
        lock (Bulks)
        {
            Bulks.Add(actions);
            number = ++_bulkRequests;
        }

        if (WholeStatus(number, actions) is { } whole)
        {
            response.StatusCode = whole.Status;
            if (whole.Status == 429)
            {
                response.Headers.RetryAfter = "0";
            }

            await response.WriteAsync(whole.Body);
            return;
        }

        var items = new JsonArray();
        var errors = false;
        foreach (var action in actions)
        {
            var result = new JsonObject { ["_index"] = action.Index, ["_id"] = action.Id ?? Guid.NewGuid().ToString("N")[..20] };
            if (ItemStatus(number, action) is { } failure)
            {
                errors = true;
                result["status"] = failure.Status;
                result["error"] = new JsonObject { ["type"] = failure.Type, ["reason"] = "fake " + failure.Type };
            }
            else
            {
                result["status"] = 201;
                result["result"] = "created";
            }

            items.Add(new JsonObject { [action.Action] = result });
        }

        response.ContentType = "application/json";
        var body = new JsonObject { ["took"] = 3, ["errors"] = errors, ["items"] = items };
        await response.WriteAsync(body.ToJsonString(), Encoding.UTF8);
    }

    public ValueTask DisposeAsync() => _peer.DisposeAsync();
}
