using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Flotel.Model.Logs;
using Flotel.Wire.Syslog;

namespace Flotel.Benchmarks;

/// <summary>
/// Per-line cost of the syslog codec: framing + parse (zero-allocation step), framing + parse + LogEvent, and the
/// agent's formatter. Budget (architecture §8): rsyslog imptcp spends ~2.2 µs CPU per message end to end.
/// </summary>
[MemoryDiagnoser]
public class SyslogBenchmarks
{
    private const int LinesPerStream = 1000;
    private static readonly DateTime ReceivedAt = new(2022, 5, 12, 20, 22, 5, DateTimeKind.Utc);

    // A realistic ~200-byte Flotta line (device name set, container id prefix) and an RFC 5424 line with SD.
    private static readonly byte[] FlottaLine = Encoding.UTF8.GetBytes(
        "<6>2022-05-12T16:22:01-04:00 edge-device-1 random-workload[3966]: dcc80a53ab7e5871f38e6b5184d785d58f5c698505fe74dd04597dcaac372c1b: New message at: Thu May 12 20:22:01 UTC 2022 request_id=7f3a9c2e\n");

    private static readonly byte[] Rfc5424Line = Encoding.UTF8.GetBytes(
        "<14>1 2022-05-12T20:22:01.494Z edge-device-1 random-workload 3966 - [flotel@32473 device=\"edge-device-1\" workload=\"random-workload\" container=\"dcc80a53ab7e5871\"] New message at: Thu May 12 20:22:01 UTC 2022 request_id=7f3a9c2e\n");

    private readonly SyslogParser _parser = new();
    private readonly SyslogStringPool _pool = new();
    private readonly ArrayBufferWriter<byte> _output = new(1 << 16);
    private readonly SyslogFormatter _flotta = new(SyslogOutputFormat.Flotta, SyslogOutputFraming.LineFeed, "edge-device-1", 3966);
    private readonly SyslogFormatter _rfc5424 = new(SyslogOutputFormat.Rfc5424, SyslogOutputFraming.OctetCounting, "edge-device-1", 3966);
    private readonly byte[] _message = Encoding.UTF8.GetBytes("New message at: Thu May 12 20:22:01 UTC 2022 with some more text to reach a realistic length");
    private ReadOnlySequence<byte> _flottaStream;
    private ReadOnlySequence<byte> _rfc5424Stream;

    [GlobalSetup]
    public void Setup()
    {
        _flottaStream = new ReadOnlySequence<byte>(Repeat(FlottaLine, LinesPerStream));
        _rfc5424Stream = new ReadOnlySequence<byte>(Repeat(Rfc5424Line, LinesPerStream));
    }

    [Benchmark(OperationsPerInvoke = LinesPerStream)]
    public int FlottaLine_FrameAndParse() => FrameAndParse(_flottaStream);

    [Benchmark(OperationsPerInvoke = LinesPerStream)]
    public int FlottaLine_FrameParseMaterialize() => FrameParseMaterialize(_flottaStream);

    [Benchmark(OperationsPerInvoke = LinesPerStream)]
    public int Rfc5424Line_FrameAndParse() => FrameAndParse(_rfc5424Stream);

    [Benchmark(OperationsPerInvoke = LinesPerStream)]
    public int Rfc5424Line_FrameParseMaterialize() => FrameParseMaterialize(_rfc5424Stream);

    [Benchmark(OperationsPerInvoke = LinesPerStream)]
    public int Format_FlottaLf()
    {
        _output.ResetWrittenCount();
        for (int i = 0; i < LinesPerStream; i++)
        {
            _flotta.Write(_output, 6, ReceivedAt, "random-workload", "dcc80a53ab7e5871f38e6b5184d785d58f5c698505fe74dd04597dcaac372c1b", _message);
            if (_output.FreeCapacity < 4096)
            {
                _output.ResetWrittenCount();
            }
        }

        return _output.WrittenCount;
    }

    [Benchmark(OperationsPerInvoke = LinesPerStream)]
    public int Format_Rfc5424OctetCounted()
    {
        _output.ResetWrittenCount();
        for (int i = 0; i < LinesPerStream; i++)
        {
            _rfc5424.Write(_output, 14, ReceivedAt, "random-workload", "dcc80a53ab7e5871f38e6b5184d785d58f5c698505fe74dd04597dcaac372c1b", _message);
            if (_output.FreeCapacity < 4096)
            {
                _output.ResetWrittenCount();
            }
        }

        return _output.WrittenCount;
    }

    private int FrameAndParse(ReadOnlySequence<byte> stream)
    {
        var framer = new SyslogFramer();
        var reader = new SequenceReader<byte>(stream);
        int sum = 0;
        while (framer.TryReadFrame(ref reader, out ReadOnlySequence<byte> frame))
        {
            sum += _parser.Parse(frame.FirstSpan, ReceivedAt).Priority;
        }

        return sum;
    }

    private int FrameParseMaterialize(ReadOnlySequence<byte> stream)
    {
        var framer = new SyslogFramer();
        var reader = new SequenceReader<byte>(stream);
        int sum = 0;
        while (framer.TryReadFrame(ref reader, out ReadOnlySequence<byte> frame))
        {
            LogEvent e = _parser.ParseEvent(frame, ReceivedAt, "10.0.0.7", _pool);
            sum += e.Message.Length;
        }

        return sum;
    }

    private static byte[] Repeat(byte[] line, int count)
    {
        byte[] all = new byte[line.Length * count];
        for (int i = 0; i < count; i++)
        {
            line.CopyTo(all, i * line.Length);
        }

        return all;
    }
}
