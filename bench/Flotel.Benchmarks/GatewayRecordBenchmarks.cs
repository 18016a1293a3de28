using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Flotel.Wire.Queueing;

namespace Flotel.Benchmarks;

/// <summary>
/// Per-line cost of laying syslog frames out as the gateway's queue records (what the syslog input does with each
/// read: a header every 32 KiB, a length-prefixed copy per frame), without and with the device name a connection with
/// a device certificate adds to each record (docs/fleet.md §6), and reading the headers back.
/// </summary>
[MemoryDiagnoser]
public class GatewayRecordBenchmarks
{
    private const int Lines = 1000;
    private const int RecordBytes = 32 * 1024;

    private static readonly byte[] FlottaLine = Encoding.UTF8.GetBytes(
        "<6>2022-05-12T16:22:01-04:00 edge-device-1 random-workload[3966]: dcc80a53ab7e5871f38e6b5184d785d58f5c698505fe74dd04597dcaac372c1b: New message at: Thu May 12 20:22:01 UTC 2022 request_id=7f3a9c2e");

    private readonly ArrayBufferWriter<byte> _output = new(1 << 20);
    private readonly List<int> _starts = new(64);

    [Benchmark(Baseline = true, OperationsPerInvoke = Lines)]
    public int WriteRecords_NoDevice() => Write(device: null);

    [Benchmark(OperationsPerInvoke = Lines)]
    public int WriteRecords_WithDevice() => Write("edge-device-1");

    [Benchmark(OperationsPerInvoke = Lines)]
    public int WriteAndReadHeaders_WithDevice()
    {
        var written = Write("edge-device-1");
        var frames = 0;
        for (var i = 0; i < _starts.Count; i++)
        {
            var end = i + 1 < _starts.Count ? _starts[i + 1] : _output.WrittenCount;
            var record = _output.WrittenSpan[_starts[i]..end];
            _ = GatewayRecord.TryReadHeader(record, out _, out _, out _, out _, out var offset);
            var body = record[(offset + 1)..];
            while (GatewayRecord.TryReadFrame(ref body, out _))
            {
                frames++;
            }
        }

        return written + frames;
    }

    private int Write(string? device)
    {
        _output.ResetWrittenCount();
        _starts.Clear();
        for (var i = 0; i < Lines; i++)
        {
            if (_starts.Count == 0 || _output.WrittenCount - _starts[^1] >= RecordBytes)
            {
                _starts.Add(_output.WrittenCount);
                GatewayRecord.WriteHeader(_output, GatewayRecordKind.SyslogFrames, 1_765_000_000_000, "10.0.0.7", device);
                _output.GetSpan(1)[0] = 3;
                _output.Advance(1);
            }

            GatewayRecord.WriteFrame(_output, FlottaLine);
        }

        return _output.WrittenCount;
    }
}
