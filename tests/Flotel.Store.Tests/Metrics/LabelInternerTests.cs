using System.Text;
using Flotel.Store.Metrics;

namespace Flotel.Store.Tests.Metrics;

public sealed class LabelInternerTests
{
    [Fact]
    public void Intern_SameTextFromUtf8AndFromString_ReturnsOneObject()
    {
        var strings = new LabelInterner();
        var fromBytes = strings.Intern("edge-0001:9100"u8);
        var fromString = strings.Intern(new string("edge-0001:9100".AsSpan()));
        var again = strings.Intern("edge-0001:9100"u8);

        Assert.Equal("edge-0001:9100", fromBytes);
        Assert.Same(fromBytes, fromString);
        Assert.Same(fromBytes, again);
        Assert.Equal(1, strings.Count);
        Assert.Equal(3, strings.UsesOf("edge-0001:9100"));
    }

    [Fact]
    public void Intern_NonAsciiAndLongText_DecodesUtf8()
    {
        var strings = new LabelInterner();
        var text = "Zürich-東京-" + new string('x', 1000);
        var interned = strings.Intern(Encoding.UTF8.GetBytes(text));

        Assert.Equal(text, interned);
        Assert.Same(interned, strings.Intern(text));
    }

    [Fact]
    public void Release_LastUse_RemovesTheString_EarlierUsesKeepIt()
    {
        var strings = new LabelInterner();
        var a = strings.Intern("job"u8);
        strings.Intern("job"u8);
        strings.Intern("node"u8);

        strings.Release(a);
        Assert.Equal(1, strings.UsesOf("job"));
        Assert.Equal(2, strings.Count);

        strings.Release(a);
        Assert.Equal(0, strings.UsesOf("job"));
        Assert.Equal(1, strings.Count);
        Assert.Throws<InvalidOperationException>(() => strings.Release(a));
    }
}
