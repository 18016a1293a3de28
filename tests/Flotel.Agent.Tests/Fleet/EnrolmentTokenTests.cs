using Flotel.Agent.Fleet;

namespace Flotel.Agent.Tests.Fleet;

public sealed class EnrolmentTokenTests
{
    private static readonly string Pin = new('a', 64);

    [Fact]
    public void TryParse_TokenAsTheGatewayPrintsIt_ReadsThePinAndKeepsTheWholeText()
    {
        var text = $"flotel1.q83vEjRWeJA.AAECAwQFBgcICQoLDA0ODw.{Pin}";
        Assert.True(EnrolmentToken.TryParse("  " + text + "\n", out var token, out var error), error);
        Assert.Equal(text, token!.Text);
        Assert.Equal("q83vEjRWeJA", token.Id);
        Assert.Equal(Pin, token.CaSha256);
    }

    [Fact]
    public void ToString_NeverShowsTheSecret()
    {
        Assert.True(EnrolmentToken.TryParse($"flotel1.q83vEjRWeJA.AAECAwQFBgcICQoLDA0ODw.{Pin}", out var token, out _));
        Assert.DoesNotContain("AAECAwQFBgcICQoLDA0ODw", token!.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "has the form")]
    [InlineData("flotel2.q83vEjRWeJA.AAECAwQFBgcICQoLDA0ODw.PIN", "has the form")]
    [InlineData("flotel1.q83vEjRWeJA.AAECAwQFBgcICQoLDA0ODw", "has the form")]
    [InlineData("flotel1.q83vEjRWeJA.AAECAwQFBgcICQoLDA0ODw.PIN.extra", "has the form")]
    [InlineData("flotel1.q83vEjRWeJ.AAECAwQFBgcICQoLDA0ODw.PIN", "ID must be 8 bytes")]
    [InlineData("flotel1.q83vEjRWe+A.AAECAwQFBgcICQoLDA0ODw.PIN", "ID must be 8 bytes")]
    [InlineData("flotel1.q83vEjRWeJA.AAECAwQFBgcICQoLDA0OD=.PIN", "SECRET must be 16 bytes")]
    [InlineData("flotel1.q83vEjRWeJA.AAECAwQFBgcICQoLDA0ODwAA.PIN", "SECRET must be 16 bytes")]
    [InlineData("flotel1.q83vEjRWeJA.AAECAwQFBgcICQoLDA0ODw.ABCDEF", "64 lower-case hex")]
    [InlineData("flotel1.q83vEjRWeJA.AAECAwQFBgcICQoLDA0ODw.UPPER", "64 lower-case hex")]
    public void TryParse_MalformedToken_FalseNamingWhatIsWrong(string text, string expected)
    {
        text = text.Replace("PIN", Pin, StringComparison.Ordinal).Replace("UPPER", Pin.ToUpperInvariant(), StringComparison.Ordinal);
        Assert.False(EnrolmentToken.TryParse(text, out var token, out var error));
        Assert.Null(token);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }
}
