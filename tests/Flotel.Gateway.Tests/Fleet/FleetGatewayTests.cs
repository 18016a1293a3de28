using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Flotel.Gateway.Configuration;
using Flotel.Gateway.Fleet;
using Flotel.Gateway.Hosting;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Model;
using Flotel.Model.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.Gateway.Tests.Fleet;

/// <summary>The fleet control plane through a whole in-process gateway on loopback, over real TLS.</summary>
public sealed class FleetGatewayTests
{
    private const string AdminToken = "admin-secret";

    [Fact]
    public async Task Routes_AreServedOnlyOnTheirListener_AndAdminNeedsItsOwnCredentials()
    {
        await using var gateway = await StartAsync();
        var fleet = FleetUri(gateway);
        using var anyServer = InsecureClient(fleet);

        Assert.Equal(HttpStatusCode.OK, (await anyServer.GetAsync(new Uri("fleet/v1/ca", UriKind.Relative))).StatusCode);
        foreach (var other in new[] { "healthz", "api/fleet/devices", "metrics", "api/v1/query?query=up", "FLEET/V1/CAX" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await anyServer.GetAsync(new Uri(other, UriKind.Relative))).StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await gateway.Http.GetAsync(new Uri("fleet/v1/ca", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.Http.GetAsync(new Uri("fleet/v1/bundle", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Http.GetAsync(new Uri("api/fleet/devices", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Admin(gateway).GetAsync(new Uri("api/fleet/devices", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync(new Uri("healthz", UriKind.Relative))).StatusCode);

        var groups = gateway.Host.Routes.Where(r => r.Pattern.Contains("fleet", StringComparison.Ordinal)).ToDictionary(r => r.Pattern, r => r.Group);
        Assert.Equal(EndpointGroup.FleetOpen, groups["/fleet/v1/ca"]);
        Assert.Equal(EndpointGroup.FleetOpen, groups["/fleet/v1/enroll"]);
        Assert.Equal(EndpointGroup.FleetDevice, groups["/fleet/v1/bundle"]);
        Assert.Equal(EndpointGroup.FleetDevice, groups["/fleet/v1/renew"]);
        Assert.Equal(EndpointGroup.Admin, groups["/api/fleet/apply"]);
    }

    [Fact]
    public async Task AdminApi_GatewayWithoutFleet_Answers404SayingSo_BehindTheAdminCredentials()
    {
        await using var gateway = await LoopbackGateway.StartAsync(
            "flotel-nofleet-", o => o.AdminAuth = new AuthOptions { BearerToken = new SecretValue(AdminToken) });
        Assert.Null(gateway.Host.FleetEndPoint);
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Http.GetAsync(new Uri("api/fleet/devices", UriKind.Relative))).StatusCode);
        using var admin = Admin(gateway);
        foreach (var path in new[] { "api/fleet/devices", "api/fleet/workloads", "api/fleet/objects/edgedevice/x" })
        {
            using var response = await admin.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.False((bool)body["fleetEnabled"]!);
            Assert.StartsWith("the fleet is not enabled on this gateway", (string)body["error"]!, StringComparison.Ordinal);
        }

        using var apply = await admin.PostAsync(new Uri("api/fleet/apply", UriKind.Relative), new StringContent("{}"));
        Assert.Equal(HttpStatusCode.NotFound, apply.StatusCode);
    }

    [Fact]
    public async Task Enrolment_Bundle_LongPoll_Status_AndRevocation_FollowTheContract()
    {
        await using var gateway = await StartAsync();
        var fleet = FleetUri(gateway);
        using var admin = Admin(gateway);
        var applied = await ApplyAsync(admin, FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog")));
        Assert.Equal(["created", "created", "created", "created"], applied.Select(a => (string)a!["result"]!));
        Assert.Equal("unchanged", (string)(await ApplyAsync(admin, FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog"))))[0]!["result"]!);

        var token = await CreateTokenAsync(admin, "edge-device-1");
        var (client, status, error) = await FleetDeviceClient.EnrollAsync(fleet, token, csrName: "not-my-name");
        Assert.True(client is not null, $"{status} {error}");
        using (client)
        {
            Assert.Equal("CN=edge-device-1", client.Certificate!.Subject);
            var (_, reusedStatus, reusedError) = await FleetDeviceClient.EnrollAsync(fleet, token);
            Assert.Equal((HttpStatusCode.Unauthorized, "token already used"), (reusedStatus, reusedError));

            var (s1, body1, etag1) = await client.GetBundleAsync(null, 0);
            Assert.Equal(HttpStatusCode.OK, s1);
            Assert.Equal(1, (long)body1!["generation"]!);
            var digest = (string)body1["digest"]!;
            Assert.Equal("\"" + digest + "\"", etag1);
            Assert.Contains("kind: EdgeDevice", (string)body1["manifests"]!, StringComparison.Ordinal);
            Assert.Empty(body1["errors"]!.AsArray());

            var (s2, _, _) = await client.GetBundleAsync(digest, 0);
            Assert.Equal(HttpStatusCode.NotModified, s2);

            // A long-poll for the current digest returns as soon as an apply changes the device's bundle.
            var poll = client.GetBundleAsync(digest, 300);
            await Eventually.TrueAsync(
                () => gateway.Host.Metrics.ToText().Contains("flotel_fleet_longpolls_waiting 1", StringComparison.Ordinal),
                "the long-poll is held",
                30);
            var changed = FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog"))
                .Select(o => o.Key == "configmap/system-allow-list" ? o with { Yaml = o.Yaml.Replace("node_disk_io_now", "node_load1", StringComparison.Ordinal) } : o).ToList();
            Assert.Contains(await ApplyAsync(admin, changed), a => (string)a!["result"]! == "configured");
            var (s3, body3, _) = await poll;
            Assert.Equal(HttpStatusCode.OK, s3);
            Assert.Equal(2, (long)body3!["generation"]!);
            Assert.Contains("node_load1", (string)body3["manifests"]!, StringComparison.Ordinal);

            Assert.Equal(HttpStatusCode.NoContent, await client.PostStatusAsync(new JsonObject
            {
                ["agentVersion"] = "0.2.0+test", ["generation"] = 2, ["digest"] = (string)body3["digest"]!, ["applyStatus"] = "applied",
                ["workloads"] = new JsonArray(new JsonObject { ["name"] = "random-workload", ["state"] = "running" }),
                ["targets"] = new JsonArray(new JsonObject { ["name"] = "logstash-syslog", ["bufferBytes"] = 10, ["bufferLimitBytes"] = 10240, ["dropped"] = 0 }),
                ["walBacklogBytes"] = 5,
            }));
            Assert.Equal(HttpStatusCode.BadRequest, await client.PostStatusAsync(new JsonObject { ["generation"] = "two" }));

            var device = (await admin.GetFromJsonAsync<JsonArray>(new Uri("api/fleet/devices", UriKind.Relative)))!.Single()!;
            Assert.Equal("edge-device-1", (string)device["name"]!);
            Assert.Equal(2, (long)device["desiredGeneration"]!);
            Assert.Equal(2, (long)device["appliedGeneration"]!);
            Assert.Equal("applied", (string)device["status"]!);
            Assert.Equal("0.2.0+test", (string)device["agentVersion"]!);
            Assert.Equal("running", (string)device["workloads"]![0]!["state"]!);
            Assert.True((bool)device["online"]!);
            Assert.NotNull((string?)device["lastSeen"]);
            Assert.NotNull((string?)device["certificateExpires"]);
            Assert.False((bool)device["duplicateIdentity"]!);

            var workloads = (await admin.GetFromJsonAsync<JsonArray>(new Uri("api/fleet/workloads", UriKind.Relative)))!;
            Assert.Equal("edge-device-1", (string)workloads.Single()!["devices"]![0]!);

            // Deleting the EdgeDevice revokes its certificate: the same client is refused from then on.
            using var deleted = await admin.DeleteAsync(new Uri("api/fleet/objects/edgedevice/edge-device-1", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            var (s4, body4, _) = await client.GetBundleAsync(null, 0);
            Assert.Equal(HttpStatusCode.Unauthorized, s4);
            Assert.Equal("certificate revoked", (string)body4!["error"]!);
            using var deletedAgain = await admin.DeleteAsync(new Uri("api/fleet/objects/edgedevice/edge-device-1", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, deletedAgain.StatusCode);
        }

        var metrics = gateway.Host.Metrics.ToText();
        Assert.Contains("flotel_fleet_enrolments_total{result=\"accepted\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("flotel_fleet_enrolments_total{result=\"used_token\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeviceRoutes_WithoutCertificate_OrWithAnotherCasCertificate_Are401()
    {
        await using var gateway = await StartAsync();
        var fleet = FleetUri(gateway);
        using var admin = Admin(gateway);
        var token = await CreateTokenAsync(admin, "dev-x");
        var ca = await FleetDeviceClient.FetchPinnedCaAsync(fleet, token);
        var parts = token.Split('.');

        using var anonymous = FleetDeviceClient.WithCertificate(fleet, ca, SelfSigned("CN=dev-x"));
        var (status, body, _) = await anonymous.GetBundleAsync(null, 0);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("the client certificate is not a device certificate of this fleet", (string)body!["error"]!);

        var (_, unknownStatus, unknownError) = await FleetDeviceClient.EnrollAsync(fleet, string.Join('.', parts[0], parts[1], "AAAAAAAAAAAAAAAAAAAAAA", parts[3]));
        Assert.Equal(HttpStatusCode.Unauthorized, unknownStatus);
        Assert.Equal("unknown token", unknownError);
    }

    [Fact]
    public async Task Apply_InvalidDocument_Is400WithFileLineDiagnostics_AndStoresNothing()
    {
        await using var gateway = await StartAsync();
        using var admin = Admin(gateway);
        var body = new JsonObject
        {
            ["objects"] = new JsonArray(
                new JsonObject { ["yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\ndata: {a: b}\n", ["source"] = "a.yaml:1" },
                new JsonObject { ["yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndata: [1]\n", ["source"] = "b.yaml:10" }),
        };
        using var response = await admin.PostAsJsonAsync(new Uri("api/fleet/apply", UriKind.Relative), body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.StartsWith("b.yaml:13: data: ", (string)answer["diagnostics"]![0]!, StringComparison.Ordinal);
        Assert.Empty((await admin.GetFromJsonAsync<JsonArray>(new Uri("api/fleet/workloads", UriKind.Relative)))!);

        using var tooBig = await admin.PostAsync(new Uri("api/fleet/tokens", UriKind.Relative), new ByteArrayContent(new byte[FleetApi.MaxSmallBodyBytes + 1]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
    }

    [Fact]
    public async Task RolloutRoutes_AreAdmin_BadCanaryIs400_PromoteAndAbortWithoutARolloutAre409()
    {
        await using var gateway = await StartAsync();
        using var admin = Admin(gateway);
        var groups = gateway.Host.Routes.Where(r => r.Pattern.Contains("rollout", StringComparison.Ordinal)).ToDictionary(r => r.Pattern, r => r.Group);
        Assert.Equal(3, groups.Count);
        Assert.All(groups.Values, g => Assert.Equal(EndpointGroup.Admin, g));
        Assert.Equal(HttpStatusCode.Unauthorized, (await gateway.Http.GetAsync(new Uri("api/fleet/rollout", UriKind.Relative))).StatusCode);

        Assert.Equal("none", (string)(await admin.GetFromJsonAsync<JsonObject>(new Uri("api/fleet/rollout", UriKind.Relative)))!["state"]!);
        foreach (var action in new[] { "promote", "abort" })
        {
            using var none = await admin.PostAsync(new Uri("api/fleet/rollout/" + action, UriKind.Relative), null);
            Assert.Equal(HttpStatusCode.Conflict, none.StatusCode);
            Assert.Equal("no rollout is progressing or halted", (string)JsonNode.Parse(await none.Content.ReadAsStringAsync())!["error"]!);
        }

        var blog = FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog"));
        foreach (var (rollout, error) in new (JsonNode Rollout, string Error)[]
        {
            (new JsonObject { ["canary"] = "0%" }, "`rollout.canary`: canary '0%' must be a percentage from 1% to 100% or a device count from 1 to 50000"),
            (new JsonObject(), "`rollout.canary` is required"),
            (new JsonObject { ["canary"] = "1", ["timeoutSeconds"] = 0 }, "`rollout.timeoutSeconds` must be an integer from 1 to 86400"),
            (JsonValue.Create("10%"), "`rollout` must be {\"canary\": \"10%\", \"timeoutSeconds\": 300}"),
        })
        {
            var body = new JsonObject { ["objects"] = new JsonArray([.. blog.Select(o => (JsonNode?)new JsonObject { ["yaml"] = o.Yaml, ["source"] = o.Source })]), ["rollout"] = rollout };
            using var response = await admin.PostAsJsonAsync(new Uri("api/fleet/apply", UriKind.Relative), body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(error, (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!);
        }

        Assert.Empty((await admin.GetFromJsonAsync<JsonArray>(new Uri("api/fleet/devices", UriKind.Relative)))!);
        await ApplyAsync(admin, blog);
        var changed = blog.Select(o => o with { Yaml = o.Yaml.Replace("interval: 5", "interval: 15", StringComparison.Ordinal) });
        var withCanary = new JsonObject
        {
            ["objects"] = new JsonArray([.. changed.Select(o => (JsonNode?)new JsonObject { ["yaml"] = o.Yaml, ["source"] = o.Source })]),
            ["rollout"] = new JsonObject { ["canary"] = "100%", ["timeoutSeconds"] = 60 },
        };
        using (var applied = await admin.PostAsJsonAsync(new Uri("api/fleet/apply", UriKind.Relative), withCanary))
        {
            Assert.Equal(HttpStatusCode.OK, applied.StatusCode);
        }

        var progressing = (await admin.GetFromJsonAsync<JsonObject>(new Uri("api/fleet/rollout", UriKind.Relative)))!;
        Assert.Equal(("progressing", 60L, "edge-device-1"), ((string)progressing["state"]!, (long)progressing["timeoutSeconds"]!, (string)progressing["canaries"]![0]!["name"]!));
        using var abort = await admin.PostAsync(new Uri("api/fleet/rollout/abort", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, abort.StatusCode);
        Assert.Equal("aborted", (string)JsonNode.Parse(await abort.Content.ReadAsStringAsync())!["state"]!);
    }

    [Fact]
    public async Task BundlePoll_OverMaxHeldPolls_AnswersAtOnceWithRetryAfter_AndClosesItsConnectionAfterTheOpenStreams()
    {
        await using var gateway = await StartAsync(maxHeldPolls: 1);
        using var admin = Admin(gateway);
        await ApplyAsync(admin, FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog")));
        var (client, status, error) = await FleetDeviceClient.EnrollAsync(FleetUri(gateway), await CreateTokenAsync(admin, "edge-device-1"), http2: true);
        Assert.True(client is not null, $"{status} {error}");
        using (client)
        {
            var digest = (string)(await client.GetBundleAsync(null, 0)).Body!["digest"]!;
            var held = client.GetBundleAsync(digest, 300);
            await Eventually.TrueAsync(
                () => gateway.Host.Metrics.ToText().Contains("flotel_fleet_longpolls_waiting 1", StringComparison.Ordinal), "the first poll is held", 30);

            // A remote write in flight on the same connection: its body is half sent when the connection is told to close.
            var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var content = new HalfThenRestContent(RemoteWriteBody("held_poll_probe"), rest.Task);
            using var write = new HttpRequestMessage(HttpMethod.Post, new Uri("api/v1/write", UriKind.Relative))
            {
                Content = content, Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            write.Headers.Add(RemoteWriteHeaders.VersionName, RemoteWriteHeaders.Version);
            var writing = client.Http.SendAsync(write);
            await content.HalfSent.WaitAsync(TimeSpan.FromSeconds(30));

            // The second poll finds the one slot taken: 304 at once, on the same HTTP/2 connection as the held one.
            using (var deferred = await client.GetBundleResponseAsync(digest, 300))
            {
                Assert.Equal(HttpStatusCode.NotModified, deferred.StatusCode);
                Assert.InRange(deferred.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 27, 33);
            }

            Assert.Equal(1, client.ConnectionsOpened);
            rest.SetResult();
            using (var written = await writing)
            {
                Assert.True(written.IsSuccessStatusCode, $"remote write answered {written.StatusCode}");
            }

            Assert.Contains("flotel_fleet_longpolls_deferred_total 1\n", gateway.Host.Metrics.ToText(), StringComparison.Ordinal);

            // GOAWAY is graceful: the held poll on the closing connection still gets the change.
            var changed = FleetTestKit.ObjectsOf(Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog"))
                .Select(o => o.Key == "configmap/system-allow-list"
                    ? o with { Yaml = o.Yaml.Replace("node_disk_io_now", "node_load1", StringComparison.Ordinal) }
                    : o).ToList();
            await ApplyAsync(admin, changed);
            var (heldStatus, heldBody, _) = await held;
            Assert.Equal(HttpStatusCode.OK, heldStatus);
            Assert.Equal(2, (long)heldBody!["generation"]!);

            // The connection closed: the next call opens another, and a device polling by interval closes that one too
            // after its status report, so it holds none between calls.
            var report = new JsonObject
            {
                ["agentVersion"] = "0.2.0+test", ["generation"] = 2, ["digest"] = (string)heldBody["digest"]!, ["applyStatus"] = "applied",
            };
            Assert.Equal(HttpStatusCode.NoContent, await client.PostStatusAsync(report));
            Assert.Equal(2, client.ConnectionsOpened);
            Assert.Equal(HttpStatusCode.NoContent, await client.PostStatusAsync(report));
            Assert.Equal(3, client.ConnectionsOpened);

            // With the slot free again the device's next poll is held, and its connection stays.
            var heldAgain = client.GetBundleAsync((string)heldBody["digest"]!, 300);
            await Eventually.TrueAsync(
                () => gateway.Host.Metrics.ToText().Contains("flotel_fleet_longpolls_waiting 1", StringComparison.Ordinal), "the freed slot is taken", 30);
            Assert.Equal(HttpStatusCode.NoContent, await client.PostStatusAsync(report));
            Assert.Equal(4, client.ConnectionsOpened);
            Assert.Equal(HttpStatusCode.NoContent, await client.PostStatusAsync(report));
            Assert.Equal(4, client.ConnectionsOpened);
            Assert.False(heldAgain.IsCompleted);
        }
    }

    private static byte[] RemoteWriteBody(string metric) => RemoteWriteCodec.Encode(new WriteRequest(
        [new TimeSeries(LabelSet.Of("__name__", metric, "job", "probe"), [new Sample(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 1)])]));

    private static async Task<LoopbackGateway> StartAsync(int maxHeldPolls = 20_000) => await LoopbackGateway.StartAsync("flotel-fleet-", o =>
    {
        o.Fleet = new FleetOptions { Enabled = true, Address = "127.0.0.1:0", MaxHeldPolls = maxHeldPolls };
        o.AdminAuth = new AuthOptions { BearerToken = new SecretValue(AdminToken) };
    });

    private static Uri FleetUri(LoopbackGateway gateway) => new("https://" + gateway.Host.FleetEndPoint);

    private static HttpClient Admin(LoopbackGateway gateway)
    {
        var http = new HttpClient { BaseAddress = gateway.Http.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return http;
    }

    private static HttpClient InsecureClient(Uri fleet)
    {
        var handler = new SocketsHttpHandler();
#pragma warning disable CA5359 // the first contact trusts nothing yet: the CA it returns is checked against the token's pin
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
        return new HttpClient(handler) { BaseAddress = fleet };
    }

    private static async Task<JsonArray> ApplyAsync(HttpClient admin, IEnumerable<Flotel.Store.Fleet.FleetObject> objects)
    {
        var body = new JsonObject { ["objects"] = new JsonArray([.. objects.Select(o => (JsonNode?)new JsonObject { ["yaml"] = o.Yaml, ["source"] = o.Source })]) };
        using var response = await admin.PostAsJsonAsync(new Uri("api/fleet/apply", UriKind.Relative), body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!.AsArray();
    }

    private static async Task<string> CreateTokenAsync(HttpClient admin, string device)
    {
        using var response = await admin.PostAsJsonAsync(new Uri("api/fleet/tokens", UriKind.Relative), new JsonObject { ["device"] = device, ["ttlSeconds"] = 600 });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return (string)JsonNode.Parse(text)!["token"]!;
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>A remote-write body sent in two halves: the second only once <c>rest</c> completes.</summary>
    private sealed class HalfThenRestContent : HttpContent
    {
        private readonly byte[] _body;
        private readonly Task _rest;
        private readonly TaskCompletionSource _halfSent = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HalfThenRestContent(byte[] body, Task rest)
        {
            _body = body;
            _rest = rest;
            Headers.ContentType = new MediaTypeHeaderValue(RemoteWriteHeaders.ContentType);
            Headers.ContentEncoding.Add(RemoteWriteHeaders.ContentEncoding);
        }

        public Task HalfSent => _halfSent.Task;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var half = _body.Length / 2;
            await stream.WriteAsync(_body.AsMemory(0, half));
            await stream.FlushAsync();
            _halfSent.TrySetResult();
            await _rest;
            await stream.WriteAsync(_body.AsMemory(half));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _body.Length;
            return true;
        }
    }
}
