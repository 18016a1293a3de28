using System.Net.Sockets;
using System.Text;
using Flotel.Agent.Logs;
using Flotel.Agent.Podman;
using Flotel.Agent.Tests.Podman;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Agent.Tests.Logs;

/// <summary>
/// The capture loop against a scripted libpod log endpoint on a unix socket, shaped as podman 4.3 sends it (HTTP/1.1,
/// chunked, one chunk per frame, frames split anywhere by the socket). The real podman is in the integration tests;
/// these pin the reader's own framing, batching, resume and stop.
/// </summary>
public sealed class ContainerLogReaderTests : IDisposable
{
    private const string Stamp = "2026-11-27T13:57:20Z";
    private const string Head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private static readonly PodmanContainer Container = new(new string('c', 64), "pod-printer", "pod", "running", false);
    private readonly TempDirectory _dir = new("flotel-reader-");
    private readonly MetricsRegistry _metrics = new();
    private readonly Sink _sink = new();

    public void Dispose() => _dir.Dispose();

    private string SocketPath => _dir.Combine("podman.sock");

    [Fact]
    public async Task Follow_ChunkPerFrameSplitAnywhere_EveryLineInOrderWithItsSeverityAndTheCursorSaved()
    {
        var body = new List<byte>();
        var expected = new List<(int, string)>();
        for (int i = 1; i <= 300; i++)
        {
            byte stream = i % 7 == 0 ? (byte)2 : (byte)1;
            body.AddRange(Chunk(Sequences.Frame(stream, $"{Stamp} line {i}\n")));
            expected.Add((stream == 2 ? ContainerLogReader.StderrSeverity : ContainerLogReader.StdoutSeverity, $"line {i}"));
        }

        using var podman = new ScriptedPodman(SocketPath, async (_, client) =>
        {
            await Send(client, Encoding.ASCII.GetBytes(Head));
            var bytes = body.ToArray();
            var random = new Random(5);
            for (int offset = 0; offset < bytes.Length;)
            {
                int n = Math.Min(random.Next(1, 700), bytes.Length - offset);
                await Send(client, bytes.AsMemory(offset, n));
                offset += n;
            }

            await Send(client, "0\r\n\r\n"u8.ToArray());
        });
        var cursors = new ContainerCursorStore(_dir.Combine("cursors"));
        await using var reader = Reader(cursors, new WorkloadLogsOptions { CaptureLinger = TimeSpan.FromMilliseconds(30), LogReopenDelay = TimeSpan.FromMinutes(1) });

        reader.Start();
        await _sink.WaitForAsync(300);
        await reader.StopAsync();

        Assert.Equal(expected, _sink.Lines.Select(l => (l.Severity, l.Message)));
        Assert.Equal(new LogCursor(DateTimeOffset.Parse(Stamp, System.Globalization.CultureInfo.InvariantCulture).UtcTicks, 300), cursors.Load(Container.Id));
        Assert.Contains($"GET /v4.0.0/libpod/containers/{Container.Id}/logs?stdout=true&stderr=true&timestamps=true&follow=true HTTP/1.1\r\n", podman.Requests[0], StringComparison.Ordinal);
        Assert.Equal(300, _metrics.Sum("flotel_agent_log_lines_captured_total", ("workload", "printer")));
    }

    [Fact]
    public async Task Follow_FrameLongerThanTheReadBuffer_TheWholeLine()
    {
        var text = string.Concat(Enumerable.Range(0, 20_000).Select(i => (char)('a' + (i % 26)))) + "0123456789";
        using var podman = new ScriptedPodman(SocketPath, async (_, client) =>
        {
            await Send(client, Encoding.ASCII.GetBytes(Head));
            var frame = Sequences.Frame(1, $"{Stamp} {text}{text}{text}{text}\n");
            await Send(client, Chunk(frame));
            await Send(client, Chunk(Sequences.Frame(1, $"{Stamp} after\n")));
            await Send(client, "0\r\n\r\n"u8.ToArray());
        });
        await using var reader = Reader(new ContainerCursorStore(_dir.Combine("cursors")), new WorkloadLogsOptions { MaxLineBytes = 256 * 1024, LogReopenDelay = TimeSpan.FromMinutes(1) });

        reader.Start();
        await _sink.WaitForAsync(2);

        Assert.Equal([text + text + text + text, "after"], _sink.Lines.Select(l => l.Message));
    }

