using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotel.IntegrationTests.Outputs.TimestreamFake;
using Flotel.Model.Metrics;

namespace Flotel.IntegrationTests.Outputs;

/// <summary>
/// Cross-check with an official client (architecture §7): the AWS SDK for JavaScript v3
/// (<c>@aws-sdk/client-timestream-write</c>, pinned in TimestreamSdk/package-lock.json, installed with <c>npm ci</c>
/// into a temp directory) sends the same records to the same fake. Its requests must pass the fake's independent
/// SigV4 check (so the fake's verifier agrees with AWS's signer), and Flotel's requests must have the same shape:
/// content type, target, signed-header core, credential scope, and a JSON body equal to the SDK's.
/// Requires node and npm (test.sh installs them); without them the test fails saying so.
/// </summary>
public sealed class TimestreamSdkCrossCheckTests
{
    [Fact]
    public async Task SdkAndFlotel_SameRecords_SendTheSameRequestShape()
    {
        await using var fake = new FakeTimestreamServer();
        await fake.StartAsync();
        var now = DateTimeOffset.UtcNow.AddMinutes(-2).ToUnixTimeMilliseconds();
        var series = new[]
        {
            new TimeSeries(LabelSet.Of("__name__", "node_load1", "edgedeviceid", "dev1", "instance", "localhost:9100"), [new Sample(now, 0.5), new Sample(now + 1000, 2)]),
            new TimeSeries(LabelSet.Of("__name__", "job:http_requests:rate5m", "edgedeviceid", "dev1", "path", "/ä ü"), [new Sample(now, 12345)]),
        };

        // Flotel.
        await using (var h = TimestreamOutputHarness.Create(fake))
        {
            await h.AppendAsync(series);
            h.Output.Start();
            await TimestreamOutputHarness.Until(() => h.Output.Delivery.Sent == 3, "Flotel sent 3 records");
        }

        var flotel = fake.Requests.ToList();
        Assert.Empty(fake.Violations);

        // The SDK, from a request built here from the documented mapping (not from Flotel's body).
        var request = new JsonObject
        {
            ["DatabaseName"] = FakeTimestreamServer.Database,
            ["TableName"] = FakeTimestreamServer.Table,
            ["Records"] = new JsonArray(
                Record("node_load1", "0.5", now, ("edgedeviceid", "dev1"), ("instance", "localhost:9100")),
                Record("node_load1", "2", now + 1000, ("edgedeviceid", "dev1"), ("instance", "localhost:9100")),
                Record("job:http_requests:rate5m", "12345", now, ("edgedeviceid", "dev1"), ("path", "/ä ü"))),
        };
        var result = await RunSdkAsync(fake, request);
        Assert.True(result["ok"]!.GetValue<bool>(), "the SDK's call failed: " + result.ToJsonString());
        Assert.Empty(fake.Violations);
        var sdk = fake.Requests.Skip(flotel.Count).ToList();

        foreach (var operation in new[] { "DescribeEndpoints", "WriteRecords" })
        {
            var ours = flotel.Single(r => r.Target == "Timestream_20181101." + operation);
            var theirs = sdk.Single(r => r.Target == "Timestream_20181101." + operation);
            Assert.Equal(theirs.Method, ours.Method);
            Assert.Equal(theirs.Path, ours.Path);
            Assert.Equal(theirs.Port, ours.Port);
            Assert.Equal(theirs.Headers["content-type"], ours.Headers["content-type"]);
            Assert.Equal(theirs.Headers["x-amz-target"], ours.Headers["x-amz-target"]);
            var (oursScope, oursSigned) = Authorization(ours);
            var (theirsScope, theirsSigned) = Authorization(theirs);
            Assert.Equal(theirsScope, oursScope);
            Assert.Subset(theirsSigned, oursSigned);
            Assert.Superset(new HashSet<string> { "content-type", "host", "x-amz-date", "x-amz-target" }, oursSigned);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(theirs.Body), JsonNode.Parse(ours.Body)),
                $"{operation} bodies differ:\n SDK:    {Encoding.UTF8.GetString(theirs.Body)}\n Flotel: {Encoding.UTF8.GetString(ours.Body)}");
        }
    }

    private static JsonObject Record(string name, string value, long time, params (string Name, string Value)[] dimensions) => new()
    {
        ["Dimensions"] = new JsonArray([.. dimensions.Select(d => (JsonNode)new JsonObject { ["Name"] = d.Name, ["Value"] = d.Value })]),
        ["MeasureName"] = name,
        ["MeasureValue"] = value,
        ["MeasureValueType"] = "DOUBLE",
        ["Time"] = time.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["TimeUnit"] = "MILLISECONDS",
    };

    /// <summary>(scope without key and date, signed header names) from the Authorization header.</summary>
    private static (string Scope, HashSet<string> Signed) Authorization(FakeTimestreamServer.CapturedRequest request)
    {
        var value = request.Headers["authorization"];
        var credential = value.Split("Credential=")[1].Split(',')[0].Split('/');
        var signed = value.Split("SignedHeaders=")[1].Split(',')[0].Split(';').ToHashSet(StringComparer.Ordinal);
        return (string.Join('/', credential[2..]), signed);
    }

    private static async Task<JsonNode> RunSdkAsync(FakeTimestreamServer fake, JsonObject request)
    {
        using var package = await NodePackage.InstallAsync(SdkFolder(), "timestream-sdk", "package.json", "package-lock.json", "write-records.mjs");
        var input = new JsonObject
        {
            ["discoveryEndpoint"] = fake.DiscoveryEndpoint.ToString().TrimEnd('/'),
            ["region"] = FakeTimestreamServer.Region,
            ["accessKeyId"] = FakeTimestreamServer.AccessKeyId,
            ["secretAccessKey"] = FakeTimestreamServer.SecretAccessKey,
            ["request"] = request,
        };
        var inputFile = Path.Combine(package.WorkDirectory, "input.json");
        await File.WriteAllTextAsync(inputFile, input.ToJsonString());
        return JsonNode.Parse(await package.RunScriptAsync("write-records.mjs", inputFile))!;
    }

    private static string SdkFolder([CallerFilePath] string path = "") => Path.Combine(Path.GetDirectoryName(path)!, "TimestreamSdk");
}
