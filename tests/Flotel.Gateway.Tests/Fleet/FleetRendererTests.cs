using System.Text.Json;
using Flotel.Gateway.Fleet;
using Flotel.Model.Manifests;
using Flotel.Wire.Manifests;

namespace Flotel.Gateway.Tests.Fleet;

public sealed class FleetRendererTests
{
    private const string TwoDevices = """
        apiVersion: management.project-flotta.io/v1alpha1
        kind: EdgeDevice
        metadata: {name: dev-a, labels: {site: a}}
        spec:
          logCollection:
            syslog: {kind: syslog, syslogConfig: {name: syslog-a}}
          metrics:
            system: {allowList: {name: list-a}}
        ---
        apiVersion: management.project-flotta.io/v1alpha1
        kind: EdgeDevice
        metadata: {name: dev-b, labels: {site: b}}
        spec: {}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: syslog-a}
        data: {Address: "127.0.0.1:5140", Protocol: tls, CaSecretName: ca-a}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: ca-a}
        stringData:
          ca.crt: |
            -----BEGIN CERTIFICATE-----
            MIIB
            -----END CERTIFICATE-----
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: list-a}
        data:
          metrics_list.yaml: "names: [up]"
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: unrelated}
        data: {x: y}
        ---
        apiVersion: management.project-flotta.io/v1alpha1
        kind: EdgeWorkload
        metadata: {name: w-a}
        spec:
          deviceSelector: {matchLabels: {site: a}}
          type: pod
          logCollection: syslog
          pod: {spec: {containers: [{name: c, image: busybox}]}}
        ---
        apiVersion: management.project-flotta.io/v1alpha1
        kind: EdgeWorkload
        metadata: {name: w-b}
        spec:
          deviceSelector: {matchLabels: {site: b}}
          type: pod
          pod: {spec: {containers: [{name: c, image: busybox}]}}
        ---
        apiVersion: management.project-flotta.io/v1alpha1
        kind: EdgeWorkload
        metadata: {name: w-broken}
        spec:
          deviceSelector: {matchLabels: {site: a}}
          type: pod
          metrics: {port: 9100, allowList: {name: missing-list}}
          pod: {spec: {containers: [{name: c, image: busybox}]}}
        """;

    [Fact]
    public void Render_BlogExample_BundleResolvesToThePlanOfCheckManifests()
    {
        var blog = Path.Combine(FleetTestKit.RepoRoot(), "examples", "blog");
        var rendering = FleetRenderer.Render(FleetTestKit.ObjectsOf(blog));

        var bundle = Assert.Single(rendering.Devices).Value;
        Assert.Empty(bundle.Errors);
        var check = ManifestCheck.Run(blog);
        Assert.False(check.HasErrors);
        Assert.Equal(PlanJson(check.Result.Plan!), PlanJson(ResolveBundle(bundle, "edge-device-1")));
        Assert.Equal(4, bundle.Yaml.Split("---\n", StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(FleetRenderer.Digest(bundle.Yaml), bundle.Digest);
        Assert.StartsWith("sha256:", bundle.Digest, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_TwoDevices_EachBundleHoldsOnlyWhatItsPlanReads_AndResolvesToTheSamePlan()
    {
        var objects = FleetTestKit.ObjectsOfText(TwoDevices, "fleet.yaml");
        var rendering = FleetRenderer.Render(objects);
        var full = ManifestLoader.LoadText(TwoDevices, "fleet.yaml");

        foreach (var device in new[] { "dev-a", "dev-b" })
        {
            var bundle = rendering.Devices[device];
            var expected = DevicePlanResolver.Resolve(full, device).Plan!;
            Assert.Equal(PlanJson(expected), PlanJson(ResolveBundle(bundle, device)));
        }

        var a = rendering.Devices["dev-a"].Yaml;
        Assert.Contains("name: syslog-a", a, StringComparison.Ordinal);
        Assert.Contains("name: ca-a", a, StringComparison.Ordinal);
        Assert.Contains("name: list-a", a, StringComparison.Ordinal);
        Assert.Contains("name: w-a", a, StringComparison.Ordinal);
        Assert.DoesNotContain("name: w-b", a, StringComparison.Ordinal);
        Assert.DoesNotContain("unrelated", a, StringComparison.Ordinal);
        Assert.DoesNotContain("w-broken", a, StringComparison.Ordinal);
        var b = rendering.Devices["dev-b"].Yaml;
        Assert.Contains("name: w-b", b, StringComparison.Ordinal);
        Assert.DoesNotContain("syslog-a", b, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_WorkloadWithMissingReference_IsLeftOutAndReportedWithItsFileAndLine_TheRestShips()
    {
        var rendering = FleetRenderer.Render(FleetTestKit.ObjectsOfText(TwoDevices, "fleet.yaml"));

        var a = rendering.Devices["dev-a"];
        var error = Assert.Single(a.Errors);
        Assert.Equal("edgeworkload/w-broken", error.Object);
        Assert.Equal("fleet.yaml:63: spec.metrics.allowList.name: ConfigMap default/missing-list not found", error.Message);
        // The same words, file and line as `flotel check --manifests` on the file.
        var check = DevicePlanResolver.Resolve(ManifestLoader.LoadText(TwoDevices, "fleet.yaml"), "dev-a");
        Assert.Equal(error.Message, Assert.Single(check.Diagnostics, d => d.IsError).ToString());
        Assert.Empty(rendering.Devices["dev-b"].Errors);

        var summaries = rendering.Workloads.ToDictionary(w => w.Name);
        Assert.Equal(["dev-a"], summaries["w-a"].Devices);
        Assert.Equal(["dev-b"], summaries["w-b"].Devices);
        Assert.Equal(["dev-a"], summaries["w-broken"].Devices);
        Assert.Contains("dev-a: fleet.yaml:63", Assert.Single(summaries["w-broken"].Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Render_SameObjects_SameBytes_AndAChangeToAnUnreferencedObjectLeavesTheDigest()
    {
        var objects = FleetTestKit.ObjectsOfText(TwoDevices, "fleet.yaml");
        var first = FleetRenderer.Render(objects);
        var unrelated = objects.FindIndex(o => o.Key == "configmap/unrelated");
        objects[unrelated] = objects[unrelated] with { Yaml = objects[unrelated].Yaml.Replace("x: y", "x: z", StringComparison.Ordinal) };
        var second = FleetRenderer.Render(objects);
        Assert.Equal(first.Devices["dev-a"].Digest, second.Devices["dev-a"].Digest);

        var list = objects.FindIndex(o => o.Key == "configmap/list-a");
        objects[list] = objects[list] with { Yaml = objects[list].Yaml.Replace("[up]", "[up, down]", StringComparison.Ordinal) };
        var third = FleetRenderer.Render(objects);
        Assert.NotEqual(first.Devices["dev-a"].Digest, third.Devices["dev-a"].Digest);
        Assert.Equal(first.Devices["dev-b"].Digest, third.Devices["dev-b"].Digest);
    }

    private static DevicePlan ResolveBundle(RenderedBundle bundle, string device)
    {
        var set = ManifestLoader.LoadText(bundle.Yaml, "bundle.yaml");
        var result = DevicePlanResolver.Resolve(set, device);
        Assert.DoesNotContain(set.Diagnostics, d => d.IsError);
        return result.Plan!;
    }

    /// <summary>The plan as JSON, without the workloads it does not run (a bundle holds only the device's own).</summary>
    private static string PlanJson(DevicePlan plan) => JsonSerializer.Serialize(plan with { NotSelectedWorkloads = [] });
}
