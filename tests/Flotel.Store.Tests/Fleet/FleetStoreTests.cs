using System.Security.Cryptography;
using System.Text;
using Flotel.Store.Fleet;

namespace Flotel.Store.Tests.Fleet;

public sealed class FleetStoreTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Directory.CreateTempSubdirectory("flotel-fleetstore-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ApplyObjects_NewChangedAndSameYaml_ReportCreatedConfiguredUnchanged()
    {
        using var store = FleetStore.Open(_dir);
        Assert.Equal([FleetApplyResult.Created, FleetApplyResult.Created],
            store.ApplyObjects([Obj("configmap", "a", "x: 1"), Obj("edgedevice", "d", "y: 1")]));
        Assert.Equal([FleetApplyResult.Unchanged, FleetApplyResult.Configured],
            store.ApplyObjects([Obj("configmap", "a", "x: 1", "other.yaml:3"), Obj("edgedevice", "d", "y: 2")]));

        var all = store.ListObjects();
        Assert.Equal(["configmap/a", "edgedevice/d"], all.Select(o => o.Key));
        Assert.Equal("other.yaml:3", all[0].Source);
        Assert.Equal("y: 2", all[1].Yaml);
        Assert.Equal(2, store.CountObjects());
    }

    [Fact]
    public void ApplyObjects_WithTheRolloutRow_StoresBoth_InOneTransaction_FoundAfterReopen()
    {
        using (var store = FleetStore.Open(_dir))
        {
            store.ApplyObjects([Obj("configmap", "a", "x: 1")]);
            IReadOnlyList<FleetObject>? seen = null;
            var results = store.ApplyObjects([Obj("configmap", "a", "x: 2"), Obj("configmap", "b", "y: 1")], (stored, applied) =>
            {
                seen = stored;
                Assert.Equal([FleetApplyResult.Configured, FleetApplyResult.Created], applied);
                return "{\"id\": 1}";
            });

            Assert.Equal([FleetApplyResult.Configured, FleetApplyResult.Created], results);
            Assert.Equal(["configmap/a:x: 2", "configmap/b:y: 1"], seen!.Select(o => o.Key + ":" + o.Yaml));
        }

        using var reopened = FleetStore.Open(_dir);
        Assert.Equal(["x: 2", "y: 1"], reopened.ListObjects().Select(o => o.Yaml));
        Assert.Equal("{\"id\": 1}", reopened.LoadRollout());
    }

    [Fact]
    public void ApplyObjects_RolloutDecisionFails_StoresNeitherTheObjectsNorTheRollout()
    {
        using (var store = FleetStore.Open(_dir))
        {
            store.ApplyObjects([Obj("configmap", "a", "x: 1")]);
            Assert.Throws<InvalidOperationException>(() =>
                store.ApplyObjects([Obj("configmap", "a", "x: 2"), Obj("configmap", "b", "y: 1")], (_, _) => throw new InvalidOperationException("injected")));

            Assert.Equal(["configmap/a:x: 1"], store.ListObjects().Select(o => o.Key + ":" + o.Yaml));
            Assert.Null(store.LoadRollout());
        }

        using var reopened = FleetStore.Open(_dir);
        Assert.Equal(["configmap/a:x: 1"], reopened.ListObjects().Select(o => o.Key + ":" + o.Yaml));
        Assert.Null(reopened.LoadRollout());
    }

    [Fact]
    public void Objects_SurviveReopen_AndDeleteReportsAbsence()
    {
        using (var store = FleetStore.Open(_dir))
        {
            store.ApplyObjects([Obj("secret", "s", "k: v")]);
        }

        using var reopened = FleetStore.Open(_dir);
        Assert.Single(reopened.ListObjects());
        Assert.True(reopened.DeleteObject("secret", "s"));
        Assert.False(reopened.DeleteObject("secret", "s"));
        Assert.Empty(reopened.ListObjects());
    }

    [Fact]
    public void Enroll_ValidToken_IssuesOnceThenSaysAlreadyUsed()
    {
        using var store = FleetStore.Open(_dir);
        var secret = Hash("secret");
        store.AddToken(new FleetToken("id1", secret, "dev1", Now.AddHours(1), null));

        var first = store.Enroll("id1", secret, Now, device => ("cert-for-" + device, new FleetCertificate("01ab", device, Now.AddDays(30), false)));
        Assert.Equal((FleetTokenCheck.Accepted, "cert-for-dev1"), first);
        Assert.Equal(Now, store.GetToken("id1")!.UsedAt);
        Assert.Equal("01ab", Assert.Single(store.CertificatesOf("dev1")).Serial);

        var second = store.Enroll("id1", secret, Now, device => ("again", new FleetCertificate("02ab", device, Now.AddDays(30), false)));
        Assert.Equal(FleetTokenCheck.AlreadyUsed, second.Check);
        Assert.Single(store.CertificatesOf("dev1"));
    }

    [Fact]
    public void Enroll_WrongSecretUnknownIdOrExpired_IssuesNothing()
    {
        using var store = FleetStore.Open(_dir);
        store.AddToken(new FleetToken("id1", Hash("secret"), "dev1", Now.AddHours(1), null));
        var issued = 0;
        (string, FleetCertificate) Issue(string device)
        {
            issued++;
            return ("c", new FleetCertificate("aa", device, Now, false));
        }

        Assert.Equal(FleetTokenCheck.Unknown, store.Enroll("id1", Hash("guess"), Now, Issue).Check);
        Assert.Equal(FleetTokenCheck.Unknown, store.Enroll("nope", Hash("secret"), Now, Issue).Check);
        Assert.Equal(FleetTokenCheck.Expired, store.Enroll("id1", Hash("secret"), Now.AddHours(1), Issue).Check);
        Assert.Equal(0, issued);
        Assert.Null(store.GetToken("id1")!.UsedAt);
    }

    [Fact]
    public void Enroll_IssueThrows_TokenStaysUnused()
    {
        using var store = FleetStore.Open(_dir);
        store.AddToken(new FleetToken("id1", Hash("s"), "dev1", Now.AddHours(1), null));
        Assert.Throws<InvalidOperationException>(() =>
            store.Enroll<string>("id1", Hash("s"), Now, _ => throw new InvalidOperationException("bad csr")));
        Assert.Null(store.GetToken("id1")!.UsedAt);
        Assert.Equal(FleetTokenCheck.Accepted, store.Enroll("id1", Hash("s"), Now, d => ("ok", new FleetCertificate("bb", d, Now, false))).Check);
    }

    [Fact]
    public void RevokeDevice_MarksEveryCertificateOfThatDeviceOnly()
    {
        using var store = FleetStore.Open(_dir);
        store.AddCertificate(new FleetCertificate("01", "a", Now, false));
        store.AddCertificate(new FleetCertificate("02", "a", Now.AddDays(1), false));
        store.AddCertificate(new FleetCertificate("03", "b", Now, false));

        Assert.Equal(["01", "02"], store.RevokeDevice("a").Order(StringComparer.Ordinal));
        Assert.Empty(store.RevokeDevice("a"));
        Assert.Equal(["01", "02"], store.RevokedSerials().Order(StringComparer.Ordinal));
        Assert.All(store.CertificatesOf("a"), c => Assert.True(c.Revoked));
        Assert.False(Assert.Single(store.CertificatesOf("b")).Revoked);
    }

    [Fact]
    public void Devices_BundleAndSeenAreKeptApart()
    {
        using var store = FleetStore.Open(_dir);
        store.SaveBundle("d", 1, "sha256:aa", "yaml1");
        store.SaveSeen([new FleetSeen("d", Now, """{"generation":1}""", "inst"), new FleetSeen("unknown", Now, null, null)]);
        store.SaveBundle("d", 2, "sha256:bb", "yaml2");
        store.SaveSeen([new FleetSeen("d", Now.AddMinutes(1), null, null)]);

        var d = Assert.Single(store.ListDevices());
        Assert.Equal(new FleetDeviceRecord("d", 2, "sha256:bb", "yaml2", Now.AddMinutes(1), """{"generation":1}""", "inst"), d);
        Assert.True(store.DeleteDevice("d"));
        Assert.Empty(store.ListDevices());
    }

    [Fact]
    public void DeleteExpiredTokens_RemovesOnlyExpired()
    {
        using var store = FleetStore.Open(_dir);
        store.AddToken(new FleetToken("old", Hash("a"), "d", Now.AddHours(-1), null));
        store.AddToken(new FleetToken("new", Hash("b"), "d", Now.AddHours(1), null));
        Assert.Equal(1, store.DeleteExpiredTokens(Now));
        Assert.Null(store.GetToken("old"));
        Assert.NotNull(store.GetToken("new"));
    }

    private static FleetObject Obj(string kind, string name, string yaml, string source = "f.yaml:1") => new(kind, name, yaml, source, Now);

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));
}
