using Flotel.Cli.Up;

namespace Flotel.Cli.Tests.Up;

public sealed class SystemPackagesTests
{
    private static readonly IReadOnlyList<SystemRequirement> All = SystemPackages.Requirements;

    private static IReadOnlyList<SystemRequirement> Named(params string[] names) => All.Where(r => names.Contains(r.Name)).ToList();

    [Fact]
    public void Missing_FindsEachRequirementByAnyOfItsPaths()
    {
        // catatonit where Fedora puts it, busybox at /bin/busybox, node_exporter under Debian's name; runc absent.
        var present = new HashSet<string>(StringComparer.Ordinal)
        {
            "podman", "/usr/libexec/podman/catatonit", "/bin/busybox", "prometheus-node-exporter", "libssl.so.1.1",
        };
        Assert.Equal(["runc"], SystemPackages.Missing(All, present.Contains).Select(r => r.Name));
        Assert.Equal(All.Select(r => r.Name), SystemPackages.Missing(All, _ => false).Select(r => r.Name));
    }

    [Fact]
    public void Detect_PrefersAptGetThenDnf()
    {
        Assert.Equal(PackageManager.Apt, SystemPackages.Detect(p => p is "apt-get" or "dnf"));
        Assert.Equal(PackageManager.Dnf, SystemPackages.Detect(p => p == "dnf"));
        Assert.Equal(PackageManager.None, SystemPackages.Detect(_ => false));
    }

    [Fact]
    public void Decide_NothingMissing_DoesNothing()
    {
        var plan = SystemPackages.Decide([], PackageManager.Apt, isRoot: true, passwordlessSudo: false, noInstall: false);
        Assert.Equal(InstallDecision.NothingMissing, plan.Decision);
        Assert.Empty(plan.Commands);
    }

    [Fact]
    public void Decide_RootWithApt_UpdatesThenInstallsTheDebianPackages()
    {
        var plan = SystemPackages.Decide(All, PackageManager.Apt, isRoot: true, passwordlessSudo: false, noInstall: false);
        Assert.Equal(InstallDecision.Install, plan.Decision);
        Assert.Equal(["podman", "runc", "catatonit", "busybox-static", "prometheus-node-exporter", "openssl"], plan.Packages);
        Assert.Equal(2, plan.Commands.Count);
        Assert.Equal(["apt-get", "update", "-q"], plan.Commands[0]);
        Assert.Equal(["apt-get", "install", "-y", "-q", "--no-install-recommends", "podman", "runc", "catatonit", "busybox-static", "prometheus-node-exporter", "openssl"], plan.Commands[1]);
        Assert.Equal("apt-get install podman runc catatonit busybox-static prometheus-node-exporter openssl", plan.CommandLine);
    }

    [Fact]
    public void Decide_UserWithPasswordlessSudoAndDnf_InstallsTheFedoraPackagesThroughSudo()
    {
        var plan = SystemPackages.Decide(Named("busybox-static", "node_exporter"), PackageManager.Dnf, isRoot: false, passwordlessSudo: true, noInstall: false);
        Assert.Equal(InstallDecision.Install, plan.Decision);
        Assert.Equal(["sudo", "-n", "dnf", "install", "-y", "-q", "busybox", "golang-github-prometheus-node-exporter"], Assert.Single(plan.Commands));
        Assert.Equal("sudo dnf install busybox golang-github-prometheus-node-exporter", plan.CommandLine);
    }

    [Fact]
    public void Decide_NoInstall_RefusesAndNamesTheCommand()
    {
        var plan = SystemPackages.Decide(Named("podman", "runc"), PackageManager.Apt, isRoot: true, passwordlessSudo: false, noInstall: true);
        Assert.Equal(InstallDecision.Refused, plan.Decision);
        Assert.Empty(plan.Commands);
        Assert.Equal("apt-get install podman runc", plan.CommandLine);
    }

    [Fact]
    public void Decide_UserWhoseSudoAsksForAPassword_IsNotPermittedAndNamesTheSudoCommand()
    {
        var plan = SystemPackages.Decide(Named("podman"), PackageManager.Apt, isRoot: false, passwordlessSudo: false, noInstall: false);
        Assert.Equal(InstallDecision.NotPermitted, plan.Decision);
        Assert.Empty(plan.Commands);
        Assert.Equal("sudo apt-get install podman", plan.CommandLine);
    }

    [Fact]
    public void Decide_NoPackageManager_NamesThePackages()
    {
        var plan = SystemPackages.Decide(Named("runc"), PackageManager.None, isRoot: true, passwordlessSudo: true, noInstall: false);
        Assert.Equal(InstallDecision.NoPackageManager, plan.Decision);
        Assert.Empty(plan.Commands);
        Assert.Contains("runc", plan.CommandLine, StringComparison.Ordinal);
    }

    [Fact]
    public void Exists_OpenSsl_IsFoundAsALibraryOnThisMachine()
    {
        // The test machine runs .NET's TLS and certificates, so its OpenSSL library loads; a made-up one does not.
        Assert.True(SystemPackages.IsLibraryName("libssl.so.3"));
        Assert.False(SystemPackages.IsLibraryName("podman"));
        Assert.False(SystemPackages.IsLibraryName("/usr/lib/libssl.so.3"));
        Assert.Empty(SystemPackages.Missing(Named("OpenSSL"), SystemPackages.Exists));
        Assert.False(SystemPackages.Exists("libflotel-no-such-library.so.7"));
    }

    [Fact]
    public void ParseInstalled_Dpkg_CountsOnlyInstalledPackages()
    {
        // dpkg-query -W -f '${db:Status-Status} ${Package}\n': a removed package whose configuration remains is "config-files".
        var listing = "installed apt\ninstalled libssl3\nconfig-files podman\nhalf-configured runc\n\n";
        Assert.Equal(["apt", "libssl3"], SystemPackages.ParseInstalled(PackageManager.Apt, listing).Order(StringComparer.Ordinal));
        Assert.Equal(["bash", "openssl-libs"], SystemPackages.ParseInstalled(PackageManager.Dnf, "bash\nopenssl-libs\n").Order(StringComparer.Ordinal));
        Assert.Equal(["dpkg-query", "-W", "-f", "${db:Status-Status} ${Package}\\n"], SystemPackages.ListInstalledCommand(PackageManager.Apt));
    }

    [Fact]
    public void Added_NamesTheRequestedPackagesInOrderThenTheirDependenciesSorted()
    {
        var before = new HashSet<string>(StringComparer.Ordinal) { "apt", "bash" };
        var after = new HashSet<string>(StringComparer.Ordinal) { "apt", "bash", "runc", "podman", "crun", "conmon" };
        var (requested, dependencies) = SystemPackages.Added(["podman", "runc"], before, after);
        Assert.Equal(["podman", "runc"], requested);
        Assert.Equal(["conmon", "crun"], dependencies);
    }
}
