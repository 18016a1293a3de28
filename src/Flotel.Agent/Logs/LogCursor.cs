namespace Flotel.Agent.Logs;

/// <summary>
/// Where capture of one container's log stands: every log entry stamped before <see cref="TimestampTicks"/> was taken,
/// and the first <see cref="Count"/> entries stamped exactly at it. libpod's log API stamps entries with whole seconds
/// (RFC 3339), so the count is what tells apart the lines of one second; resuming asks for <c>since=</c> that second and
/// skips the entries already taken. Entries of conmon's k8s-file (nanosecond stamps) are counted per whole second too,
/// so the same cursor resumes either way of reading the log. <see cref="Start"/> = nothing taken yet (the container's
/// whole log is read).
/// </summary>
/// <param name="TimestampTicks">UTC ticks of the last entry taken (0 = none).</param>
/// <param name="Count">Entries taken at exactly that timestamp.</param>
public readonly record struct LogCursor(long TimestampTicks, int Count)
{
    /// <summary>Nothing taken yet.</summary>
    public static LogCursor Start => default;

    /// <summary>True when nothing was taken yet.</summary>
    public bool IsStart => TimestampTicks == 0;

    /// <summary>The cursor after taking one more entry stamped <paramref name="ticks"/>.</summary>
    /// <remarks>An entry stamped earlier than the cursor (the clock went back) leaves it unchanged: on resume such an
    /// entry is skipped as already taken, which is what happened to it.</remarks>
    public LogCursor Advance(long ticks) =>
        ticks > TimestampTicks ? new LogCursor(ticks, 1)
        : ticks == TimestampTicks ? this with { Count = Count + 1 }
        : this;

    /// <summary>Later of two cursors.</summary>
    public static LogCursor Max(LogCursor a, LogCursor b) =>
        a.TimestampTicks != b.TimestampTicks ? (a.TimestampTicks > b.TimestampTicks ? a : b) : (a.Count >= b.Count ? a : b);
}
