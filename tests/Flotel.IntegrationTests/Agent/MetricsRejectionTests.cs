using System.Text.Json.Nodes;
using Flotel.Agent.Metrics;
using Flotel.Wire.RemoteWrite;

namespace Flotel.IntegrationTests.Agent;

/// <summary>
/// Receiver rejections are accounted for, not silently dropped: a receiver answering 400 once, then 429 with Retry-After, then 500. The 400 batch
/// goes to the dead-letter file with the receiver's words (Flotta dropped it silently); 429 and 500 are retried with the
/// same batch, the 429 no sooner than Retry-After; every other sample is delivered; the counters are exact.
/// </summary>
[Collection(PeerCollection.Name)]
public sealed class MetricsRejectionTests
{
    private const string Device = "edge-device-1";

    [Fact]
    public async Task Receiver_400Then429Then500_DeadLettersOnlyThe400BatchAndRetriesTheRest()
    {
        using var nodeExporter = await MetricsTestKit.StartNodeExporterAsync();
        using var receiver = new MetricsScriptedReceiver(
            (400, null, "out of bounds: sample timestamp too old"),
            (429, "1", "too many requests"),
            (500, null, "internal error"));
        var manifests = MetricsTestKit.WriteManifests(MetricsTestKit.BlogDevice(Device, receiver.WriteUrl));
        var data = PeerProcess.CreateTempDirectory("agent-data");
        try
        {
            var agent = await MetricsTestKit.StartAgentAsync(manifests, data, MetricsTestKit.NodeExporterUrl(nodeExporter));
            var metrics = agent.GetMetricsComponent();
            Assert.True(await MetricsTestKit.UntilAsync(() => receiver.Requests.Count >= 5 && metrics.Scrapes("system") >= 4, TimeSpan.FromSeconds(60)));
            await agent.StopAsync(TimeSpan.FromSeconds(10));
            await agent.DisposeAsync();
            Assert.Equal(0, metrics.PendingRecords);

            var requests = receiver.Requests.ToArray();
            Assert.Equal([400, 429, 500], requests.Take(3).Select(r => r.Status));
            Assert.All(requests.Skip(3), r => Assert.Equal(204, r.Status));

            // The 429 and the 500 were answers to the same batch, sent again unchanged; Retry-After: 1 was honoured.
            Assert.Equal(requests[1].Body, requests[2].Body);
            Assert.Equal(requests[1].Body, requests[3].Body);
            // (900 ms: timers and the two clocks differ by a few ms; the test kit's backoff for a first retry is at most 100 ms.)
            Assert.True(requests[2].ArrivedAt - requests[1].AnsweredAt >= TimeSpan.FromMilliseconds(900), $"resent {(requests[2].ArrivedAt - requests[1].AnsweredAt).TotalMilliseconds} ms after a Retry-After of 1 s");

            // Counters: one reject, two retries, the rest successes.
            long Requests(string result) => agent.Metrics.Sum("flotel_output_requests_total", ("output", MetricsComponent.OutputName), ("result", result));
            long Items(string result) => agent.Metrics.Sum("flotel_output_items_total", ("output", MetricsComponent.OutputName), ("result", result));
            Assert.Equal(1, Requests("reject"));
            Assert.Equal(2, Requests("retry"));
            Assert.Equal(requests.Length - 3, Requests("success"));

            // Exactly the 400 batch is dead-lettered, line for line, with the receiver's message.
            var rejected = RemoteWriteCodec.Decode(requests[0].Body);
            Assert.Equal(rejected.SampleCount, Items("dead_lettered"));
            var lines = File.ReadAllLines(metrics.DeadLetterPath);
            Assert.Equal(rejected.SampleCount, lines.Length);
            var rejectedLabels = rejected.Series.Select(s => s.Labels.ToString()).ToHashSet(StringComparer.Ordinal);
            foreach (var line in lines)
            {
                var json = JsonNode.Parse(line)!;
                Assert.Equal("HTTP 400: out of bounds: sample timestamp too old", (string?)json["reason"]);
                Assert.Equal(MetricsComponent.OutputName, (string?)json["output"]);
                var labels = json["item"]!["labels"]!.AsObject().Select(kv => kv.Key + "=\"" + (string?)kv.Value + "\"");
                Assert.Contains("{" + string.Join(", ", labels) + "}", rejectedLabels);
            }

            // Nothing else is lost: every stored sample was either accepted or dead-lettered.
            var stored = agent.Metrics.Sum("flotel_agent_metrics_samples_total", ("result", "stored"));
            var scrapes = agent.Metrics.Sum("flotel_agent_metrics_scrapes_total");
            Assert.Equal(stored + (3 * scrapes), Items("sent") + Items("dead_lettered"));
            var accepted = requests.Where(r => r.Status == 204).Sum(r => RemoteWriteCodec.Decode(r.Body).SampleCount);
            Assert.Equal(Items("sent"), accepted);
        }
        finally
        {
            MetricsTestKit.DeleteDirectory(manifests);
            MetricsTestKit.DeleteDirectory(data);
        }
    }
}
