namespace Flotel.Store.Logs;

/// <summary>
/// A search condition as a full-text match to drive from and what each of its rows must meet besides
/// (<see cref="LogQuerySql.Drive"/>): the condition holds for a row exactly when FTS5 finds the row with
/// <paramref name="Match"/> and <paramref name="Rest"/> holds for it. <paramref name="Window"/> is the part of
/// <paramref name="Rest"/> that is a range on <c>@timestamp</c> (the ts index answers it; in an index with block time
/// bounds, <see cref="LogQuerySql.BlockWindow"/> does), or null.
/// </summary>
/// <param name="Match">The FTS5 match argument (a parameter, or an expression of parameters), with <see cref="LogQuerySql.FtsTable"/>.</param>
/// <param name="Rest">A condition on <c>d</c>, <c>1</c> when the match is all there is.</param>
/// <param name="Window">The <c>@timestamp</c> ranges among the rest, ANDed, or null.</param>
internal sealed record LogFullTextDrive(string Match, string Rest, string? Window);
