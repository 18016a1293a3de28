using System.Globalization;
using Flotel.Model.Manifests;

namespace Flotel.Wire.Manifests;

/// <summary>
/// "What the device will do", as text lines for <c>flotel check --manifests DIR</c>: the device, its
/// workloads with their log target, metrics, then every diagnostic on one line
/// (<c>FILE:LINE: field: message</c>) and a count. Pure: no I/O.
/// </summary>
public static class DevicePlanSummary
{
    public static IReadOnlyList<string> Render(DevicePlanResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var lines = new List<string>();
        if (result.Plan is { } plan)
        {
            RenderPlan(plan, lines);
        }

        foreach (var diagnostic in result.Diagnostics)
        {
            lines.Add(diagnostic.ToString());
        }

        var errors = result.Diagnostics.Count(d => d.IsError);
        var warnings = result.Diagnostics.Count - errors;
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"{errors} error{(errors == 1 ? "" : "s")}, {warnings} warning{(warnings == 1 ? "" : "s")}"));
        return lines;
    }

    private static void RenderPlan(DevicePlan plan, List<string> lines)
    {
        lines.Add($"device {plan.DeviceName} (namespace {plan.Namespace}), labels: {Labels(plan.Labels)}");

        lines.Add("log targets:" + (plan.LogTargets.Count == 0 ? " none" : string.Empty));
        foreach (var target in plan.LogTargets)
        {
            lines.Add($"  {target.Name}: {Target(target)}");
        }

        lines.Add("workloads:" + (plan.Workloads.Count == 0 ? " none" : string.Empty));
        foreach (var workload in plan.Workloads)
        {
            var images = string.Join(", ", workload.Pod.Containers.Select(c => c.Image));
            lines.Add($"  {workload.Name}: image {images}{(workload.Pod.HostNetwork ? ", host network" : string.Empty)}");
            lines.Add(workload.LogTarget is { } t
                ? $"    logs -> {t.Name}: {Target(t)}"
                : "    logs -> not shipped (no spec.logCollection)");
            lines.Add(workload.Metrics is { } m
                ? string.Create(CultureInfo.InvariantCulture, $"    metrics -> scrape port {m.Port} path {m.Path} every {m.IntervalSeconds} s, allow list: {AllowList(m.AllowListName, m.AllowList)}{Containers(m)}")
                : "    metrics -> not scraped");
        }

        if (plan.NotSelectedWorkloads.Count > 0)
        {
            lines.Add("not selected: " + string.Join(", ", plan.NotSelectedWorkloads));
        }

        lines.Add("metrics:");
        var r = plan.MetricsReceiver;
        lines.Add(r.IsEnabled
            ? string.Create(CultureInfo.InvariantCulture, $"  remote write -> {r.Url}, requestNumSamples {r.RequestNumSamples}, timeoutSeconds {r.TimeoutSeconds}{(r.CaSecretName is null ? string.Empty : ", CA from Secret " + r.CaSecretName)}{(r.Authorization is null ? string.Empty : ", " + r.Authorization.Scheme.ToLowerInvariant() + " auth from Secret " + r.AuthSecretName)}")
            : string.Create(CultureInfo.InvariantCulture, $"  remote write -> off (no receiverConfiguration.url), requestNumSamples {r.RequestNumSamples}, timeoutSeconds {r.TimeoutSeconds}"));
        var s = plan.SystemMetrics;
        lines.Add(s.Disabled
            ? "  system -> disabled"
            : string.Create(CultureInfo.InvariantCulture, $"  system -> node_exporter every {s.IntervalSeconds} s, allow list: {AllowList(s.AllowListName, s.AllowList)}"));
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"  retention -> {plan.Retention.MaxHours} h, {(plan.Retention.MaxMiB > 0 ? plan.Retention.MaxMiB.ToString(CultureInfo.InvariantCulture) + " MiB" : "no size limit")}"));
    }

    private static string Target(LogTargetPlan t) => string.Create(
        CultureInfo.InvariantCulture,
        $"{t.Protocol.ToString().ToLowerInvariant()}://{t.Address}, format {t.Format.ToString().ToLowerInvariant()}, buffer {t.BufferSizeKiB} KiB{(t.CaSecretName is null ? string.Empty : ", CA from Secret " + t.CaSecretName)}");

    private static string Labels(IReadOnlyDictionary<string, string> labels) =>
        labels.Count == 0 ? "none" : string.Join(", ", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));

    private static string AllowList(string? name, IReadOnlyList<string>? names) => (name, names) switch
    {
        (_, null) => "everything",
        (null, _) => $"Flotta default ({names.Count} names): {string.Join(", ", names)}",
        (_, { Count: 0 }) => $"{name} (empty: nothing is collected)",
        _ => $"{name}: {string.Join(", ", names)}",
    };

    private static string Containers(WorkloadMetricsPlan m) =>
        m.Containers.Count == 0
            ? string.Empty
            : "; containers: " + string.Join(", ", m.Containers.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => c.Value.Disabled
                ? c.Key + " disabled"
                : string.Create(CultureInfo.InvariantCulture, $"{c.Key} port {c.Value.Port} path {c.Value.Path}")));
}
