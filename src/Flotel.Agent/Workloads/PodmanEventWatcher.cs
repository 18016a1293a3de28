using System.Text.Json;
using Flotel.Agent.Podman;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Workloads;

/// <summary>
/// Follows podman's container events (libpod <c>GET /events?stream=true</c> filtered to <c>type=container</c>, what
/// <c>podman events --format json --filter type=container</c> prints) and calls the owner back when a container
/// started, died or was removed, so a dead workload is started again at once instead of at the next poll. While the
/// stream is open <see cref="Connected"/> is true and the owner polls podman only at a long fallback interval; when
/// podman is absent or the stream ends it is opened again after <see cref="ReopenDelay"/>, doubling up to
/// <see cref="MaxReopenDelay"/>, and the owner polls at its short interval meanwhile. Only a stream that fails while
/// podman answers is logged here; podman being absent is reported by <see cref="WorkloadRunner"/>.
/// </summary>
/// <remarks>
/// The stream is a blocking read on a thread of its own (<see cref="PodmanLogStream"/>): while no container changes it
/// costs the agent nothing. Each event is one JSON object followed by a newline; only its top-level <c>Action</c> (or
/// <c>status</c>) is read. An event longer than <see cref="MaxEventBytes"/> or not JSON is skipped and counted.
/// </remarks>
public sealed partial class PodmanEventWatcher : IAsyncDisposable
{
    /// <summary>Longest event line read (podman's are a few hundred bytes; labels can make them longer).</summary>
    public const int MaxEventBytes = 64 * 1024;

    /// <summary>First wait before the stream is opened again after it failed or ended.</summary>
    public static readonly TimeSpan ReopenDelay = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between attempts to open the stream.</summary>
    public static readonly TimeSpan MaxReopenDelay = TimeSpan.FromSeconds(30);

    /// <summary>The libpod query: new container events only, streamed.</summary>
    internal const string PathAndQuery = PodmanClient.ApiPrefix + "/events?stream=true&filters=%7B%22type%22%3A%5B%22container%22%5D%7D";

    private readonly string _socketPath;
    private readonly Action _changed;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly byte[] _buffer = new byte[MaxEventBytes];
    private readonly Counter _events;
    private readonly Counter _malformed;
    private Thread? _thread;
    private volatile bool _connected;

    /// <param name="socketPath">The libpod API socket.</param>
    /// <param name="changed">Called (on the watcher's thread) for every event that can change what the owner reconciles; must not block.</param>
    /// <param name="metrics">Where the event counters are registered.</param>
    /// <param name="logger">Where the stream's state changes are logged.</param>
    public PodmanEventWatcher(string socketPath, Action changed, MetricsRegistry metrics, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        ArgumentNullException.ThrowIfNull(changed);
        ArgumentNullException.ThrowIfNull(metrics);
        _socketPath = socketPath;
        _changed = changed;
        _logger = logger;
        const string name = "flotel_agent_podman_events_total";
        const string help = "Container events read from podman's event stream (relevant: started, died or removed; malformed: skipped).";
        _events = metrics.Counter(name, help, ("kind", "relevant"));
        _malformed = metrics.Counter(name, help, ("kind", "malformed"));
        const string connectedHelp = "1 while podman's event stream is open (pods are then polled only at the fallback interval).";
        metrics.Gauge("flotel_agent_podman_events_connected", connectedHelp, () => _connected ? 1 : 0);
    }

    /// <summary>True while the event stream is open.</summary>
    public bool Connected => _connected;

