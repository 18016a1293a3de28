using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Hosting;
using Flotel.Model;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>
/// Credentials are decided by the endpoint a request reaches, whatever the path's letter case, trailing slash or index
/// prefix: every endpoint the gateway maps is tried with every spelling, without credentials, with the other group's
/// and with its own.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class GatewayAuthTests
{
    private const string IngestToken = "ingest-secret";
    private const string QueryToken = "query-secret";

    [Fact]
    public async Task EveryEndpoint_InEverySpelling_NeedsExactlyItsOwnGroupsCredentials()
    {
        await using var gateway = await InProcessGateway.StartAsync(o =>
        {
            o.IngestAuth = new AuthOptions { BearerToken = new SecretValue(IngestToken) };
            o.QueryAuth = new AuthOptions { BearerToken = new SecretValue(QueryToken) };
        });

        var routes = gateway.Host.Routes;
        Assert.True(routes.Count >= 15, $"only {routes.Count} routes");
        Assert.All(routes, r => Assert.True(r.Group is not null, $"{r.Pattern} has no group (or more than one)"));
        Assert.Equal(EndpointGroup.Ingest, GroupOf(routes, "/api/v1/write"));
        Assert.Equal(EndpointGroup.Ingest, GroupOf(routes, "/write"));
        Assert.Equal(EndpointGroup.Ingest, GroupOf(routes, "/_bulk"));
        Assert.Equal(EndpointGroup.Ingest, GroupOf(routes, "/{index}/_bulk"));
        Assert.Equal(EndpointGroup.Open, GroupOf(routes, "/healthz"));
        Assert.Equal(EndpointGroup.Query, GroupOf(routes, "/metrics"));
        Assert.Equal(EndpointGroup.Query, GroupOf(routes, "/{index}/_search"));
        Assert.Equal(EndpointGroup.Query, GroupOf(routes, "/api/v1/query"));

        var failures = new List<string>();
        var tried = 0;
        foreach (var (pattern, methods, group) in routes)
        {
            foreach (var method in methods)
            {
                foreach (var path in Spellings(Concrete(pattern)))
                {
                    tried++;
                    var (own, other) = group switch
                    {
                        EndpointGroup.Ingest => (IngestToken, QueryToken),
                        EndpointGroup.Query => (QueryToken, IngestToken),
                        _ => ((string?)null, (string?)null),
                    };

                    var anonymous = await SendAsync(gateway.Http, method, path, token: null);
                    if (own is not null && anonymous != HttpStatusCode.Unauthorized)
                    {
                        failures.Add($"{method} {path} ({group}) without credentials: {(int)anonymous}");
                    }

                    if (own is null && anonymous == HttpStatusCode.Unauthorized)
                    {
                        failures.Add($"{method} {path} ({group}) refused without credentials");
                    }

                    if (other is not null && await SendAsync(gateway.Http, method, path, other) is var crossed && crossed != HttpStatusCode.Unauthorized)
                    {
                        failures.Add($"{method} {path} ({group}) with the other group's token: {(int)crossed}");
                    }

                    if (own is not null && await SendAsync(gateway.Http, method, path, own) == HttpStatusCode.Unauthorized)
                    {
                        failures.Add($"{method} {path} ({group}) refused with its own token");
                    }
                }
            }
        }

        Assert.True(tried > 100, $"only {tried} requests tried");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task IngestSpellings_WithoutIngestCredentials_StoreNothing_WithThemStoreOnce()
    {
        await using var gateway = await InProcessGateway.StartAsync(o =>
        {
            o.IngestAuth = new AuthOptions { BearerToken = new SecretValue(IngestToken) };
            o.QueryAuth = new AuthOptions { BearerToken = new SecretValue(QueryToken) };
        });
        var run = Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        foreach (var path in new[] { "/api/v1/write/", "/API/V1/WRITE", "/Api/V1/Write/", "/write/", "/WRITE" })
        {
            foreach (var token in new[] { null, QueryToken })
            {
                var body = RemoteWriteCodec.Encode(new WriteRequest([new TimeSeries(LabelSet.Of("__name__", "spoofed_" + run, "path", path), [new Sample(now, 1)])]));
                using var request = RemoteWrite(path, body, token);
                using var response = await gateway.Http.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"POST {path} with {token ?? "no token"}: {(int)response.StatusCode}");
            }
        }

        foreach (var path in new[] { "/_bulk/", "/_BULK", "/x/_Bulk", "/logstash-x/_bulk/", "/X/_BULK/" })
        {
            foreach (var token in new[] { null, QueryToken })
            {
                using var request = Bulk(path, $"spoofed{run}", token);
                using var response = await gateway.Http.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"POST {path} with {token ?? "no token"}: {(int)response.StatusCode}");
            }
        }

        // The same spellings with the ingest token are accepted and stored.
        using (var request = RemoteWrite("/API/V1/WRITE/", RemoteWriteCodec.Encode(new WriteRequest([new TimeSeries(LabelSet.Of("__name__", "accepted_" + run), [new Sample(now, 1)])])), IngestToken))
        using (var response = await gateway.Http.SendAsync(request))
        {
            Assert.True(response.IsSuccessStatusCode, $"authorised remote write: {(int)response.StatusCode}");
        }

        using (var request = Bulk("/x/_BULK/", $"accepted{run}", IngestToken))
        using (var response = await gateway.Http.SendAsync(request))
        {
            Assert.True(response.IsSuccessStatusCode, $"authorised _bulk: {(int)response.StatusCode}");
        }

        using var query = new HttpClient { BaseAddress = gateway.Http.BaseAddress };
        query.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", QueryToken);
        Assert.True(await Eventually.PollAsync(async () => await GatewayTestKit.CountAsync(query, "_all", $"{{\"query\":{{\"match\":{{\"message\":\"accepted{run}\"}}}}}}") == 1, TimeSpan.FromSeconds(30)));
        Assert.True(await Eventually.PollAsync(async () => await GatewayTestKit.InstantQueryAsync(query, $"accepted_{run}") is { Count: 1 }, TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await GatewayTestKit.CountAsync(query, "_all", $"{{\"query\":{{\"match\":{{\"message\":\"spoofed{run}\"}}}}}}"));
        Assert.Empty((await GatewayTestKit.InstantQueryAsync(query, $"{{__name__=\"spoofed_{run}\"}}"))!);
    }

    [Fact]
    public async Task BasicQueryAuth_ProtectsTheUiFiles_BearerQueryAuth_LetsThemLoadButNotTheData()
    {
        await using (var basic = await InProcessGateway.StartAsync(o => o.QueryAuth = new AuthOptions { Username = "ops", Password = new SecretValue("pw") }))
        {
            using var anonymous = await basic.Http.GetAsync(new Uri("/ui/", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.StartsWith("Basic", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            using var signedIn = new HttpRequestMessage(HttpMethod.Get, new Uri("/UI/", UriKind.Relative));
            signedIn.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:pw")));
            using var page = await basic.Http.SendAsync(signedIn);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        }

        await using var bearer = await InProcessGateway.StartAsync(o => o.QueryAuth = new AuthOptions { BearerToken = new SecretValue(QueryToken) });
        foreach (var file in new[] { "/ui/", "/ui/app.js", "/ui/app.css" })
        {
            using var response = await bearer.Http.GetAsync(new Uri(file, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var policy = response.Headers.GetValues("Content-Security-Policy").Single();
            Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
            Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
            Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        }

        using var data = await bearer.Http.GetAsync(new Uri("/api/v1/labels", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, data.StatusCode);
        Assert.StartsWith("Bearer", data.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal("error", JsonNode.Parse(await data.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("GET", "/nope/_nothing", 404, "es")]
    [InlineData("POST", "/_nothing/here/at/all", 404, "es")]
    [InlineData("GET", "/api/v1/nope", 404, "prometheus")]
    [InlineData("GET", "/api/v1/write", 405, "prometheus")]
    [InlineData("DELETE", "/_search", 405, "es")]
    [InlineData("GET", "/ui/missing.js", 404, "es")]
    public async Task UnknownRoutesAndMethods_AnswerTheApisJsonError(string method, string path, int status, string shape)
    {
        await using var gateway = await InProcessGateway.StartAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        using var response = await gateway.Http.SendAsync(request);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        if (shape == "prometheus")
        {
            Assert.Equal("error", body["status"]!.GetValue<string>());
            Assert.False(string.IsNullOrEmpty(body["errorType"]!.GetValue<string>()));
            Assert.Contains(path, body["error"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(status, body["status"]!.GetValue<int>());
            Assert.Equal("illegal_argument_exception", body["error"]!["type"]!.GetValue<string>());
            Assert.Contains(path, body["error"]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    private static EndpointGroup? GroupOf(IReadOnlyList<(string Pattern, IReadOnlyList<string> Methods, EndpointGroup? Group)> routes, string pattern) =>
        routes.Single(r => r.Pattern == pattern).Group;

    /// <summary>A path that reaches the pattern's endpoint: parameters filled in.</summary>
    private static string Concrete(string pattern) => pattern
        .Replace("{index}", "logstash-x", StringComparison.Ordinal)
        .Replace("{name}", "job", StringComparison.Ordinal)
        .Replace("{file?}", "app.js", StringComparison.Ordinal);

    /// <summary>The spellings routing accepts for one path: as mapped, upper case, lower case, mixed case, trailing slash.</summary>
    private static IEnumerable<string> Spellings(string path)
    {
        var mixed = new StringBuilder(path.Length);
        for (var i = 0; i < path.Length; i++)
        {
            mixed.Append(i % 2 == 0 ? char.ToUpperInvariant(path[i]) : char.ToLowerInvariant(path[i]));
        }

        return new[] { path, path.ToUpperInvariant(), path.ToLowerInvariant(), mixed.ToString(), path.EndsWith('/') ? path : path + "/" }.Distinct(StringComparer.Ordinal);
    }

    private static async Task<HttpStatusCode> SendAsync(HttpClient http, string method, string path, string? token)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (method is "POST" or "PUT")
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static HttpRequestMessage RemoteWrite(string path, byte[] body, string? token)
    {
        var request = GatewayTestKit.RemoteWrite(body);
        request.RequestUri = new Uri(path, UriKind.Relative);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    private static HttpRequestMessage Bulk(string path, string message, string? token)
    {
        var time = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var body = "{\"index\":{\"_index\":\"logstash-bulk\"}}\n{\"@timestamp\":\"" + time + "\",\"message\":\"" + message + "\"}\n";
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/x-ndjson"),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }
}
