using Flotel.Model.Manifests;

namespace Flotel.Model.Tests.Manifests;

public sealed class ManifestSourceTests
{
    private static readonly ManifestSource Source = new("dir/device.yaml", 3, new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["spec"] = 8,
        ["spec.logCollection"] = 9,
        ["spec.logCollection.t1"] = 10,
        ["spec.logCollection.t1.bufferSize"] = 11,
        ["spec.pod.spec.containers"] = 20,
        ["spec.pod.spec.containers[0]"] = 21,
    });

    [Fact]
    public void LineOf_PresentField_ItsLine() => Assert.Equal(11, Source.LineOf("spec.logCollection.t1.bufferSize"));

    [Fact]
    public void LineOf_AbsentField_NearestParentLine() => Assert.Equal(10, Source.LineOf("spec.logCollection.t1.syslogConfig.name"));

    [Fact]
    public void LineOf_AbsentIndexedField_ParentItemLine() => Assert.Equal(21, Source.LineOf("spec.pod.spec.containers[0].image"));

    [Fact]
    public void LineOf_NothingKnown_DocumentLine() => Assert.Equal(3, Source.LineOf("data.Address"));
}
