using System.Text;
using System.Text.Json.Nodes;
using Flotel.Gateway.Query.Elasticsearch;
using Flotel.Store.Query.Elasticsearch;

namespace Flotel.Gateway.Tests.Query.Elasticsearch;

public sealed class FilterPathTests
{
    private const string Nodes = """{"_nodes":{"total":1},"cluster_name":"c","nodes":{"n1":{"name":"a","ip":"127.0.0.1","version":"7.17.0","http":{"publish_address":"127.0.0.1:9201","bound_address":["x"]}}}}""";

    private static string Apply(string filter, string json) =>
        Encoding.UTF8.GetString(FilterPath.Parse(filter).Apply(Encoding.UTF8.GetBytes(json), indented: false).Span);

    [Fact]
    public void Apply_KibanaNodesFilter_KeepsOnlyTheNamedMembers() =>
        Assert.Equal("""{"nodes":{"n1":{"ip":"127.0.0.1","version":"7.17.0","http":{"publish_address":"127.0.0.1:9201"}}}}""",
            Apply("nodes.*.version,nodes.*.http.publish_address,nodes.*.ip", Nodes));

    [Fact]
    public void Apply_DoubleStarAndArrays_MatchAtAnyDepthThroughArrays()
    {
        const string search = """{"took":3,"hits":{"total":{"value":2},"hits":[{"_id":"a","_source":{"m":1}},{"_id":"b","_source":{"m":2}}]}}""";

        Assert.Equal("""{"hits":{"hits":[{"_id":"a"},{"_id":"b"}]}}""", Apply("hits.hits._id", search));
        Assert.Equal("""{"hits":{"total":{"value":2}}}""", Apply("**.value", search));
        Assert.Equal("""{"took":3}""", Apply("took,nothing.here", search));
        Assert.Equal("{}", Apply("nothing", search));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(search), JsonNode.Parse(Apply("**", search))));
    }

    [Fact]
    public void Parse_ExclusionOrTooManyPaths_Refused()
    {
        Assert.Equal(400, Assert.Throws<ElasticsearchException>(() => FilterPath.Parse("-took")).Status);
        Assert.Equal(400, Assert.Throws<ElasticsearchException>(() => FilterPath.Parse(string.Join(',', Enumerable.Range(0, 51).Select(i => "a" + i)))).Status);
    }
}
