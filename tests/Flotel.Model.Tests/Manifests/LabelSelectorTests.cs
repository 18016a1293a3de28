using Flotel.Model.Manifests;

namespace Flotel.Model.Tests.Manifests;

public sealed class LabelSelectorTests
{
    private static readonly Dictionary<string, string> Labels = new(StringComparer.Ordinal) { ["app"] = "foo", ["tier"] = "edge" };

    [Fact]
    public void Matches_EmptySelector_MatchesEverything() => Assert.True(new LabelSelector().Matches(Labels));

    [Fact]
    public void Matches_MatchLabelsSubset_True() =>
        Assert.True(new LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "foo" } }.Matches(Labels));

    [Fact]
    public void Matches_MatchLabelsValueDiffers_False() =>
        Assert.False(new LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "Foo" } }.Matches(Labels));

    [Theory]
    [InlineData("app", LabelSelectorRequirement.In, new[] { "bar", "foo" }, true)]
    [InlineData("app", LabelSelectorRequirement.In, new[] { "bar" }, false)]
    [InlineData("zone", LabelSelectorRequirement.In, new[] { "a" }, false)]
    [InlineData("app", LabelSelectorRequirement.NotIn, new[] { "foo" }, false)]
    [InlineData("zone", LabelSelectorRequirement.NotIn, new[] { "a" }, true)]
    [InlineData("tier", LabelSelectorRequirement.Exists, new string[0], true)]
    [InlineData("zone", LabelSelectorRequirement.Exists, new string[0], false)]
    [InlineData("zone", LabelSelectorRequirement.DoesNotExist, new string[0], true)]
    [InlineData("app", LabelSelectorRequirement.DoesNotExist, new string[0], false)]
    [InlineData("app", "Equals", new[] { "foo" }, false)]
    public void Matches_Expression_KubernetesSemantics(string key, string op, string[] values, bool expected)
    {
        var selector = new LabelSelector { MatchExpressions = [new LabelSelectorRequirement { Key = key, Operator = op, Values = values }] };

        Assert.Equal(expected, selector.Matches(Labels));
    }

    [Fact]
    public void Matches_LabelsAndExpressions_AllMustHold()
    {
        var selector = new LabelSelector
        {
            MatchLabels = new Dictionary<string, string> { ["app"] = "foo" },
            MatchExpressions = [new LabelSelectorRequirement { Key = "tier", Operator = LabelSelectorRequirement.NotIn, Values = ["edge"] }],
        };

        Assert.False(selector.Matches(Labels));
    }
}