    /// <summary>Starts following on a thread of its own.</summary>
    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "flotel podman events" };
        _thread.Start();
    }

    /// <summary>Stops following (aborts the open stream). Idempotent.</summary>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        if (_thread is not null)
        {
            await _done.Task.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>
    /// Whether one event line names a change the owner reconciles: a container that started, died (exited, was
    /// killed or stopped: podman reports <c>died</c>, then <c>cleanup</c> once its resources are released, ~0.1–0.3 s
    /// later, when its pod can be started again) or was removed. False for anything else (<c>create</c>, <c>attach</c>,
    /// <c>exec</c>, health checks…).
    /// </summary>
    /// <exception cref="JsonException">The line is not JSON.</exception>
    internal static bool IsRelevant(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 16 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("not a JSON object");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool action = reader.ValueTextEquals("Action"u8) || reader.ValueTextEquals("status"u8) || reader.ValueTextEquals("Status"u8);
            reader.Read();
            if (action && reader.TokenType == JsonTokenType.String)
            {
                return reader.ValueTextEquals("start"u8) || reader.ValueTextEquals("died"u8) || reader.ValueTextEquals("cleanup"u8)
                    || reader.ValueTextEquals("remove"u8);
            }

            reader.Skip();
        }

        return false;
    }

    private void Run()
    {
        var token = _stop.Token;
        var delay = ReopenDelay;
        bool failing = false;
        try
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    using var stream = PodmanLogStream.Open(_socketPath, PathAndQuery, "events", TimeSpan.FromSeconds(30), token);
                    using var abort = token.Register(static s => ((PodmanLogStream)s!).Abort(), stream);
                    _connected = true;
                    delay = ReopenDelay;
                    if (failing)
                    {
                        failing = false;
                        LogStreamBack(_logger);
                    }

                    // Something may have changed while the stream was closed: one pass now.
                    _changed();
                    Follow(stream);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    break;
                }
                catch (PodmanUnavailableException)
                {
                    // Podman absent or not answering: the owner's WorkloadRunner says so once, with what still works.
                    // A second warning here about the same socket only told the operator the same thing again.
                }
#pragma warning disable CA1031 // A thread of its own: anything escaping would end the process. Logged once, retried.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    if (!failing && !token.IsCancellationRequested)
                    {
                        failing = true;
                        LogStreamFailed(_logger, e.Message);
                    }
                }
                finally
                {
                    if (_connected)
                    {
                        // The owner waits at its short interval from now on: wake it so its current long wait ends.
                        _connected = false;
                        _changed();
                    }
                }

                if (token.WaitHandle.WaitOne(delay))
                {
                    break;
                }

                delay = delay * 2 < MaxReopenDelay ? delay * 2 : MaxReopenDelay;
            }
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    /// <summary>Reads event lines until the stream ends; throws when it fails.</summary>
    private void Follow(PodmanLogStream stream)
    {
        int end = 0;
        bool discarding = false;
        while (true)
        {
            int n = stream.Read(_buffer.AsSpan(end));
            if (n == 0)
            {
                return;
            }

            end += n;
            int start = 0;
            int lf;
            while ((lf = _buffer.AsSpan(start, end - start).IndexOf((byte)'\n')) >= 0)
            {
                var line = _buffer.AsSpan(start, lf);
                start += lf + 1;
                if (discarding)
                {
                    // The end of an event longer than the buffer (counted when it was found).
                    discarding = false;
                    continue;
                }

                if (line.Trim((byte)'\r').IsEmpty)
                {
                    continue;
                }

                bool relevant;
                try
                {
                    relevant = IsRelevant(line);
                }
                catch (JsonException)
                {
                    _malformed.Increment();
                    continue;
                }

                if (relevant)
                {
                    _events.Increment();
                    _changed();
                }
            }

            _buffer.AsSpan(start, end - start).CopyTo(_buffer);
            end -= start;
            if (end == _buffer.Length)
            {
                // One event longer than the buffer: skipped up to its newline (counted once).
                if (!discarding)
                {
                    _malformed.Increment();
                }

                discarding = true;
                end = 0;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Podman's event stream is not open ({Reason}); workloads are checked every few seconds until it is")]
    private static partial void LogStreamFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Podman's event stream is open again; workloads are checked when a container changes")]
    private static partial void LogStreamBack(ILogger logger);
}
