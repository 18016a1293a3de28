using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Flotel.Agent.Podman;
using Flotel.Model.Logs;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Logs;

/// <summary>
/// Captures one container's log: follows libpod's log stream from the saved cursor, appends each batch of lines to the
/// workload's target buffer (durable), then saves the cursor — so after a restart capture resumes exactly after the
/// last line made durable. Only a kill between an append and the cursor save repeats lines: at most one batch
/// (<see cref="WorkloadLogsOptions.MaxCaptureBatch"/> lines). stdout lines get severity informational, stderr warning.
/// The stream ends when the container stops; it is opened again (from the cursor) until the reader is stopped.
/// </summary>
public sealed partial class ContainerLogReader : IAsyncDisposable
{
    /// <summary>Severity of stdout lines: informational (6), as Flotta.</summary>
    public const int StdoutSeverity = 6;

    /// <summary>Severity of stderr lines: warning (4). Flotta sent both streams at informational.</summary>
    public const int StderrSeverity = 4;

    private readonly PodmanClient _podman;
    private readonly ContainerCursorStore _cursors;
    private readonly ILogSink _sink;
    private readonly WorkloadLogsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly byte[] _workloadUtf8;
    private readonly byte[] _containerUtf8;
    private readonly Counter _capturedOut;
    private readonly Counter _capturedErr;
    private readonly Counter _noTarget;
    private readonly Counter _streamErrors;
    private Task? _loop;
    private ContainerCursorStore.CursorFile? _cursorFile;

    /// <summary>Bytes of encoded records that end a capture batch early (bounds the batch buffer with long lines).</summary>
    private const int MaxCaptureBytes = 1024 * 1024;

    /// <summary>Pause after a read that returned data before the next one (see <see cref="FollowOnceAsync"/>).</summary>
    private static readonly TimeSpan ReadCoalescing = TimeSpan.FromMilliseconds(20);

    public ContainerLogReader(string workload, PodmanContainer container, PodmanClient podman, ContainerCursorStore cursors, ILogSink sink, WorkloadLogsOptions options, MetricsRegistry metrics, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(metrics);
        Workload = workload;
        Container = container;
        _podman = podman;
        _cursors = cursors;
        _sink = sink;
        _options = options;
        _time = time;
        _logger = logger;
        _workloadUtf8 = Truncate(Encoding.UTF8.GetBytes(workload));
        _containerUtf8 = Truncate(Encoding.UTF8.GetBytes(container.Id));
        const string captured = "flotel_agent_log_lines_captured_total";
        const string help = "Workload log lines read from podman, by workload and stream.";
        _capturedOut = metrics.Counter(captured, help, ("workload", workload), ("stream", "stdout"));
        _capturedErr = metrics.Counter(captured, help, ("workload", workload), ("stream", "stderr"));
        _noTarget = metrics.Counter("flotel_agent_log_lines_dropped_total", "Workload log lines lost, by target and reason.", ("target", ""), ("reason", "no_target"));
        _streamErrors = metrics.Counter("flotel_agent_log_stream_errors_total", "Container log streams that failed or were malformed (reopened).", ("workload", workload));
    }

    public string Workload { get; }

    public PodmanContainer Container { get; }

    /// <summary>The cursor saved last.</summary>
    public LogCursor Cursor { get; private set; }

