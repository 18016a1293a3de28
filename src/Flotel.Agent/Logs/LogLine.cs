namespace Flotel.Agent.Logs;

/// <summary>A buffered line handed to the forwarder: its queue sequence id (gaps = lines dropped by a full buffer) and its <see cref="LogRecord"/> bytes.</summary>
public readonly record struct LogLine(long Sequence, ReadOnlyMemory<byte> Payload);
