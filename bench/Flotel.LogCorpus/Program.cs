using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Flotel.Bench;

namespace Flotel.LogCorpus;

/// <summary>
/// A log corpus generator for the storage benchmarks (bench/peers/log-storage.sh): realistic lines of one shape,
/// deterministic from a seed, written to a file and/or sent as LF-framed syslog over TCP. Loopback only, bounded by
/// the line count.
/// </summary>
internal static class Program
{
    public static Task<int> Main(string[] args) => BenchOptions.RunAsync(CorpusOptions.CreateCommand(RunAsync), "flotel-logcorpus", args);

    private static async Task<int> RunAsync(CorpusOptions options)
    {
        var generator = new CorpusGenerator(options.Shape, options.Seed, options.Devices, options.Start);
        Stream? file = options.Out switch
        {
            null => null,
            "-" => Console.OpenStandardOutput(),
            var path => new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16),
        };
        using var socket = options.Send is { } endpoint ? new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) : null;
        if (socket is not null)
        {
            await socket.ConnectAsync(options.Send!).ConfigureAwait(false);
        }

        var clock = Stopwatch.StartNew();
        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        long bytes = 0;
        try
        {
            for (var i = 0; i < options.Lines; i++)
            {
                var line = generator.Next();
                var span = buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(line.Length) + 1);
                var n = Encoding.UTF8.GetBytes(line, span);
                span[n] = (byte)'\n';
                buffer.Advance(n + 1);
                bytes += n + 1;
                if (buffer.WrittenCount >= (1 << 20) - 4096 || i == options.Lines - 1)
                {
                    if (file is not null)
                    {
                        await file.WriteAsync(buffer.WrittenMemory).ConfigureAwait(false);
                    }

                    if (socket is not null)
                    {
                        await SendAllAsync(socket, buffer.WrittenMemory).ConfigureAwait(false);
                    }

                    buffer.ResetWrittenCount();
                }
            }
        }
        finally
        {
            if (file is not null)
            {
                await file.DisposeAsync().ConfigureAwait(false);
            }

            socket?.Shutdown(SocketShutdown.Send);
        }

        await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"shape={options.Shape.ToString().ToLowerInvariant()} lines={options.Lines} bytes={bytes} seed={options.Seed} "
            + $"seconds={clock.Elapsed.TotalSeconds:F3}")).ConfigureAwait(false);
        return 0;
    }

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[sent..];
        }
    }
}