    public void Start()
    {
        Cursor = _cursors.Load(Container.Id);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Stops following; what was appended has its cursor saved. Idempotent.</summary>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        // After the loop: nothing saves any more; the last cursor is synced.
        _cursorFile?.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private static byte[] Truncate(byte[] name) => name.Length <= 255 ? name : name[..255];

    private async Task RunAsync()
    {
        var token = _stop.Token;
        bool failing = false;
        while (!token.IsCancellationRequested)
        {
            try
            {
                // Opened here, not in Start: a disk error is then retried like a stream error.
                _cursorFile ??= _cursors.Open(Container.Id);
                await FollowOnceAsync(token).ConfigureAwait(false);
                failing = false;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is PodmanUnavailableException or PodmanApiException or IOException or InvalidDataException or HttpRequestException)
            {
                _streamErrors.Increment();
                if (!failing)
                {
                    failing = true;
                    LogStreamFailed(_logger, Workload, Container.Name, e.Message);
                }
            }

            try
            {
                await Task.Delay(_options.LogReopenDelay, _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task FollowOnceAsync(CancellationToken token)
    {
        var resume = Cursor;
        DateTimeOffset? since = resume.IsStart ? null : new DateTimeOffset(resume.TimestampTicks, TimeSpan.Zero);
        var stream = await _podman.OpenLogsAsync(Container.Id, since, follow: true, token).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
            var parser = new ContainerLogParser(resume, _options.MaxLineBytes);
            var batch = new ArrayBufferWriter<byte>(64 * 1024);
            var ends = new List<int>(_options.MaxCaptureBatch);
            var records = new List<ReadOnlyMemory<byte>>(_options.MaxCaptureBatch);

            // When the oldest line not yet appended was read: the batch is appended CaptureLinger after it, or when full.
            long firstUnflushed = 0;

            // CA2012: each read's ValueTask is consumed once — awaited, or turned into a Task once and that awaited.
#pragma warning disable CA2012
            try
            {
                var pending = pipe.ReadAsync(token);
                while (true)
                {
                    bool woken = !pending.IsCompleted;
                    if (woken && ends.Count > 0)
                    {
                        // Nothing more is in the stream now: wait for more lines until the batch's linger is over, then
                        // append it even if the read is still waiting.
                        var remaining = _options.CaptureLinger - _time.GetElapsedTime(firstUnflushed);
                        if (remaining > TimeSpan.Zero)
                        {
                            var read = pending.AsTask();
                            pending = new ValueTask<ReadResult>(read);
                            await Task.WhenAny(read, Task.Delay(remaining, _time, CancellationToken.None)).ConfigureAwait(false);
                        }

                        if (!pending.IsCompleted)
                        {
                            await FlushAsync(parser, batch, ends, records).ConfigureAwait(false);
                        }
                    }

                    var result = await pending.ConfigureAwait(false);
                    var buffer = result.Buffer;
                    bool had = ends.Count > 0;
                    var consumed = ParseFrames(buffer, parser, batch, ends, out var error);
                    if (!had && ends.Count > 0)
                    {
                        firstUnflushed = _time.GetTimestamp();
                    }

                    // A full batch stops parsing early: mark only what was consumed as examined so the rest is read at once.
                    bool full = ends.Count >= _options.MaxCaptureBatch || batch.WrittenCount >= MaxCaptureBytes;
                    pipe.AdvanceTo(consumed, full ? consumed : buffer.End);
                    if (full || error != PodmanFrameError.None || result.IsCompleted || (ends.Count > 0 && _time.GetElapsedTime(firstUnflushed) >= _options.CaptureLinger))
                    {
                        await FlushAsync(parser, batch, ends, records).ConfigureAwait(false);
                    }

                    if (error != PodmanFrameError.None)
                    {
                        throw new InvalidDataException($"malformed log frame ({error})");
                    }

                    if (result.IsCompleted && !full)
                    {
                        return;
                    }

                    if (woken && !full && !buffer.IsEmpty)
                    {
                        // podman writes one frame per line as the container prints: reading again at once after being woken
                        // by the first would wake this reader for every line or two. A short pause lets the rest of the
                        // burst arrive, so the next reads take all of it at once. Short, because the socket holds only a
                        // few hundred frames before podman has to wait.
                        await Task.Delay(ReadCoalescing, _time, token).ConfigureAwait(false);
                    }

                    pending = pipe.ReadAsync(token);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Stopping: append what was read (its cursor is saved with it) instead of reading it again next time.
                await FlushAsync(parser, batch, ends, records).ConfigureAwait(false);
                throw;
            }
#pragma warning restore CA2012
            finally
            {
                await pipe.CompleteAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Parses every complete frame of <paramref name="buffer"/> into records; returns what was consumed.</summary>
    private SequencePosition ParseFrames(ReadOnlySequence<byte> buffer, ContainerLogParser parser, ArrayBufferWriter<byte> batch, List<int> ends, out PodmanFrameError error)
    {
        var reader = new SequenceReader<byte>(buffer);
        error = PodmanFrameError.None;
        int max = _sink.MaxMessageBytes(Workload);
        while (ends.Count < _options.MaxCaptureBatch && batch.WrittenCount < MaxCaptureBytes && PodmanFrameReader.TryRead(ref reader, out var stream, out var payload, out error))
        {
            if (!parser.Accept(stream, payload, out var lineStream, out var ticks, out var message))
            {
                continue;
            }

            bool stderr = lineStream == PodmanStream.Stderr;
            (stderr ? _capturedErr : _capturedOut).Increment();
            if (max > 0 && message.Length > max)
            {
                message = message[..max];
                _sink.CountTruncated(Workload);
            }

            LogRecord.Write(batch, stderr ? StderrSeverity : StdoutSeverity, ticks, parser.SafeCursor, _workloadUtf8, _containerUtf8, message);
            ends.Add(batch.WrittenCount);
        }

        return reader.Position;
    }

    /// <summary>Appends the batch (durable), then saves the cursor. Not cancellable: a stop never separates the two.</summary>
    private async Task FlushAsync(ContainerLogParser parser, ArrayBufferWriter<byte> batch, List<int> ends, List<ReadOnlyMemory<byte>> records)
    {
        if (ends.Count > 0)
        {
            records.Clear();
            int start = 0;
            foreach (int end in ends)
            {
                records.Add(batch.WrittenMemory[start..end]);
                start = end;
            }

            if (!await _sink.AppendAsync(Workload, records, CancellationToken.None).ConfigureAwait(false))
            {
                _noTarget.Add(records.Count);
            }

            batch.ResetWrittenCount();
            ends.Clear();
        }

        if (parser.SafeCursor != Cursor)
        {
            Cursor = parser.SafeCursor;
            _cursorFile!.Save(Cursor);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workload {Workload}: reading the log of container {Container} failed ({Reason}); retrying, capture resumes from its cursor")]
    private static partial void LogStreamFailed(ILogger logger, string workload, string container, string reason);
}
