using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Flotel.Agent.Podman;
using Flotel.Model.Logs;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Flotel.Agent.Logs;

/// <summary>
/// Captures one container's log: follows it from the saved cursor, appends each batch of lines to the workload's
/// target buffer (durable), then saves the cursor — so after a restart capture resumes exactly after the last line
/// made durable. Only a kill between an append and the cursor save repeats lines: at most one batch
/// (<see cref="WorkloadLogsOptions.MaxCaptureBatch"/> lines). stdout lines get severity informational, stderr warning.
/// Each reader runs on a thread of its own; its waits (linger, poll, reopen delay) use the system clock.
/// </summary>
/// <remarks>
/// Two ways to the same lines, chosen each time the log is opened from the container's log driver (libpod inspect):
/// <list type="bullet">
/// <item><c>k8s-file</c> (podman's default): the file conmon writes is followed directly (<see cref="ConmonLogFile"/>):
/// read to its end, then polled every <see cref="WorkloadLogsOptions.LogFilePollInterval"/>, each poll's lines one
/// batch — no podman process in the way. A stopped or restarted container keeps its file (conmon appends), so the
/// file is followed until the reader is stopped (the container was removed); rotations and truncations are
/// followed.</item>
/// <item>anything else (<c>journald</c>…), or a file the agent cannot open: libpod's log stream
/// (<see cref="PodmanLogStream"/>), blocked in its reads; it ends when the container stops and is opened again from
/// the cursor.</item>
/// </list>
/// Both give the parser entries in the log's order stamped per whole second, so one cursor serves either.
/// </remarks>
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
    private readonly Counter _fileOversized;
    private readonly Counter _fileMalformed;
    private readonly Counter _fileRotations;
    private bool _fallbackLogged;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ArrayBufferWriter<byte> _batch = new(64 * 1024);
    private readonly List<int> _ends;
    private readonly List<ReadOnlyMemory<byte>> _records;
    private Thread? _thread;
    private ContainerCursorStore.CursorFile? _cursorFile;

    /// <summary>The stream read buffer: decoded bytes; grows only for a frame longer than it.</summary>
    private byte[] _buffer = new byte[64 * 1024];

    /// <summary>Bytes of encoded records that end a capture batch early (bounds the batch buffer with long lines).</summary>
    private const int MaxCaptureBytes = 1024 * 1024;

    /// <summary>Pause after the stream was woken by new data before it is read (see <see cref="FollowStream"/>).</summary>
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
        _ends = new List<int>(options.MaxCaptureBatch);
        _records = new List<ReadOnlyMemory<byte>>(options.MaxCaptureBatch);
        _streamErrors = metrics.Counter("flotel_agent_log_stream_errors_total", "Container log streams that failed or were malformed (reopened).", ("workload", workload));
        const string skipped = "flotel_agent_log_file_entries_skipped_total";
        const string skippedHelp = "Entries of containers' k8s-file logs skipped, by workload and reason "
            + "(too_long: longer than the read buffer; malformed: not conmon's format).";
        _fileOversized = metrics.Counter(skipped, skippedHelp, ("workload", workload), ("reason", "too_long"));
        _fileMalformed = metrics.Counter(skipped, skippedHelp, ("workload", workload), ("reason", "malformed"));
        const string rotationsHelp = "Containers' k8s-file logs found replaced (conmon's size limit) or truncated, and followed.";
        _fileRotations = metrics.Counter("flotel_agent_log_file_rotations_total", rotationsHelp, ("workload", workload));
    }

    /// <summary>True while the log is read from conmon's file, false while from libpod's stream (status, tests).</summary>
    public bool ReadsFile { get; private set; }

    public string Workload { get; }

    public PodmanContainer Container { get; }

    /// <summary>The cursor saved last.</summary>
    public LogCursor Cursor { get; private set; }

    public void Start()
    {
        Cursor = _cursors.Load(Container.Id);

        // A thread of its own: the stream is read with blocking calls (see PodmanLogStream for why).
        _thread = new Thread(Run) { IsBackground = true, Name = "flotel logs " + Container.Name };
        _thread.Start();
    }

    /// <summary>Stops following; what was appended has its cursor saved. Idempotent.</summary>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            // Aborts the open stream (its registration), which ends a blocked read.
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        if (_thread is not null)
        {
            await _done.Task.ConfigureAwait(false);
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

    private void Run()
    {
        var token = _stop.Token;
        bool failing = false;
        try
        {
            while (!token.IsCancellationRequested)
            {
                try
                {
                    // Opened here, not in Start: a disk error is then retried like a stream error.
                    _cursorFile ??= _cursors.Open(Container.Id);
                    FollowOnce(token);
                    failing = false;
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    break;
                }
#pragma warning disable CA1031 // A thread of its own: anything escaping would end the process. Counted, logged once, retried.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    _streamErrors.Increment();
                    if (!failing)
                    {
                        failing = true;
                        LogStreamFailed(_logger, Workload, Container.Name, e.Message);
                    }
                }

                if (token.WaitHandle.WaitOne(_options.LogReopenDelay))
                {
                    break;
                }
            }
        }
        finally
        {
            _done.TrySetResult();
        }
    }

    /// <summary>The way to the container's log: its file when the driver is <c>k8s-file</c> and the file opens, else libpod's stream.</summary>
    private void FollowOnce(CancellationToken token)
    {
        ConmonLogFile? file = null;
        if (_options.ReadLogFiles)
        {
            var config = _podman.InspectLogConfigAsync(Container.Id, token).GetAwaiter().GetResult();
            if (config.HasFile)
            {
                try
                {
                    file = ConmonLogFile.Open(config.Path);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    if (!_fallbackLogged)
                    {
                        _fallbackLogged = true;
                        LogFileFallback(_logger, Workload, Container.Name, config.Path, e.Message);
                    }
                }
            }
        }

        ReadsFile = file is not null;
        if (file is null)
        {
            FollowStream(token);
            return;
        }

        using (file)
        {
            FollowFile(file, token);
        }
    }

    /// <summary>
    /// Follows conmon's file from the cursor until the reader stops: entries up to the cursor are skipped, the rest are
    /// appended one batch per poll — what a poll read up to the end of the data (or a full batch at once) — and the file
    /// is polled again <see cref="WorkloadLogsOptions.LogFilePollInterval"/> later. The poll interval is the file path's
    /// linger: the lines waited in the file, so a second wait (<see cref="WorkloadLogsOptions.CaptureLinger"/>) would
    /// only add latency and a wake-up.
    /// </summary>
    private void FollowFile(ConmonLogFile file, CancellationToken token)
    {
        var parser = new ContainerLogParser(Cursor, _options.MaxLineBytes);
        _batch.ResetWrittenCount();
        _ends.Clear();
        long oversized = 0;
        long malformed = 0;
        long rotations = 0;
        while (true)
        {
            int max = _sink.MaxMessageBytes(Workload);
            while (_ends.Count < _options.MaxCaptureBatch && _batch.WrittenCount < MaxCaptureBytes && file.TryReadEntry(out var entry))
            {
                if (parser.AcceptFileEntry(entry, out var lineStream, out var ticks, out var message))
                {
                    Add(parser, lineStream, ticks, message, max);
                }
            }

            if (_ends.Count >= _options.MaxCaptureBatch || _batch.WrittenCount >= MaxCaptureBytes)
            {
                Flush(parser);
                continue;
            }

            if (file.Fill())
            {
                continue;
            }

            // The end of the data written so far: what this poll read is one batch (the cursor moves only with lines).
            Flush(parser);
            _fileOversized.Add(file.OversizedEntries - oversized);
            _fileMalformed.Add(parser.MalformedEntries - malformed);
            _fileRotations.Add(file.Rotations + file.Truncations - rotations);
            (oversized, malformed, rotations) = (file.OversizedEntries, parser.MalformedEntries, file.Rotations + file.Truncations);
            if (token.WaitHandle.WaitOne(_options.LogFilePollInterval))
            {
                token.ThrowIfCancellationRequested();
            }
        }
    }

    /// <summary>
    /// Follows libpod's log stream from the cursor until the stream ends (the container stopped) or the reader stops.
    /// Lines are appended in batches: at most <see cref="WorkloadLogsOptions.CaptureLinger"/> after the first line of a
    /// batch was read, at once when a batch is full or the stream ended.
    /// </summary>
    private void FollowStream(CancellationToken token)
    {
        var resume = Cursor;
        DateTimeOffset? since = resume.IsStart ? null : new DateTimeOffset(resume.TimestampTicks, TimeSpan.Zero);
        using var stream = _podman.OpenLogStream(Container.Id, since, follow: true, token);
        using var abort = token.Register(static s => ((PodmanLogStream)s!).Abort(), stream);
        var parser = new ContainerLogParser(resume, _options.MaxLineBytes);
        _batch.ResetWrittenCount();
        _ends.Clear();

        // Decoded stream bytes not parsed yet (a partial frame at most, between reads) are _buffer[start..end).
        int start = 0;
        int end = 0;

        // When the oldest line not yet appended was read: the batch is appended CaptureLinger after it, or when full.
        long firstUnflushed = 0;
        while (true)
        {
            bool had = _ends.Count > 0;
            start += ParseFrames(new ReadOnlySequence<byte>(_buffer, start, end - start), parser, out var error);
            if (!had && _ends.Count > 0)
            {
                firstUnflushed = _time.GetTimestamp();
            }

            bool full = _ends.Count >= _options.MaxCaptureBatch || _batch.WrittenCount >= MaxCaptureBytes;
            if (full || error != PodmanFrameError.None || (_ends.Count > 0 && _time.GetElapsedTime(firstUnflushed) >= _options.CaptureLinger))
            {
                Flush(parser);
            }

            if (error != PodmanFrameError.None)
            {
                throw new InvalidDataException($"malformed log frame ({error})");
            }

            if (full)
            {
                // Parsing stopped at the batch's limit: go on with what was read before reading more.
                continue;
            }

            // Keep the unparsed partial frame at the start of the buffer, where the next read continues it.
            if (start > 0)
            {
                _buffer.AsSpan(start, end - start).CopyTo(_buffer);
                end -= start;
                start = 0;
            }

            if (end == _buffer.Length)
            {
                // One frame longer than the buffer (its header was checked: at most MaxFrameBytes): grow to hold it.
                int need = PodmanFrameReader.HeaderSize + (int)BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(4));
                Array.Resize(ref _buffer, Math.Max(need, _buffer.Length * 2));
            }

            if (!stream.WaitForData(TimeSpan.Zero))
            {
                // Nothing more now. With lines waiting: wait for more until the batch's linger is over, then append it.
                if (_ends.Count > 0 && !stream.WaitForData(_options.CaptureLinger - _time.GetElapsedTime(firstUnflushed)))
                {
                    Flush(parser);
                }

                stream.WaitForData(Timeout.InfiniteTimeSpan);

                // podman writes one chunk per line as the container prints: reading at once after being woken by the first
                // would take a line or two per read. A short pause lets the rest of the burst arrive, so the read takes all
                // of it. Short, because the socket holds only a few hundred chunks before podman has to wait.
                if (token.WaitHandle.WaitOne(ReadCoalescing))
                {
                    Flush(parser);
                    token.ThrowIfCancellationRequested();
                }
            }

            int n = stream.Read(_buffer.AsSpan(end));
            if (n == 0)
            {
                // The end of the stream (the container stopped), or stopping: append what was read (its cursor is saved
                // with it) instead of reading it again next time.
                Flush(parser);
                token.ThrowIfCancellationRequested();
                return;
            }

            end += n;
        }
    }

    /// <summary>Parses every complete frame of <paramref name="buffer"/> into the batch (up to its limits); returns the bytes consumed.</summary>
    private int ParseFrames(ReadOnlySequence<byte> buffer, ContainerLogParser parser, out PodmanFrameError error)
    {
        var reader = new SequenceReader<byte>(buffer);
        error = PodmanFrameError.None;
        int max = _sink.MaxMessageBytes(Workload);
        while (_ends.Count < _options.MaxCaptureBatch && _batch.WrittenCount < MaxCaptureBytes && PodmanFrameReader.TryRead(ref reader, out var stream, out var payload, out error))
        {
            if (parser.Accept(stream, payload, out var lineStream, out var ticks, out var message))
            {
                Add(parser, lineStream, ticks, message, max);
            }
        }

        return (int)reader.Consumed;
    }

    /// <summary>Adds one line to the batch (cut to the target's message limit <paramref name="max"/>, 0 = none).</summary>
    private void Add(ContainerLogParser parser, PodmanStream lineStream, long ticks, ReadOnlySpan<byte> message, int max)
    {
        bool stderr = lineStream == PodmanStream.Stderr;
        (stderr ? _capturedErr : _capturedOut).Increment();
        if (max > 0 && message.Length > max)
        {
            message = message[..max];
            _sink.CountTruncated(Workload);
        }

        LogRecord.Write(_batch, stderr ? StderrSeverity : StdoutSeverity, ticks, parser.SafeCursor, _workloadUtf8, _containerUtf8, message);
        _ends.Add(_batch.WrittenCount);
    }

    /// <summary>
    /// Appends the batch (durable), then saves the cursor. Not cancellable: a stop never separates the two. Waits for the
    /// append on this reader's own thread.
    /// </summary>
    private void Flush(ContainerLogParser parser)
    {
        if (_ends.Count > 0)
        {
            _records.Clear();
            int start = 0;
            foreach (int end in _ends)
            {
                _records.Add(_batch.WrittenMemory[start..end]);
                start = end;
            }

            if (!_sink.AppendAsync(Workload, _records, CancellationToken.None).GetAwaiter().GetResult())
            {
                _noTarget.Add(_records.Count);
            }

            _batch.ResetWrittenCount();
            _ends.Clear();
        }

        if (parser.SafeCursor != Cursor)
        {
            Cursor = parser.SafeCursor;
            _cursorFile!.Save(Cursor);
        }
    }

    [LoggerMessage(
        Level = LogLevel.Warning,
        Message = "Workload {Workload}: the log file {Path} of container {Container} cannot be read ({Reason}); its log is read through podman's API instead")]
    private static partial void LogFileFallback(ILogger logger, string workload, string container, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Workload {Workload}: reading the log of container {Container} failed ({Reason}); retrying, capture resumes from its cursor")]
    private static partial void LogStreamFailed(ILogger logger, string workload, string container, string reason);
}
