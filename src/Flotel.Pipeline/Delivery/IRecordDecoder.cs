using Flotel.Pipeline.Queue;

namespace Flotel.Pipeline.Delivery;

/// <summary>Turns one durable queue record into the output's items (a record may hold many: a remote-write body, a
/// block of syslog frames).</summary>
public interface IRecordDecoder<T>
{
    /// <summary>
    /// Adds the record's items to <paramref name="into"/> with their approximate encoded sizes; returns false when the
    /// record cannot be decoded (counted by the driver as <c>undecodable</c> and skipped — it can never succeed).
    /// </summary>
    bool TryDecode(QueueRecord record, List<(T Item, int Bytes)> into);
}
