using Flotel.Model;
using Flotel.Model.Manifests;

namespace Flotel.Model.Tests;

public sealed class SecretValueTests
{
    [Fact]
    public void ToString_NeverShowsTheValue()
    {
        var secret = new SecretValue("s3cret");
        Assert.Equal("***", secret.ToString());
        Assert.Equal("s3cret", secret.Reveal());
        Assert.DoesNotContain("s3cret", new ReceiverAuthorization("Bearer", secret).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Equals_SameText_EqualSoAChangedCredentialIsAChangedPlan()
    {
        Assert.Equal(new SecretValue("a"), new SecretValue("a"));
        Assert.NotEqual(new SecretValue("a"), new SecretValue("b"));
        Assert.Equal(new ReceiverAuthorization("Basic", new SecretValue("x")), new ReceiverAuthorization("Basic", new SecretValue("x")));
        Assert.NotEqual(new ReceiverAuthorization("Basic", new SecretValue("x")), new ReceiverAuthorization("Basic", new SecretValue("y")));
    }
}
