namespace Flotel.Agent.Hosting;

/// <summary>What <c>flotel agent</c> runs with (architecture §3).</summary>
public sealed class AgentOptions
{
    /// <summary>Directory of Flotta manifests (EdgeDevice, EdgeWorkload, ConfigMap, Secret), read recursively.</summary>
    public string ManifestsDirectory { get; init; } = string.Empty;

    /// <summary>The EdgeDevice to act as; null = the only one in <see cref="ManifestsDirectory"/>.</summary>
    public string? DeviceName { get; init; }

    /// <summary>Log buffers, container cursors and the metrics WAL live here.</summary>
    public string DataDirectory { get; init; } = Path.Combine(".flotel", "agent");

    /// <summary>Podman's API socket; null = <c>$XDG_RUNTIME_DIR/podman/podman.sock</c>, then <c>/run/podman/podman.sock</c>.</summary>
    public string? PodmanSocket { get; init; }

    /// <summary>node_exporter's metrics URL (the <c>system</c> metrics target).</summary>
    public Uri NodeExporterUrl { get; init; } = new("http://localhost:9100/metrics");

    /// <summary>Re-read <see cref="ManifestsDirectory"/> when a file in it changes (also on SIGHUP).</summary>
    public bool WatchManifests { get; init; } = true;

    /// <summary>How long after the last change in the manifests directory the agent waits before re-reading it.</summary>
    public TimeSpan ReloadDebounce { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The fleet identity when the plans come from a gateway (<c>--gateway</c>): its certificate is presented, and its
    /// CA trusted, on syslog TLS and remote-write connections (docs/fleet.md §6); null = no fleet.
    /// </summary>
    public Flotel.Agent.Fleet.DeviceIdentity? Fleet { get; init; }

    /// <summary>
    /// Applied to every resolved plan before the components see it (<c>flotel up</c> points every log target and the
    /// metrics receiver at its own gateway); null = the plan as the manifests say.
    /// </summary>
    public Func<Flotel.Model.Manifests.DevicePlan, Flotel.Model.Manifests.DevicePlan>? PlanTransform { get; init; }
}
