using System.Globalization;
using System.Text;
using Flotel.Model.Logs;

namespace Flotel.Model.Tests.Logs;

public sealed class LogTimestampTests
{
    [Fact]
    public void TryFormatUtf8_ManyInstants_SameTextAsTheCustomFormat()
    {
        var random = new Random(20261127);
        Span<byte> buffer = stackalloc byte[32];
        var instants = new List<DateTime>
        {
            DateTime.MinValue, DateTime.MaxValue, new(2022, 5, 12, 20, 22, 1, 494, DateTimeKind.Utc),
            new(2024, 2, 29, 23, 59, 59, 999, DateTimeKind.Utc), new(1999, 12, 31, 0, 0, 0, DateTimeKind.Unspecified),
        };
        for (var i = 0; i < 10_000; i++)
        {
            instants.Add(new DateTime(random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), DateTimeKind.Utc));
        }

        foreach (var instant in instants)
        {
            Assert.True(LogTimestamp.TryFormatUtf8(instant, buffer, out var written));
            Assert.Equal(LogTimestamp.Length, written);
            Assert.Equal(instant.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture), Encoding.UTF8.GetString(buffer[..written]));
            Assert.Equal(LogTimestamp.ToText(instant), Encoding.UTF8.GetString(buffer[..written]));
        }
    }

    [Fact]
    public void TryFormatUtf8_LocalTime_WrittenInUtc()
    {
        var local = new DateTime(2022, 5, 12, 16, 22, 1, 494, DateTimeKind.Local);
        Span<byte> buffer = stackalloc byte[LogTimestamp.Length];
        Assert.True(LogTimestamp.TryFormatUtf8(local, buffer, out _));
        Assert.Equal(local.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture), Encoding.UTF8.GetString(buffer));
    }

    [Fact]
    public void TryFormatUtf8_ShortDestination_FalseAndNothingWritten()
    {
        var buffer = new byte[LogTimestamp.Length - 1];
        Assert.False(LogTimestamp.TryFormatUtf8(DateTime.UtcNow, buffer, out var written));
        Assert.Equal(0, written);
        Assert.All(buffer, b => Assert.Equal(0, b));
    }
}
