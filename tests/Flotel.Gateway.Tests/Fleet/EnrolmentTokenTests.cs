using System.Security.Cryptography;
using Flotel.Gateway.Fleet;

namespace Flotel.Gateway.Tests.Fleet;

public sealed class EnrolmentTokenTests
{
    private static readonly string Pin = new('a', 64);

    [Fact]
    public void Create_TextParsesBack_AndTheStoreGetsOnlyTheSecretsHash()
    {
        var expires = new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);
        var (text, stored) = EnrolmentToken.Create("dev1", expires, Pin);

        var parts = text.Split('.');
        Assert.Equal(["flotel1", stored.Id], parts[..2]);
        Assert.Equal(11, parts[1].Length);
        Assert.Equal(22, parts[2].Length);
        Assert.Equal(Pin, parts[3]);
        var parsed = EnrolmentToken.TryParse(text)!;
        Assert.Equal(stored.Id, parsed.Id);
        Assert.Equal(SHA256.HashData(parsed.Secret), stored.SecretSha256);
        Assert.Equal("dev1", stored.Device);
        Assert.Equal(expires, stored.Expires);
        Assert.DoesNotContain(parts[2], parsed.ToString(), StringComparison.Ordinal);
        Assert.NotEqual(text, EnrolmentToken.Create("dev1", expires, Pin).Text);
    }

    [Theory]
    [InlineData("")]
    [InlineData("flotel2.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("flotel1.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("flotel1.AAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("flotel1.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("flotel1.AAAAAAAAAA=.AAAAAAAAAAAAAAAAAAAAAA.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("flotel1.AAAAAAAAAA*.AAAAAAAAAAAAAAAAAAAAAA.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void TryParse_NotAToken_IsNull(string text) => Assert.Null(EnrolmentToken.TryParse(text));

    [Theory]
    [InlineData("edge-device-1", true)]
    [InlineData("a", true)]
    [InlineData("a.b-c", true)]
    [InlineData("Edge", false)]
    [InlineData("-a", false)]
    [InlineData("a b", false)]
    [InlineData("a,CN=x", false)]
    [InlineData("", false)]
    public void DeviceNames_AreKubernetesNames(string name, bool valid) => Assert.Equal(valid, DeviceNames.IsValid(name));
}
