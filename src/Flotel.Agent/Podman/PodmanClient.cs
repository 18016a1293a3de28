using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Flotel.Agent.Podman;

/// <summary>
/// The libpod REST API (v4) over podman's unix socket (<c>podman system service</c>): play, list, start and remove
/// pods, list and inspect containers (one HTTP connection pool over the socket, every call with <see cref="RequestTimeout"/>), and
/// open a container's log stream (a connection of its own, read with blocking calls: <see cref="PodmanLogStream"/>).
/// </summary>
public sealed class PodmanClient : IDisposable
{
    /// <summary>The API version prefix: libpod 4.x (Debian bookworm ships 4.3).</summary>
    public const string ApiPrefix = "/v4.0.0/libpod";

    /// <summary>
    /// Longest wait for one API call. <c>play kube</c> creates the pod, its infra container and every container;
    /// on a small device with a slow SD card that takes seconds, so this is generous.
    /// </summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http;

    public PodmanClient(string socketPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        };

        // The host name is a placeholder: the connect callback ignores it. Infinite timeout: log streams never end by
        // themselves; other calls pass their own deadline.
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://podman"), Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The socket this client talks to.</summary>
    public string SocketPath { get; }

    /// <summary>
    /// The socket the agent uses when <c>--podman-socket</c> is not given: rootless podman's
    /// <c>$XDG_RUNTIME_DIR/podman/podman.sock</c> when that exists, else the rootful <c>/run/podman/podman.sock</c>.
    /// </summary>
    public static string DefaultSocketPath()
    {
        var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        if (!string.IsNullOrEmpty(runtime))
        {
            var rootless = Path.Combine(runtime, "podman", "podman.sock");
            if (File.Exists(rootless))
            {
                return rootless;
            }
        }

        return "/run/podman/podman.sock";
    }

    /// <summary>Checks that the API answers.</summary>
    /// <exception cref="PodmanUnavailableException">The socket is missing or nobody answers.</exception>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(SocketPath))
        {
            throw new PodmanUnavailableException(SocketPath, "no such socket");
        }

        using var response = await SendAsync(HttpMethod.Get, "/_ping", null, "ping", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates and starts the pod of a Kubernetes Pod document (<c>podman play kube</c>).</summary>
    public async Task PlayKubeAsync(string podYaml, CancellationToken cancellationToken)
    {
        using var content = new StringContent(podYaml, Encoding.UTF8, "application/x-yaml");
        using var response = await SendAsync(HttpMethod.Post, "/play/kube?start=true", content, "play kube", cancellationToken).ConfigureAwait(false);

        // play kube answers 200 even when a container failed to start; the report says so per pod.
        using var report = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
        if (report.RootElement.TryGetProperty("Pods", out var pods) && pods.ValueKind == JsonValueKind.Array)
        {
            foreach (var pod in pods.EnumerateArray())
            {
                if (pod.TryGetProperty("ContainerErrors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0)
                {
                    throw new PodmanApiException("play kube", (int)response.StatusCode, errors[0].GetString() ?? "container error");
                }
            }
        }
    }

    /// <summary>Every pod.</summary>
    public async Task<IReadOnlyList<PodmanPod>> ListPodsAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, "/pods/json", null, "list pods", cancellationToken).ConfigureAwait(false);
        using var json = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
        var pods = new List<PodmanPod>();
        if (json.RootElement.ValueKind != JsonValueKind.Array)
        {
            return pods;
        }

        foreach (var pod in json.RootElement.EnumerateArray())
        {
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (pod.TryGetProperty("Labels", out var l) && l.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in l.EnumerateObject())
                {
                    labels[p.Name] = p.Value.GetString() ?? string.Empty;
                }
            }

            pods.Add(new PodmanPod(String(pod, "Id"), String(pod, "Name"), String(pod, "Status"), labels));
        }

        return pods;
    }