    [Fact]
    public async Task Follow_StreamEndsAndIsOpenedAgain_ResumesSinceTheCursorWithoutRepeatingLines()
    {
        using var podman = new ScriptedPodman(SocketPath, async (connection, client) =>
        {
            // The container stopped after three lines; started again, it printed two more (libpod sends the second's lines again: since is whole seconds).
            await Send(client, Encoding.ASCII.GetBytes(Head));
            int lines = connection == 0 ? 3 : 5;
            for (int i = 1; i <= lines; i++)
            {
                await Send(client, Chunk(Sequences.Frame(1, $"{Stamp} line {i}\n")));
            }

            if (connection == 0)
            {
                await Send(client, "0\r\n\r\n"u8.ToArray());
            }
        });
        await using var reader = Reader(new ContainerCursorStore(_dir.Combine("cursors")), new WorkloadLogsOptions { CaptureLinger = TimeSpan.Zero, LogReopenDelay = TimeSpan.FromMilliseconds(50) });

        reader.Start();
        await _sink.WaitForAsync(5);
        await reader.StopAsync();

        Assert.Equal(["line 1", "line 2", "line 3", "line 4", "line 5"], _sink.Lines.Select(l => l.Message));
        Assert.DoesNotContain("since=", podman.Requests[0], StringComparison.Ordinal);
        Assert.Contains("&since=2026-11-27T13%3A57%3A20Z HTTP/1.1", podman.Requests[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_WhileTheStreamWaitsWithLinesLingering_LinesAppendedCursorSavedConnectionClosed()
    {
        using var closed = new SemaphoreSlim(0);
        using var podman = new ScriptedPodman(SocketPath, async (_, client) =>
        {
            await Send(client, Encoding.ASCII.GetBytes(Head));
            await Send(client, Chunk([.. Sequences.Frame(1, $"{Stamp} one\n"), .. Sequences.Frame(2, $"{Stamp} two\n")]));

            // podman keeps following; the agent stops: its end of the connection closes.
            Assert.Equal(0, await client.ReceiveAsync(new byte[16], SocketFlags.None).WaitAsync(Limit));
            closed.Release();
        });
        var cursors = new ContainerCursorStore(_dir.Combine("cursors"));
        var reader = Reader(cursors, new WorkloadLogsOptions { CaptureLinger = TimeSpan.FromSeconds(10), LogReopenDelay = TimeSpan.FromMinutes(1) });
        reader.Start();
        await podman.WaitForConnectionsAsync(1);
        var deadline = DateTime.UtcNow + Limit;
        while (_metrics.Sum("flotel_agent_log_lines_captured_total", ("workload", "printer")) < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the lines were not read");
            await Task.Delay(20);
        }

        // Read, but lingering: not appended yet.
        Assert.Empty(_sink.Lines);

        await reader.StopAsync().WaitAsync(Limit);

        Assert.Equal(["one", "two"], _sink.Lines.Select(l => l.Message));
        Assert.Equal(2, cursors.Load(Container.Id).Count);
        Assert.True(await closed.WaitAsync(Limit));
        await reader.DisposeAsync();
    }

    [Fact]
    public async Task Follow_MalformedFrame_LinesBeforeItKeptErrorCountedStreamOpenedAgain()
    {
        using var podman = new ScriptedPodman(SocketPath, async (connection, client) =>
        {
            await Send(client, Encoding.ASCII.GetBytes(Head));
            if (connection == 0)
            {
                await Send(client, Chunk([.. Sequences.Frame(1, $"{Stamp} good\n"), 1, 0, 9, 0, 0, 0, 0, 1, 65]));
                await Send(client, "0\r\n\r\n"u8.ToArray());
            }
            else
            {
                await Send(client, Chunk(Sequences.Frame(1, $"{Stamp} good\n")));
                await Send(client, Chunk(Sequences.Frame(1, $"{Stamp} next\n")));
            }
        });
        await using var reader = Reader(new ContainerCursorStore(_dir.Combine("cursors")), new WorkloadLogsOptions { CaptureLinger = TimeSpan.Zero, LogReopenDelay = TimeSpan.FromMilliseconds(50) });

        reader.Start();
        await _sink.WaitForAsync(2);
        await reader.StopAsync();

        Assert.Equal(["good", "next"], _sink.Lines.Select(l => l.Message));
        Assert.Equal(1, _metrics.Sum("flotel_agent_log_stream_errors_total", ("workload", "printer")));
    }

    [Fact]
    public async Task Start_NoPodmanSocket_CountedAsStreamErrorsAndStopEndsTheThread()
    {
        await using var reader = Reader(new ContainerCursorStore(_dir.Combine("cursors")), new WorkloadLogsOptions { LogReopenDelay = TimeSpan.FromMilliseconds(20) });

        reader.Start();
        var deadline = DateTime.UtcNow + Limit;
        while (_metrics.Sum("flotel_agent_log_stream_errors_total", ("workload", "printer")) < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await reader.StopAsync().WaitAsync(Limit);
        Assert.True(_metrics.Sum("flotel_agent_log_stream_errors_total", ("workload", "printer")) >= 2);
    }

    [Fact]
    public async Task Follow_K8sFileDriver_LinesReadFromConmonsFileWithoutALogStream()
    {
        var log = _dir.Combine("ctr.log");
        File.WriteAllText(log, $"{FileStamp} stdout F one\n{FileStamp} stderr P tw\n{FileStamp} stdout F three\n");
        File.AppendAllText(log, $"{FileStamp} stderr F o\n{FileStamp} stdout F fo");
        using var podman = new ScriptedPodman(SocketPath, (_, request, client) => AnswerInspect(client, request, "k8s-file", log));
        var cursors = new ContainerCursorStore(_dir.Combine("cursors"));
        var options = new WorkloadLogsOptions { CaptureLinger = TimeSpan.FromMilliseconds(30), LogFilePollInterval = TimeSpan.FromMilliseconds(20) };
        await using var reader = Reader(cursors, options, files: true);

        reader.Start();
        await _sink.WaitForAsync(3);

        // The torn last entry ("fo") waits for its end.
        File.AppendAllText(log, $"ur\n{FileStamp} stdout F five\n");
        await _sink.WaitForAsync(5);
        await reader.StopAsync();

        Assert.Equal(
            [(6, "one"), (6, "three"), (4, "two"), (6, "four"), (6, "five")],
            _sink.Lines.Select(l => (l.Severity, l.Message)));
        Assert.True(reader.ReadsFile);
        Assert.All(podman.Requests, r => Assert.StartsWith($"GET /v4.0.0/libpod/containers/{Container.Id}/json HTTP/1.1", r, StringComparison.Ordinal));
        Assert.Equal(new LogCursor(new DateTime(2026, 11, 27, 13, 57, 20, DateTimeKind.Utc).Ticks, 6), cursors.Load(Container.Id));
    }

    [Fact]
    public async Task Follow_K8sFileReaderStoppedAndStartedAgain_ResumesAfterTheCursorNothingTwice()
    {
        var log = _dir.Combine("ctr.log");
        File.WriteAllText(log, string.Concat(Enumerable.Range(1, 3).Select(i => $"{FileStamp} stdout F line {i}\n")));
        using var podman = new ScriptedPodman(SocketPath, (_, request, client) => AnswerInspect(client, request, "k8s-file", log));
        var cursors = new ContainerCursorStore(_dir.Combine("cursors"));
        var options = new WorkloadLogsOptions { CaptureLinger = TimeSpan.Zero, LogFilePollInterval = TimeSpan.FromMilliseconds(20) };
        await using (var first = Reader(cursors, options, files: true))
        {
            first.Start();
            await _sink.WaitForAsync(3);
        }

        // Written while no reader ran, in the same second as the lines already taken and in the next.
        File.AppendAllText(log, $"{FileStamp} stdout F line 4\n2026-11-27T14:57:21.000000001+01:00 stdout F line 5\n");
        await using var second = Reader(cursors, options, files: true);
        second.Start();
        await _sink.WaitForAsync(5);
        await Task.Delay(100);
        await second.StopAsync();

        Assert.Equal(Enumerable.Range(1, 5).Select(i => $"line {i}"), _sink.Lines.Select(l => l.Message));
    }

    [Fact]
    public async Task Follow_K8sFileRotatedWhileFollowed_EveryLineOnceAcrossTheNewFile()
    {
        var log = _dir.Combine("ctr.log");
        File.WriteAllText(log, $"{FileStamp} stdout F line 1\n");
        using var podman = new ScriptedPodman(SocketPath, (_, request, client) => AnswerInspect(client, request, "k8s-file", log));
        var options = new WorkloadLogsOptions { CaptureLinger = TimeSpan.Zero, LogFilePollInterval = TimeSpan.FromMilliseconds(20) };
        await using var reader = Reader(new ContainerCursorStore(_dir.Combine("cursors")), options, files: true);
        reader.Start();
        await _sink.WaitForAsync(1);

        File.AppendAllText(log, $"{FileStamp} stdout F line 2\n");
        File.WriteAllText(log + ".tmp", $"{FileStamp} stdout F line 3\n");
        File.Move(log + ".tmp", log, overwrite: true);
        File.AppendAllText(log, $"{FileStamp} stdout F line 4\n");
        await _sink.WaitForAsync(4);
        await Task.Delay(100);
        await reader.StopAsync();

        Assert.Equal(Enumerable.Range(1, 4).Select(i => $"line {i}"), _sink.Lines.Select(l => l.Message));
        Assert.Equal(1, _metrics.Sum("flotel_agent_log_file_rotations_total", ("workload", "printer")));
    }

    [Theory]
    [InlineData("journald", "")]
    [InlineData("k8s-file", "missing.log")]
    public async Task Follow_NoFileToRead_LibpodsLogStreamInstead(string driver, string file)
    {
        var path = file.Length == 0 ? string.Empty : _dir.Combine(file);
        using var podman = new ScriptedPodman(SocketPath, async (_, request, client) =>
        {
            if (await AnswerInspect(client, request, driver, path))
            {
                return;
            }

            await Send(client, Encoding.ASCII.GetBytes(Head));
            await Send(client, Chunk(Sequences.Frame(1, $"{Stamp} from the stream\n")));
        });
        var options = new WorkloadLogsOptions { CaptureLinger = TimeSpan.Zero };
        await using var reader = Reader(new ContainerCursorStore(_dir.Combine("cursors")), options, files: true);

        reader.Start();
        await _sink.WaitForAsync(1);
        await reader.StopAsync();

        Assert.Equal(["from the stream"], _sink.Lines.Select(l => l.Message));
        Assert.False(reader.ReadsFile);
        Assert.Contains(podman.Requests, r => r.Contains("/logs?", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Follow_K8sFileWithOversizedAndMalformedEntries_CountedAndTheRestRead()
    {
        var log = _dir.Combine("ctr.log");
        var huge = new string('x', ConmonLogFile.DefaultBufferBytes + 10);
        File.WriteAllText(log, $"{FileStamp} stdout F before\n{FileStamp} stdout F {huge}\nnot conmon\n{FileStamp} stdout F after\n");
        using var podman = new ScriptedPodman(SocketPath, (_, request, client) => AnswerInspect(client, request, "k8s-file", log));
        var options = new WorkloadLogsOptions { CaptureLinger = TimeSpan.Zero, LogFilePollInterval = TimeSpan.FromMilliseconds(20) };
        await using var reader = Reader(new ContainerCursorStore(_dir.Combine("cursors")), options, files: true);

        reader.Start();
        await _sink.WaitForAsync(2);
        await reader.StopAsync();

        Assert.Equal(["before", "after"], _sink.Lines.Select(l => l.Message));
        Assert.Equal(1, _metrics.Sum("flotel_agent_log_file_entries_skipped_total", ("workload", "printer"), ("reason", "too_long")));
        Assert.Equal(1, _metrics.Sum("flotel_agent_log_file_entries_skipped_total", ("workload", "printer"), ("reason", "malformed")));
    }

    private const string FileStamp = "2026-11-27T14:57:20.123456789+01:00";

    /// <summary>Answers libpod's container inspect (true), or does nothing for any other request (false).</summary>
    private static async Task<bool> AnswerInspect(Socket client, string request, string driver, string path)
    {
        if (!request.StartsWith($"GET /v4.0.0/libpod/containers/{Container.Id}/json ", StringComparison.Ordinal))
        {
            return false;
        }

        var json = "{\"Id\":\"" + Container.Id + "\",\"HostConfig\":{\"LogConfig\":{\"Type\":\"" + driver + "\",\"Path\":\"" + path + "\",\"Size\":\"0B\"}}}";
        var body = Encoding.UTF8.GetBytes(json);
        var head = $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        await Send(client, Encoding.ASCII.GetBytes(head));
        await Send(client, body);
        return true;
    }

    /// <summary>A reader; <paramref name="files"/> false reads through libpod's stream only, as the tests above script it.</summary>
    private ContainerLogReader Reader(ContainerCursorStore cursors, WorkloadLogsOptions options, bool files = false)
    {
        options.ReadLogFiles = files;
        return new("printer", Container, new PodmanClient(SocketPath), cursors, _sink, options, _metrics, TimeProvider.System, NullLogger.Instance);
    }

    private static byte[] Chunk(byte[] data) => [.. Encoding.ASCII.GetBytes($"{data.Length:x}\r\n"), .. data, (byte)'\r', (byte)'\n'];

    private static async Task Send(Socket client, ReadOnlyMemory<byte> bytes) => await client.SendAsync(bytes, SocketFlags.None);

    private sealed class Sink : ILogSink
    {
        private readonly List<(int Severity, string Message, LogCursor Cursor)> _lines = [];

        public List<(int Severity, string Message, LogCursor Cursor)> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public int MaxMessageBytes(string workload) => 1 << 20;

        public Task<bool> AppendAsync(string workload, IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken)
        {
            lock (_lines)
            {
                foreach (var record in records)
                {
                    Assert.True(LogRecord.TryRead(record.ToArray(), out var r));
                    Assert.Equal(workload, r.WorkloadText);
                    _lines.Add((r.Severity, r.MessageText, r.Cursor));
                }
            }

            return Task.FromResult(true);
        }

        public void CountTruncated(string workload)
        {
        }

        public async Task WaitForAsync(int lines)
        {
            var deadline = DateTime.UtcNow + Limit;
            while (Lines.Count < lines)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{Lines.Count} of {lines} lines after {Limit.TotalSeconds} s");
                await Task.Delay(20);
            }
        }
    }

    /// <summary>Serves connections on a unix socket: reads each request head, then runs the script with the connection's index.</summary>
    private sealed class ScriptedPodman : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly List<string> _requests = [];
        private readonly Task _accepting;
        private readonly CancellationTokenSource _stop = new();

        public ScriptedPodman(string path, Func<int, Socket, Task> script)
            : this(path, (index, _, client) => script(index, client))
        {
        }

        /// <summary>A script that also gets the request head.</summary>
        public ScriptedPodman(string path, Func<int, string, Socket, Task> script)
        {
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen(8);
            _accepting = Task.Run(() => AcceptAsync(script));
        }

        public List<string> Requests
        {
            get
            {
                lock (_requests)
                {
                    return [.. _requests];
                }
            }
        }

        public async Task WaitForConnectionsAsync(int count)
        {
            var deadline = DateTime.UtcNow + Limit;
            while (Requests.Count < count)
            {
                Assert.True(DateTime.UtcNow < deadline, "no request");
                await Task.Delay(20);
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Dispose();
            try
            {
                _accepting.Wait(Limit);
            }
            catch (AggregateException)
            {
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync(Func<int, string, Socket, Task> script)
        {
            var connections = new List<Task>();
            try
            {
                for (int index = 0; ; index++)
                {
                    var client = await _listener.AcceptAsync(_stop.Token);
                    int i = index;
                    connections.Add(Task.Run(() => ServeAsync(i, client, script)));
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }

            await Task.WhenAll(connections);
        }

        private async Task ServeAsync(int index, Socket client, Func<int, string, Socket, Task> script)
        {
            using (client)
            {
                var head = new StringBuilder();
                var buffer = new byte[1024];
                while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    int n = await client.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(Limit);
                    if (n == 0)
                    {
                        return;
                    }

                    head.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }

                lock (_requests)
                {
                    _requests.Add(head.ToString());
                }

                try
                {
                    await script(index, head.ToString(), client);

                    // Like podman: the connection stays until the reader closes it (a script that ended the body sent its last chunk).
                    await client.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                }
            }
        }
    }
}
