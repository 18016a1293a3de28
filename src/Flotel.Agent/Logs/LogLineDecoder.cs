using Flotel.Pipeline.Delivery;
using Flotel.Pipeline.Queue;

namespace Flotel.Agent.Logs;

/// <summary>Queue record → <see cref="LogLine"/>; one record is one line. Allocates nothing but the list slot.</summary>
public sealed class LogLineDecoder : IRecordDecoder<LogLine>
{
    public bool TryDecode(QueueRecord record, List<(LogLine Item, int Bytes)> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (!LogRecord.TryRead(record.Payload, out _))
        {
            return false;
        }

        into.Add((new LogLine(record.Sequence, record.Payload), record.Payload.Length));
        return true;
    }
}
