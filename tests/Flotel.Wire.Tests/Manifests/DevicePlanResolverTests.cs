using Flotel.Model;
using Flotel.Model.Manifests;
using Flotel.Wire.Manifests;
using static Flotel.Wire.Tests.Manifests.ManifestTestKit;

namespace Flotel.Wire.Tests.Manifests;

public sealed class DevicePlanResolverTests
{
    private const string CaPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    private static string WithDeviceSpec(string extra) => Replace(Base, "spec:\n  logCollection:\n", "spec:\n" + extra + "  logCollection:\n");

    private static string WithWorkloadSpec(string extra) => Replace(Base, "  type: pod\n", "  type: pod\n" + extra);

    private static string WithSyslogData(string extra) => Replace(Base, "  Address: 127.0.0.1:5140", "  Address: 127.0.0.1:5140\n" + extra);

    private static ManifestDiagnostic OnlyError(DevicePlanResult result) => Single(result.Diagnostics, DiagnosticSeverity.Error);

    // ---- defaults (Flotta's, docs/reference/flotta-device-worker.md §2) ----

    [Fact]
    public void Resolve_BufferSizeAbsent_Is12KiB()
    {
        var result = Resolve(Base);

        Assert.Empty(result.Diagnostics);
        Assert.Equal(FlottaDefaults.BufferSizeKiB, result.Plan!.LogTargets[0].BufferSizeKiB);
        Assert.Equal(12, FlottaDefaults.BufferSizeKiB);
    }

    [Fact]
    public void Resolve_BufferSizeZero_Is12KiB()
    {
        var result = Resolve(Replace(Base, "kind: syslog\n", "kind: syslog\n      bufferSize: 0\n"));

        Assert.Empty(result.Diagnostics);
        Assert.Equal(12, result.Plan!.LogTargets[0].BufferSizeKiB);
        Assert.Equal(12 * 1024, result.Plan.LogTargets[0].BufferSizeBytes);
    }

    [Fact]
    public void Resolve_NoMetrics_ReceiverOffWithFlottaDefaults()
    {
        var plan = Resolve(Base).Plan!;

        Assert.False(plan.MetricsReceiver.IsEnabled);
        Assert.Equal(30000, plan.MetricsReceiver.RequestNumSamples);
        Assert.Equal(10, plan.MetricsReceiver.TimeoutSeconds);
        Assert.False(plan.SystemMetrics.Disabled);
        Assert.Equal(60, plan.SystemMetrics.IntervalSeconds);
        Assert.Same(FlottaDefaults.SystemAllowList, plan.SystemMetrics.AllowList);
        Assert.Equal(168, plan.Retention.MaxHours);
        Assert.Equal(0, plan.Retention.MaxMiB);
    }

    [Fact]
    public void Resolve_ZeroValues_MeanFlottaDefaults()
    {
        var yaml = WithDeviceSpec("""
              metrics:
                receiverConfiguration:
                  url: http://127.0.0.1:9201/api/v1/write
                  requestNumSamples: 0
                  timeoutSeconds: 0
                system:
                  interval: 0
                retention:
                  maxHours: 0
                  maxMiB: 0

            """);

        var result = Resolve(yaml);

        Assert.Empty(result.Diagnostics);
        var plan = result.Plan!;
        Assert.True(plan.MetricsReceiver.IsEnabled);
        Assert.Equal(30000, plan.MetricsReceiver.RequestNumSamples);
        Assert.Equal(10, plan.MetricsReceiver.TimeoutSeconds);
        Assert.Equal(60, plan.SystemMetrics.IntervalSeconds);
        Assert.Equal(12, plan.SystemMetrics.AllowList.Count);
        Assert.Equal(7 * 24, plan.Retention.MaxHours);
    }

