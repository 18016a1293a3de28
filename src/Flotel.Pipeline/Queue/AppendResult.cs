namespace Flotel.Pipeline.Queue;

/// <summary>The sequence ids given to the records of one append; both bounds are inclusive and durable.</summary>
/// <param name="FirstSequence">Sequence id of the first record of the append.</param>
/// <param name="LastSequence">Sequence id of the last record (equal to <paramref name="FirstSequence"/> for a single append).</param>
public readonly record struct AppendResult(long FirstSequence, long LastSequence);
