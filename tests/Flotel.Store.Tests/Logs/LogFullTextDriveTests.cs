using Flotel.Store.Logs;

namespace Flotel.Store.Tests.Logs;

/// <summary>How <see cref="LogQuerySql.Drive"/> splits a condition into a full-text match to start from and the rest.</summary>
public sealed class LogFullTextDriveTests
{
    private static readonly RangeQuery LastHour = new("@timestamp", null, 1_000L, null, 2_000L);

    [Fact]
    public void Drive_PhraseWithTimestampRange_PhraseCheckAndRangeInTheRestAndRangeAsWindow()
    {
        var parameters = new LogSqlParameters();
        var query = new BoolQuery([new PhraseQuery("message", "request completed")], [LastHour], [], [], null);

        LogFullTextDrive drive = Assert.IsType<LogFullTextDrive>(LogQuerySql.Drive(query, parameters));

        Assert.Contains(LogFullText.CheckFunction, drive.Rest, StringComparison.Ordinal);
        Assert.Contains("d.ts >=", drive.Rest, StringComparison.Ordinal);
        Assert.DoesNotContain("SELECT rowid FROM", drive.Rest, StringComparison.Ordinal);
        Assert.NotNull(drive.Window);
        Assert.Contains("d.ts <=", drive.Window, StringComparison.Ordinal);
        Assert.DoesNotContain(LogFullText.CheckFunction, drive.Window, StringComparison.Ordinal);
    }

    [Fact]
    public void Drive_ShouldOfTerms_OneMatchOfBothAndNothingElse()
    {
        var query = new BoolQuery([], [], [new MatchQuery("message", "slow", false), new MatchQuery("message", "error", false)], [], null);

        LogFullTextDrive drive = Assert.IsType<LogFullTextDrive>(LogQuerySql.Drive(query, new LogSqlParameters()));

        Assert.Contains("') OR ('", drive.Match, StringComparison.Ordinal);
        Assert.Equal("1", drive.Rest);
        Assert.Null(drive.Window);
    }

    [Fact]
    public void Drive_ShouldWithAPhrase_None()
    {
        // A phrase's check cannot be separated from its branch of an OR: the condition is not a match and a rest.
        var query = new BoolQuery([], [], [new PhraseQuery("message", "request completed"), new MatchQuery("message", "error", false)], [], null);

        Assert.Null(LogQuerySql.Drive(query, new LogSqlParameters()));
    }

    [Fact]
    public void Drive_NoFullTextConjunct_None()
    {
        var negatedOnly = new BoolQuery([LastHour], [], [], [new MatchQuery("message", "error", false)], null);

        Assert.Null(LogQuerySql.Drive(negatedOnly, new LogSqlParameters()));
        Assert.Null(LogQuerySql.Drive(new TermsQuery("program", ["sshd"]), new LogSqlParameters()));
    }

    [Fact]
    public void Drive_MustNotBesideAMatch_NegatedInTheRest()
    {
        var query = new BoolQuery([new MatchQuery("message", "alpha", false)], [], [], [new MatchQuery("message", "completed", false)], null);

        LogFullTextDrive drive = Assert.IsType<LogFullTextDrive>(LogQuerySql.Drive(query, new LogSqlParameters()));

        Assert.StartsWith("(NOT (", drive.Rest, StringComparison.Ordinal);
        Assert.Null(drive.Window);
    }
}