    [Fact]
    public void Resolve_ExplicitValues_OverrideDefaults()
    {
        var plan = Resolve(WithDeviceSpec("""
              metrics:
                receiverConfiguration:
                  url: http://127.0.0.1:9201/api/v1/write
                  requestNumSamples: 500
                  timeoutSeconds: 3
                system:
                  interval: 15
                  disabled: true
                retention:
                  maxHours: 24
                  maxMiB: 200

            """)).Plan!;

        Assert.Equal(500, plan.MetricsReceiver.RequestNumSamples);
        Assert.Equal(3, plan.MetricsReceiver.TimeoutSeconds);
        Assert.Equal(15, plan.SystemMetrics.IntervalSeconds);
        Assert.True(plan.SystemMetrics.Disabled);
        Assert.Equal(24, plan.Retention.MaxHours);
        Assert.Equal(200, plan.Retention.MaxMiB);
    }

    [Fact]
    public void Resolve_NegativeRequestNumSamples_ErrorQuotesKey()
    {
        var yaml = WithDeviceSpec("  metrics:\n    receiverConfiguration:\n      requestNumSamples: -5\n");

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("spec.metrics.receiverConfiguration.requestNumSamples", error.FieldPath);
        Assert.Equal(LineOf(yaml, "requestNumSamples: -5"), error.Line);
        Assert.StartsWith("`requestNumSamples` must be", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_WorkloadMetricsDefaults_PathSlashInterval60EverythingAllowed()
    {
        var plan = Resolve(WithWorkloadSpec("  metrics:\n    port: 9100\n")).Plan!;

        var metrics = plan.Workloads[0].Metrics!;
        Assert.Equal("/", metrics.Path);
        Assert.Equal(9100, metrics.Port);
        Assert.Equal(60, metrics.IntervalSeconds);
        Assert.Null(metrics.AllowList);
    }

    [Fact]
    public void Resolve_WorkloadMetricsPortZero_NotScrapedWithWarning()
    {
        var yaml = WithWorkloadSpec("  metrics:\n    path: /metrics\n");

        var result = Resolve(yaml);

        Assert.Null(result.Plan!.Workloads[0].Metrics);
        var warning = Single(result.Diagnostics, DiagnosticSeverity.Warning);
        Assert.Equal("spec.metrics.port", warning.FieldPath);
        Assert.False(result.HasErrors);
    }

    [Fact]
    public void Resolve_WorkloadContainerOverrides_DisabledAndPathDefaultAndPortInherited()
    {
        var plan = Resolve(WithWorkloadSpec("  metrics:\n    port: 8080\n    interval: 30\n    containers:\n      c1:\n        port: 9000\n      c2:\n        disabled: true\n")).Plan!;

        var metrics = plan.Workloads[0].Metrics!;
        Assert.Equal(30, metrics.IntervalSeconds);
        Assert.Equal(9000, metrics.Containers["c1"].Port);
        Assert.Equal("/", metrics.Containers["c1"].Path);
        Assert.True(metrics.Containers["c2"].Disabled);
        Assert.Equal(8080, metrics.Containers["c2"].Port);
    }

    [Fact]
    public void Resolve_WorkloadMetricsPathWithoutSlash_Error()
    {
        var yaml = WithWorkloadSpec("  metrics:\n    port: 8080\n    path: metrics\n");

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("spec.metrics.path", error.FieldPath);
        Assert.Equal(LineOf(yaml, "path: metrics"), error.Line);
    }

    // ---- allow lists (docs/reference/flotta-device-worker.md §4.5) ----

    [Fact]
    public void FlottaDefaults_SystemAllowList_HasTheTwelveDeviceWorkerNames()
    {
        var list = FlottaDefaults.SystemAllowList;

        Assert.Equal(12, list.Count);
        Assert.Equal(12, list.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains("node_cpu_frequency_hertz", list);
        Assert.Contains("node_memory_MemAvailable_bytes", list);
        Assert.Contains("node_network_transmit_bytes_total", list);
        Assert.All(list, n => Assert.StartsWith("node_", n, StringComparison.Ordinal));
    }

    private const string AllowListCm = "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: allow\ndata:\n  metrics_list.yaml: |\n";

    [Fact]
    public void Resolve_SystemAllowList_NamesFromConfigMap()
    {
        var yaml = WithDeviceSpec("  metrics:\n    system:\n      allowList:\n        name: allow\n") + AllowListCm + "    names:\n      - a_total\n      - b_bytes\n";

        var result = Resolve(yaml);

        Assert.Empty(result.Diagnostics);
        Assert.Equal(["a_total", "b_bytes"], result.Plan!.SystemMetrics.AllowList);
        Assert.Equal("allow", result.Plan.SystemMetrics.AllowListName);
    }

    [Theory]
    [InlineData("    names: []\n")]
    [InlineData("    names:\n")]
    [InlineData("    # nothing\n")]
    public void Resolve_EmptyAllowList_BlocksEverythingWithWarning(string inner)
    {
        // Flotta: NewRestrictiveAllowList with no names matches nothing (DW test "workload has metrics AllowList empty").
        var yaml = WithDeviceSpec("  metrics:\n    system:\n      allowList:\n        name: allow\n") + AllowListCm + inner;

        var result = Resolve(yaml);

        Assert.False(result.HasErrors);
        Assert.Empty(result.Plan!.SystemMetrics.AllowList);
        var warning = Single(result.Diagnostics, DiagnosticSeverity.Warning);
        Assert.Equal("data.metrics_list.yaml", warning.FieldPath);
        Assert.Equal(LineOf(yaml, "metrics_list.yaml: |"), warning.Line);
    }

    [Fact]
    public void Resolve_WorkloadEmptyAllowList_IsEmptyNotPermissive()
    {
        var yaml = WithWorkloadSpec("  metrics:\n    port: 8080\n    allowList:\n      name: allow\n") + AllowListCm + "    names: []\n";

        var metrics = Resolve(yaml).Plan!.Workloads[0].Metrics!;

        Assert.NotNull(metrics.AllowList);
        Assert.Empty(metrics.AllowList);
    }

    [Fact]
    public void Resolve_AllowListConfigMapMissing_ErrorAtReference()
    {
        var yaml = WithDeviceSpec("  metrics:\n    system:\n      allowList:\n        name: nope\n");

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("spec.metrics.system.allowList.name", error.FieldPath);
        Assert.Equal(LineOf(yaml, "name: nope"), error.Line);
        Assert.Contains("ConfigMap default/nope not found", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_AllowListKeyMissing_ErrorAtConfigMap()
    {
        var yaml = WithDeviceSpec("  metrics:\n    system:\n      allowList:\n        name: allow\n") + "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: allow\ndata:\n  metrics.yaml: 'names: [a]'\n";

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("data", error.FieldPath);
        Assert.Equal(LineOf(yaml, "  metrics.yaml: 'names") - 1, error.Line); // the ConfigMap's `data:` line
        Assert.Contains("metrics_list.yaml not found in default/allow config map", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_AllowListInnerYamlBroken_ErrorAtConfigMapKeyWithInnerLine()
    {
        var yaml = WithDeviceSpec("  metrics:\n    system:\n      allowList:\n        name: allow\n") + AllowListCm + "    names:\n      - ok\n      - [broken\n";

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("data.metrics_list.yaml", error.FieldPath);
        Assert.Equal(LineOf(yaml, "metrics_list.yaml: |"), error.Line);
        Assert.Contains("metrics_list.yaml line ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_AllowListNamesNotStrings_Error()
    {
        var yaml = WithDeviceSpec("  metrics:\n    system:\n      allowList:\n        name: allow\n") + AllowListCm + "    names:\n      - {a: 1}\n";

        var error = OnlyError(Resolve(yaml));

        Assert.Contains("metrics_list.yaml line 2: names[0]: expected a string", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_WorkloadAllowList_ResolvedInWorkloadNamespace()
    {
        // Device and workload in namespace "edge"; the allow list exists only in "default".
        var yaml = Replace(Replace(Replace(Base, "  name: dev1\n", "  name: dev1\n  namespace: edge\n"), "  name: syslog-cm\n", "  name: syslog-cm\n  namespace: edge\n"), "  name: wl1\n", "  name: wl1\n  namespace: edge\n");
        yaml = Replace(yaml, "  type: pod\n", "  type: pod\n  metrics:\n    port: 8080\n    allowList:\n      name: allow\n") + AllowListCm + "    names: [a]\n";

        var error = OnlyError(Resolve(yaml));

        Assert.Contains("ConfigMap edge/allow not found", error.Message, StringComparison.Ordinal);
        Assert.Empty(Resolve(yaml).Plan!.Workloads);
    }

    // ---- log targets: dangling references (docs/reference/flotta-device-worker.md §2.5) ----

    [Fact]
    public void Resolve_WorkloadUnknownTarget_ErrorAtWorkloadLogCollection()
    {
        var yaml = Replace(Base, "  logCollection: syslog1", "  logCollection: nope");

        var result = Resolve(yaml);

        var error = OnlyError(result);
        Assert.Equal($"test.yaml:{LineOf(yaml, "logCollection: nope")}: spec.logCollection: unknown log target \"nope\": EdgeDevice dev1 spec.logCollection defines syslog1", error.ToString());
        Assert.Empty(result.Plan!.Workloads);
        Assert.Single(result.Plan.LogTargets);
    }

    [Fact]
    public void Resolve_SyslogConfigMapMissing_ErrorAtDeviceReference()
    {
        var yaml = Replace(Base, "    name: syslog-cm\n", "    name: missing-cm\n");

        var result = Resolve(yaml);

        var error = OnlyError(result);
        Assert.Equal("spec.logCollection.syslog1.syslogConfig.name", error.FieldPath);
        Assert.Equal(LineOf(yaml, "name: missing-cm"), error.Line);
        Assert.Equal("ConfigMap default/missing-cm not found", error.Message);
        Assert.Empty(result.Plan!.LogTargets);
        Assert.Empty(result.Plan.Workloads);
    }

    [Fact]
    public void Resolve_SyslogConfigMapInOtherNamespace_NotFound()
    {
        var yaml = Replace(Base, "  name: syslog-cm\n", "  name: syslog-cm\n  namespace: elsewhere\n");

        Assert.Contains("ConfigMap default/syslog-cm not found", OnlyError(Resolve(yaml)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_AddressMissing_ErrorAtConfigMap()
    {
        var yaml = Replace(Base, "  Address: 127.0.0.1:5140", "  Protocol: udp");

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("data.Address", error.FieldPath);
        Assert.Equal(LineOf(yaml, "  Protocol: udp") - 1, error.Line); // the ConfigMap's `data:` line
        Assert.StartsWith("`Address` is required", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("'127.0.0.1:'")]
    [InlineData(":5140")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("127.0.0.1:51x0")]
    [InlineData("::1:5140")]
    [InlineData("'[::1:5140'")]
    [InlineData("bad host:5140")]
    public void Resolve_BadAddress_ErrorAtAddressLine(string address)
    {
        var yaml = Replace(Base, "Address: 127.0.0.1:5140", "Address: " + address);

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("data.Address", error.FieldPath);
        Assert.Equal(LineOf(yaml, "Address: "), error.Line);
        Assert.StartsWith("`Address` ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("collector.example:514", "collector.example", 514)]
    [InlineData("'[::1]:6514'", "::1", 6514)]
    [InlineData("10.0.0.7:65535", "10.0.0.7", 65535)]
    public void Resolve_GoodAddress_HostAndPort(string address, string host, int port)
    {
        var target = Resolve(Replace(Base, "Address: 127.0.0.1:5140", "Address: " + address)).Plan!.LogTargets[0];

        Assert.Equal(host, target.Host);
        Assert.Equal(port, target.Port);
    }

    [Theory]
    [InlineData("TCP")]
    [InlineData("http")]
    [InlineData("relp")]
    public void Resolve_BadProtocol_ErrorAtProtocolLine(string protocol)
    {
        var yaml = WithSyslogData("  Protocol: " + protocol);

        var result = Resolve(yaml);

        var error = OnlyError(result);
        Assert.Equal($"test.yaml:{LineOf(yaml, "Protocol: ")}: data.Protocol: `Protocol` must be tcp, udp or tls, got \"{protocol}\"", error.ToString());
        Assert.Empty(result.Plan!.LogTargets);
    }

    [Theory]
    [InlineData("", SyslogProtocol.Tcp)]
    [InlineData("  Protocol: tcp", SyslogProtocol.Tcp)]
    [InlineData("  Protocol: udp", SyslogProtocol.Udp)]
    public void Resolve_Protocol_TcpDefaultUdp(string line, SyslogProtocol expected)
    {
        var result = Resolve(line.Length == 0 ? Base : WithSyslogData(line));

        Assert.Empty(result.Diagnostics);
        Assert.Equal(expected, result.Plan!.LogTargets[0].Protocol);
    }

    [Fact]
    public void Resolve_FormatRfc5424_Parsed()
    {
        Assert.Equal(SyslogFormat.Rfc5424, Resolve(WithSyslogData("  Format: rfc5424")).Plan!.LogTargets[0].Format);
    }

    [Fact]
    public void Resolve_BadFormat_Error()
    {
        var yaml = WithSyslogData("  Format: json");

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("data.Format", error.FieldPath);
        Assert.Equal(LineOf(yaml, "Format: json"), error.Line);
    }

    [Fact]
    public void Resolve_TargetKindNotSyslog_Error()
    {
        var yaml = Replace(Base, "kind: syslog", "kind: fluentd");

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("spec.logCollection.syslog1.kind", error.FieldPath);
        Assert.Equal(LineOf(yaml, "kind: fluentd"), error.Line);
    }

    [Fact]
    public void Resolve_TargetWithoutSyslogConfig_Error()
    {
        var yaml = Replace(Base, "      syslogConfig:\n        name: syslog-cm\n", string.Empty);

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("spec.logCollection.syslog1", error.FieldPath);
        Assert.Equal(LineOf(yaml, "syslog1:"), error.Line);
    }

    [Fact]
    public void Resolve_UnknownSyslogConfigMapKey_Warning()
    {
        var yaml = WithSyslogData("  protocol: udp");

        var warning = Single(Resolve(yaml).Diagnostics, DiagnosticSeverity.Warning);

        Assert.Equal("data.protocol", warning.FieldPath);
        Assert.Equal(LineOf(yaml, "protocol: udp"), warning.Line);
    }

    // ---- TLS and CA Secrets ----

    private static string Secret(string name, string key, string value) =>
        $"\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ndata:\n  {key}: {value}\n";

    private static string B64(string s) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s));

    private static string WithReceiverAuth(string url, string secretName) =>
        WithDeviceSpec($"  metrics:\n    receiverConfiguration:\n      url: {url}\n      authSecretName: {secretName}\n");

    [Fact]
    public void Resolve_ReceiverAuthSecretWithToken_BearerAuthorizationNotShownInText()
    {
        var yaml = WithReceiverAuth("https://metrics.example:9201/api/v1/write", "rw") + Secret("rw", "token", B64("s3cr3t\n"));

        var result = Resolve(yaml);

        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        var receiver = result.Plan!.MetricsReceiver;
        Assert.Equal(new ReceiverAuthorization("Bearer", new SecretValue("s3cr3t")), receiver.Authorization);
        Assert.Equal("rw", receiver.AuthSecretName);
        Assert.DoesNotContain("s3cr3t", receiver.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_ReceiverAuthSecretWithUserAndPasswordOverHttp_BasicAuthorizationAndPlainHttpWarning()
    {
        var yaml = WithReceiverAuth("http://127.0.0.1:9201/api/v1/write", "rw")
            + "\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: rw\ndata:\n  username: " + B64("flotta") + "\n  password: " + B64("pa:ss") + "\n";

        var result = Resolve(yaml);

        Assert.Equal(new ReceiverAuthorization("Basic", new SecretValue(B64("flotta:pa:ss"))), result.Plan!.MetricsReceiver.Authorization);
        var warning = Single(result.Diagnostics, DiagnosticSeverity.Warning);
        Assert.Equal("spec.metrics.receiverConfiguration.authSecretName", warning.FieldPath);
    }

    [Theory]
    [InlineData("missing", null)]
    [InlineData("rw", "password")]
    public void Resolve_ReceiverAuthSecretMissingOrIncomplete_ErrorNamesTheSecret(string secretName, string? onlyKey)
    {
        var yaml = WithReceiverAuth("https://metrics.example/api/v1/write", secretName) + (onlyKey is null ? string.Empty : Secret("rw", onlyKey, B64("x")));

        var error = OnlyError(Resolve(yaml));

        Assert.Contains(secretName == "missing" ? "Secret default/missing not found" : "must hold either `token`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_TlsWithCaSecret_PemResolved()
    {
        var yaml = WithSyslogData("  Protocol: tls\n  CaSecretName: ca") + Secret("ca", "ca.crt", B64(CaPem));

        var result = Resolve(yaml);

        Assert.Empty(result.Diagnostics);
        var target = result.Plan!.LogTargets[0];
        Assert.Equal(SyslogProtocol.Tls, target.Protocol);
        Assert.Equal("ca", target.CaSecretName);
        Assert.Equal(CaPem, target.CaCertificatePem);
    }

    [Fact]
    public void Resolve_TlsCaSecretMissing_ErrorAtCaSecretName()
    {
        var yaml = WithSyslogData("  Protocol: tls\n  CaSecretName: nope");

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("data.CaSecretName", error.FieldPath);
        Assert.Equal(LineOf(yaml, "CaSecretName: nope"), error.Line);
        Assert.Equal("Secret default/nope not found", error.Message);
    }

    [Fact]
    public void Resolve_TlsCaSecretWithoutCaCrt_ErrorAtSecret()
    {
        var yaml = WithSyslogData("  Protocol: tls\n  CaSecretName: ca") + Secret("ca", "tls.crt", B64(CaPem));

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("missing key 'ca.crt' in Secret default/ca", error.Message);
        Assert.Equal(LineOf(yaml, "tls.crt:") - 1, error.Line);
    }

    [Fact]
    public void Resolve_CaCrtNotPem_Error()
    {
        var yaml = WithSyslogData("  Protocol: tls\n  CaSecretName: ca") + Secret("ca", "ca.crt", B64("hello"));

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("data.ca.crt", error.FieldPath);
        Assert.Equal(LineOf(yaml, "ca.crt:"), error.Line);
    }

    [Fact]
    public void Resolve_CaSecretBadBase64_ErrorNamesSecretKey()
    {
        var yaml = WithSyslogData("  Protocol: tls\n  CaSecretName: ca") + Secret("ca", "ca.crt", "not*base64!");

        var result = Resolve(yaml);

        Assert.Contains(result.Diagnostics, d => d.IsError && d.FieldPath == "data.ca.crt" && d.Line == LineOf(yaml, "ca.crt: not*base64!") && d.Message.Contains("base64", StringComparison.Ordinal));
        Assert.Empty(result.Plan!.LogTargets);
    }

    [Fact]
    public void Resolve_CaSecretNameWithTcp_WarningIgnored()
    {
        var result = Resolve(WithSyslogData("  CaSecretName: ca"));

        Assert.False(result.HasErrors);
        Assert.Equal("data.CaSecretName", Single(result.Diagnostics, DiagnosticSeverity.Warning).FieldPath);
        Assert.Null(result.Plan!.LogTargets[0].CaSecretName);
    }

    [Fact]
    public void Resolve_ReceiverHttpsWithCaSecret_PemResolved()
    {
        var yaml = WithDeviceSpec("  metrics:\n    receiverConfiguration:\n      url: https://thanos.example/api/v1/write\n      caSecretName: rca\n") + Secret("rca", "ca.crt", B64(CaPem));

        var result = Resolve(yaml);

        Assert.Empty(result.Diagnostics);
        Assert.Equal(CaPem, result.Plan!.MetricsReceiver.CaCertificatePem);
    }

    [Fact]
    public void Resolve_ReceiverCaSecretMissing_ErrorAtCaSecretName()
    {
        var yaml = WithDeviceSpec("  metrics:\n    receiverConfiguration:\n      url: https://thanos.example/api/v1/write\n      caSecretName: rca\n");

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("spec.metrics.receiverConfiguration.caSecretName", error.FieldPath);
        Assert.Equal(LineOf(yaml, "caSecretName: rca"), error.Line);
    }

    [Theory]
    [InlineData("127.0.0.1:9201/api/v1/write")]
    [InlineData("ftp://127.0.0.1/x")]
    [InlineData("/api/v1/write")]
    public void Resolve_ReceiverBadUrl_Error(string url)
    {
        var yaml = WithDeviceSpec($"  metrics:\n    receiverConfiguration:\n      url: {url}\n");

        var error = OnlyError(Resolve(yaml));

        Assert.Equal("spec.metrics.receiverConfiguration.url", error.FieldPath);
        Assert.Equal(LineOf(yaml, "url: "), error.Line);
    }

    // ---- device choice and workload selection ----

    [Fact]
    public void Resolve_NoDevice_Error()
    {
        var result = DevicePlanResolver.Resolve(Load("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"), null, "dir");

        Assert.Null(result.Plan);
        Assert.True(result.HasErrors);
        Assert.Equal("dir: no EdgeDevice found in the manifests", OnlyError(result).ToString());
    }

    [Fact]
    public void Resolve_TwoDevicesWithoutName_ErrorListsThem()
    {
        var yaml = Base + "\n---\napiVersion: management.project-flotta.io/v1alpha1\nkind: EdgeDevice\nmetadata:\n  name: dev2\n";

        var error = OnlyError(Resolve(yaml));

        Assert.Contains("default/dev1, default/dev2", error.Message, StringComparison.Ordinal);
        Assert.Contains("--device", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_TwoDevicesByName_PicksThatDevice()
    {
        var yaml = Base + "\n---\napiVersion: management.project-flotta.io/v1alpha1\nkind: EdgeDevice\nmetadata:\n  name: dev2\n";

        var result = Resolve(yaml, "dev2");

        Assert.Empty(result.Diagnostics);
        Assert.Equal("dev2", result.Plan!.DeviceName);
        Assert.Empty(result.Plan.Workloads); // dev2 has no labels
        Assert.Equal(["wl1"], result.Plan.NotSelectedWorkloads);
    }

    [Fact]
    public void Resolve_UnknownDeviceName_Error()
    {
        Assert.Contains("\"nope\" not found", OnlyError(Resolve(Base, "nope")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("    matchLabels:\n      app: foo\n", true)]
    [InlineData("    matchLabels:\n      app: bar\n", false)]
    [InlineData("    matchLabels:\n      app: foo\n      tier: edge\n", false)]
    [InlineData("    matchExpressions:\n      - key: app\n        operator: In\n        values: [bar, foo]\n", true)]
    [InlineData("    matchExpressions:\n      - key: app\n        operator: NotIn\n        values: [foo]\n", false)]
    [InlineData("    matchExpressions:\n      - key: tier\n        operator: NotIn\n        values: [edge]\n", true)]
    [InlineData("    matchExpressions:\n      - key: app\n        operator: Exists\n", true)]
    [InlineData("    matchExpressions:\n      - key: app\n        operator: DoesNotExist\n", false)]
    [InlineData("    matchLabels:\n      app: foo\n    matchExpressions:\n      - key: tier\n        operator: Exists\n", false)]
    [InlineData("    {}\n", true)]
    public void Resolve_DeviceSelector_MatchesLikeKubernetes(string selector, bool selected)
    {
        var yaml = Replace(Base, "    matchLabels:\n      app: foo\n", selector);

        var result = Resolve(yaml);

        Assert.Empty(result.Diagnostics);
        Assert.Equal(selected, result.Plan!.Workloads.Count == 1);
        Assert.Equal(!selected, result.Plan.NotSelectedWorkloads.Contains("wl1"));
    }

    [Fact]
    public void Resolve_SpecDevice_TakesPrecedenceOverSelector()
    {
        var yaml = Replace(Base, "    matchLabels:\n      app: foo\n", "    matchLabels:\n      app: bar\n  device: dev1\n");

        Assert.Single(Resolve(yaml).Plan!.Workloads);
    }

    [Fact]
    public void Resolve_NoSelectorNoDevice_NotSelectedWithWarning()
    {
        var yaml = Replace(Base, "  deviceSelector:\n    matchLabels:\n      app: foo\n", string.Empty);

        var result = Resolve(yaml);

        Assert.Empty(result.Plan!.Workloads);
        Assert.Equal("spec.deviceSelector", Single(result.Diagnostics, DiagnosticSeverity.Warning).FieldPath);
    }

    [Fact]
    public void Resolve_WorkloadInOtherNamespace_NotSelectedWithWarning()
    {
        var yaml = Replace(Base, "  name: wl1\n", "  name: wl1\n  namespace: other\n");

        var result = Resolve(yaml);

        Assert.Empty(result.Plan!.Workloads);
        var warning = Single(result.Diagnostics, DiagnosticSeverity.Warning);
        Assert.Equal("metadata.namespace", warning.FieldPath);
        Assert.Equal(LineOf(yaml, "namespace: other"), warning.Line);
    }

    [Fact]
    public void Resolve_WorkloadTypeNotPod_Error()
    {
        var yaml = Replace(Base, "type: pod", "type: vm");

        var result = Resolve(yaml);

        Assert.Equal("spec.type", OnlyError(result).FieldPath);
        Assert.Empty(result.Plan!.Workloads);
    }

    [Fact]
    public void Resolve_WorkloadWithLoadError_ExcludedFromPlan()
    {
        var result = Resolve(Replace(Base, "\n          image: localhost/busybox:local", string.Empty));

        Assert.True(result.HasErrors);
        Assert.Empty(result.Plan!.Workloads);
    }

    [Fact]
    public void Resolve_WorkloadWithoutLogCollection_RunsWithoutLogTarget()
    {
        var result = Resolve(Replace(Base, "  logCollection: syslog1\n", string.Empty));

        Assert.Empty(result.Diagnostics);
        Assert.Null(result.Plan!.Workloads[0].LogTarget);
    }

    [Fact]
    public void Resolve_MultiDocFixture_EverythingResolved()
    {
        var result = DevicePlanResolver.Resolve(ManifestLoader.LoadDirectory(DataDirectory("multi-doc")), null);

        Assert.Empty(result.Diagnostics);
        var plan = result.Plan!;
        var target = Assert.Single(plan.LogTargets);
        Assert.Equal((SyslogProtocol.Tls, SyslogFormat.Rfc5424, "::1", 6514, 64), (target.Protocol, target.Format, target.Host, target.Port, target.BufferSizeKiB));
        Assert.Contains("MIIBsyslog", target.CaCertificatePem, StringComparison.Ordinal);
        Assert.Contains("MIIBreceiver", plan.MetricsReceiver.CaCertificatePem, StringComparison.Ordinal);
        Assert.Equal((5000, 3), (plan.MetricsReceiver.RequestNumSamples, plan.MetricsReceiver.TimeoutSeconds));
        Assert.Equal((24, 200L), (plan.Retention.MaxHours, plan.Retention.MaxMiB));
        var workload = Assert.Single(plan.Workloads);
        Assert.Same(target, workload.LogTarget);
        Assert.Equal([new KeyValuePair<string, string>("MODE", "fast")], workload.Pod.Containers[0].Env);
        Assert.Equal((8080, 18080), (workload.Pod.Containers[0].Ports[0].ContainerPortNumber, workload.Pod.Containers[0].Ports[0].HostPort));
        Assert.Equal("/metrics", workload.Metrics!.Containers["main"].Path);
        Assert.True(workload.Metrics.Containers["sidecar"].Disabled);
    }
}