    /// <summary>Every container (running or not), with its pod.</summary>
    public async Task<IReadOnlyList<PodmanContainer>> ListContainersAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, "/containers/json?all=true", null, "list containers", cancellationToken).ConfigureAwait(false);
        using var json = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
        var containers = new List<PodmanContainer>();
        if (json.RootElement.ValueKind != JsonValueKind.Array)
        {
            return containers;
        }

        foreach (var c in json.RootElement.EnumerateArray())
        {
            var name = c.TryGetProperty("Names", out var names) && names.ValueKind == JsonValueKind.Array && names.GetArrayLength() > 0
                ? names[0].GetString() ?? string.Empty
                : string.Empty;
            var infra = c.TryGetProperty("IsInfra", out var i) && i.ValueKind == JsonValueKind.True;
            var pid = c.TryGetProperty("Pid", out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out var n) ? n : 0;
            containers.Add(new PodmanContainer(String(c, "Id"), name, String(c, "PodName"), String(c, "State"), infra, pid));
        }

        return containers;
    }

    /// <summary>
    /// A container's log driver and, for <c>k8s-file</c>, the file conmon writes its output to (libpod's container
    /// inspect, <c>HostConfig.LogConfig</c>; the Docker-compatible <c>LogPath</c> when that has no path).
    /// </summary>
    /// <exception cref="PodmanApiException">podman answered with an error (404: the container is gone).</exception>
    public async Task<PodmanLogConfig> InspectLogConfigAsync(string containerId, CancellationToken cancellationToken)
    {
        var resource = "/containers/" + Uri.EscapeDataString(containerId) + "/json";
        using var response = await SendAsync(HttpMethod.Get, resource, null, "inspect container " + containerId, cancellationToken).ConfigureAwait(false);
        using var json = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
        var root = json.RootElement;
        string driver = string.Empty;
        string path = string.Empty;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("HostConfig", out var host) && host.ValueKind == JsonValueKind.Object
            && host.TryGetProperty("LogConfig", out var log) && log.ValueKind == JsonValueKind.Object)
        {
            driver = String(log, "Type");
            path = String(log, "Path");
        }

        if (path.Length == 0 && root.ValueKind == JsonValueKind.Object)
        {
            path = String(root, "LogPath");
        }

        return new PodmanLogConfig(driver, path);
    }

    /// <summary>Starts the stopped containers of a pod (a restart after they died).</summary>
    public async Task StartPodAsync(string name, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Post, "/pods/" + Uri.EscapeDataString(name) + "/start", null, "start pod " + name, cancellationToken, allowNotModified: true).ConfigureAwait(false);
    }

    /// <summary>Stops and removes a pod with its containers. A pod that is already gone is not an error.</summary>
    public async Task RemovePodAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await SendAsync(HttpMethod.Delete, "/pods/" + Uri.EscapeDataString(name) + "?force=true", null, "remove pod " + name, cancellationToken).ConfigureAwait(false);
        }
        catch (PodmanApiException e) when (e.StatusCode == 404)
        {
        }
    }

    /// <summary>
    /// Opens a container's log stream (multiplexed frames, see <see cref="PodmanFrameReader"/>) with timestamps, from
    /// <paramref name="since"/> (inclusive, whole seconds are enough: the reader skips what it already has), following
    /// new output until the container stops. It is read with blocking calls on a connection of its own (see
    /// <see cref="PodmanLogStream"/>); the caller disposes it. Waits for podman's answer without a time limit (a
    /// follow stream may answer only with the first line); <paramref name="cancellationToken"/> ends the wait.
    /// </summary>
    /// <exception cref="PodmanUnavailableException">The socket is missing or refuses.</exception>
    /// <exception cref="PodmanApiException">podman answered with an error (404: the container is gone).</exception>
    public PodmanLogStream OpenLogStream(string containerId, DateTimeOffset? since, bool follow, CancellationToken cancellationToken)
    {
        var path = new StringBuilder(ApiPrefix).Append("/containers/").Append(Uri.EscapeDataString(containerId))
            .Append("/logs?stdout=true&stderr=true&timestamps=true&follow=").Append(follow ? "true" : "false");
        if (since is { } s)
        {
            path.Append("&since=").Append(Uri.EscapeDataString(s.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)));
        }

        return PodmanLogStream.Open(SocketPath, path.ToString(), "logs " + containerId, Timeout.InfiniteTimeSpan, cancellationToken);
    }

    public void Dispose() => _http.Dispose();

    private static string String(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? string.Empty : string.Empty;

    private static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonDocument.ParseAsync(stream, default, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<PodmanApiException> ErrorAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        string message;
        try
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            using var json = JsonDocument.Parse(body);
            message = json.RootElement.TryGetProperty("message", out var m) ? m.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            message = response.ReasonPhrase ?? "error";
        }

        return new PodmanApiException(operation, (int)response.StatusCode, message);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, string operation, CancellationToken cancellationToken, bool allowNotModified = false)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        using var request = new HttpRequestMessage(method, ApiPrefix + path) { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new PodmanUnavailableException(SocketPath, e.Message, e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PodmanUnavailableException(SocketPath, $"no answer to {operation} within {RequestTimeout.TotalSeconds:F0} s", e);
        }

        if (response.IsSuccessStatusCode || (allowNotModified && response.StatusCode == HttpStatusCode.NotModified))
        {
            return response;
        }

        using (response)
        {
            throw await ErrorAsync(response, operation, cancellationToken).ConfigureAwait(false);
        }
    }
}
