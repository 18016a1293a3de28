using System.Globalization;
using System.Text;
using Flotel.Gateway.Configuration;

namespace Flotel.Gateway.Tests.Configuration;

/// <summary>
/// The loader's whole answer (every diagnostic line, then every option) for a fixed list of inputs, compared with
/// <c>Data/Configuration/loader-answers.txt</c>. The file was written by the hand-written loader that preceded the
/// declaration-driven one (the <c>outputs:</c> cases, with every property of each output's options, by the per-type
/// readers); a difference is a change of behaviour or of an error text, to be made on purpose (edit the file by hand, and
/// say why in the commit).
/// </summary>
public sealed class GatewayConfigLoaderAnswersTests
{
    /// <summary>
    /// Inputs; <c>@DIR@</c> is a directory holding <c>cert.pem</c>, <c>key.pem</c> and <c>ca.pem</c> (each the text "x")
    /// and <c>realca.pem</c> (a CA certificate in PEM).
    /// </summary>
    private static readonly string[] Cases =
    [
        "",
        "# only a comment\n",
        "http: 5\n",
        "http:\n  address: nohost\n",
        "http:\n  address: [a]\n",
        "http:\n  address:\n",
        "http: ~\n",
        "http:\n  address: 127.0.0.1:0\n  maxBodyBytes: 2048\n  maxConnections: 3\n  keepAliveTimeoutSeconds: 3600\n  requestHeadersTimeoutSeconds: 600\n",
        "http:\n  maxBodyBytes: 10\n",
        "http:\n  maxBodyBytes: 1073741825\n",
        "http:\n  maxBodyBytes: \"100000\"\n",
        "http:\n  maxBodyBytes: lots\n",
        "http:\n  maxBodyBytes: 1.5\n",
        "http:\n  maxBodyBytes: {a: 1}\n",
        "http:\n  maxConnections: 0\n",
        "http:\n  maxConnections: 1000001\n",
        "http:\n  keepAliveTimeoutSeconds: 3601\n",
        "http:\n  requestHeadersTimeoutSeconds: 0\n",
        "http:\n  tls:\n    certificate: /nonexistent.pem\n    key: /nonexistent.key\n",
        "http:\n  tls:\n    key: @DIR@/key.pem\n",
        "http:\n  tls:\n    certificate: @DIR@/cert.pem\n    key: @DIR@/key.pem\n",
        "http:\n  tls:\n    certificate: @DIR@/cert.pem\n    key: @DIR@/key.pem\n    clientCa: @DIR@/ca.pem\n",
        "http:\n  tls:\n    certificate: @DIR@/cert.pem\n    key: @DIR@/key.pem\n    address: 1.2.3.4:5\n",
        "http:\n  tls: yes\n",
        "http:\n  tls: {}\n",
        "http:\n  colour: red\n  address: 1.2.3.4:80\n",
        "syslog:\n  address: 1.2.3.4\n",
        "syslog:\n  address: \"[::1]:514\"\n  tcp: false\n  udp: False\n  timezone: Europe/Paris\n  maxFrameBytes: 480\n  maxConnections: 1000000\n  idleTimeoutSeconds: 0\n",
        "syslog:\n  tcp: perhaps\n",
        "syslog:\n  udp: 1\n",
        "syslog:\n  udp: \"true\"\n",
        "syslog:\n  timezone: Mars/Olympus\n",
        "syslog:\n  timezone: +02:00\n",
        "syslog:\n  maxFrameBytes: 10\n",
        "syslog:\n  maxFrameBytes: 67108865\n",
        "syslog:\n  maxConnections: 0\n",
        "syslog:\n  idleTimeoutSeconds: -1\n",
        "syslog:\n  idleTimeoutSeconds: 604801\n",
        "syslog:\n  tls:\n    address: 0.0.0.0:6514\n",
        "syslog:\n  tls:\n    address: bad\n    certificate: @DIR@/cert.pem\n    key: @DIR@/key.pem\n",
        "syslog:\n  tls:\n    certificate: @DIR@/cert.pem\n    key: @DIR@/key.pem\n",
        "syslog:\n  tls:\n    address: 127.0.0.1:7000\n    certificate: @DIR@/cert.pem\n    key: @DIR@/key.pem\n    clientCa: /nope/ca.pem\n    port: 1\n",
        "syslog:\n  tls: 7\n",
        "syslog:\n  tls: {}\n",
        "syslog:\n  port: 514\n",
        "data: [x]\n",
        "data: /var/lib/flotel\n",
        "queue:\n  maxMiB: 0\n",
        "queue:\n  maxMiB: 1073741824\n",
        "queue:\n  maxMiB: 1073741825\n",
        "queue:\n  maxMiB: 1\n  minMiB: 1\n",
        "queue: 5\n",
        "auth:\n  query:\n    username: u\n",
        "auth:\n  ingest:\n    password: p\n",
        "auth:\n  ingest:\n    username: u\n    password: p\n    bearerToken: t\n",
        "auth:\n  ingest: {}\n",
        "auth:\n  ingest:\n    username: u\n    password: \"\"\n",
        "auth:\n  ingest:\n    username: u\n    password: p\n  query:\n    bearerToken: t\n",
        "auth:\n  ingest:\n    bearerToken: t\n    extra: [1]\n",
        "auth:\n  admin:\n    bearerToken: t\n",
        "auth: [1]\n",
        "store:\n  enabled: sometimes\n",
        "store:\n  enabled: false\n  indexPattern: \"logs-%{+YYYY.MM}\"\n  logs:\n    retentionDays: 0\n  metrics:\n    retentionDays: 36500\n    maxSeries: 0\n",
        "store:\n  indexPattern: \"logstash-%{+YYYY.MM.dd\"\n",
        "store:\n  indexPattern: \"\"\n",
        "store:\n  logs:\n    retentionDays: -1\n",
        "store:\n  logs:\n    maxBytes: 0\n",
        "store:\n  logs:\n    maxBytes: -1\n",
        "store:\n  logs:\n    maxBytes: 536870912\n",
        "store:\n  metrics:\n    retentionDays: 36501\n",
        "store:\n  metrics:\n    maxSeries: -5\n",
        "store:\n  metrics:\n    maxSeries: 2147483648\n",
        "store:\n  logs:\n    maxSeries: 100\n",
        "store:\n  logs:\n    keepDays: 3\n",
        "store:\n  logs: 3\n",
        "store:\n  metrics:\n    retentionDays: \"3\"\n",
        "query:\n  timeout: 30\n",
        "query:\n  timeout: soon\n",
        "query:\n  timeout: 0s\n",
        "query:\n  timeout: 2d\n",
        "query:\n  timeout: 24h\n",
        "query:\n  timeout: 500ms\n  maxConcurrency: 1024\n",
        "query:\n  timeout: [1]\n",
        "query:\n  maxConcurrency: 0\n",
        "query:\n  maxConcurrency: 1025\n",
        "query:\n  maxConcurrency: many\n",
        "query:\n  maxSamples: 5\n",
        "fleet:\n  enabled: true\n  address: 127.0.0.1:0\n  serverNames: [gw.example, 10.0.0.1]\n  ca:\n    certificate: @DIR@/cert.pem\n    key: @DIR@/key.pem\n  certificateDays: 1\n  renewGraceDays: 0\n  offlineAfterSeconds: 604800\n",
        "fleet: {}\n",
        "fleet: ~\n",
        "fleet: 5\n",
        "fleet:\n  enabled: yes\n",
        "fleet:\n  address: nowhere\n",
        "fleet:\n  certificateDays: 0\n  renewGraceDays: 3651\n  offlineAfterSeconds: 9\n",
        "fleet:\n  certificateDays: 3651\n  renewGraceDays: -1\n  offlineAfterSeconds: 604801\n",
        "fleet:\n  ca:\n    certificate: @DIR@/cert.pem\n  certificateDays: 7\n",
        "fleet:\n  ca:\n    key: @DIR@/key.pem\n",
        "fleet:\n  ca:\n    certificate: /nonexistent.crt\n    key: @DIR@/key.pem\n",
        "fleet:\n  ca: yes\n",
        "fleet:\n  serverNames: gw.example\n",
        "fleet:\n  serverNames: [a, [b], c]\n",
        "fleet:\n  colour: red\n  ca:\n    chain: x\n    certificate: @DIR@/cert.pem\n    key: @DIR@/key.pem\n",
        "query:\n  prometheus:\n    labelNames: sanitize\n",
        "query:\n  prometheus:\n    labelNames: Sanitize\n",
        "query:\n  prometheus:\n    labelNames: [utf8]\n",
        "outputs:\n  - name: es\n    type: nope\n",
        "outputs:\n  - type: nope\n",
        "outputs:\n  - name: \"a b\"\n    type: nope\n",
        "outputs:\n  - name: store-logs\n    type: nope\n",
        "outputs:\n  name: x\n",
        "outputs:\n  - 5\n",
        "outputs:\n  - name: a\n",
        "outputs:\n  - name: a\n    type: remote_write\n    url: http://127.0.0.1:1/api/v1/write\n" +
            "  - name: a\n    type: remote_write\n    url: http://127.0.0.1:2/api/v1/write\n",
        "outputs:\n  - name: a\n    type: remote_write\n    url: http://127.0.0.1:1/api/v1/write\n    maxSamplesPerSend: 0\n    bogus: 1\n",
        "outputs:\n  - name: rw\n    type: remote_write\n    url: http://127.0.0.1:1/api/v1/write\n    auth:\n      username: u\n",
        "outputs:\n  - name: o\n    type: remote_write\n    url: https://user:pw@rw.example:9090/api/v1/write?x=1\n" +
            "    timeoutSeconds: 3600\n    minBackoffMs: 1\n    maxBackoffSeconds: 3600\n    maxSamplesPerSend: 1000000\n    auth:\n" +
            "      bearerToken: t\n    headers:\n      X-Scope-OrgID: tenant-1\n      x-empty:\n    tls:\n" +
            "      caFile: @DIR@/realca.pem\n",
        "outputs:\n  - name: o\n    type: remote_write\n    url: ftp://rw.example/\n    timeoutSeconds: 0\n" +
            "    minBackoffMs: 600001\n    maxBackoffSeconds: 3601\n    maxSamplesPerSend: 1000001\n",
        "outputs:\n  - name: o\n    type: remote_write\n    url: /api/v1/write\n    timeoutSeconds: soon\n    minBackoffMs: 1.5\n" +
            "    maxBackoffSeconds: \"5\"\n",
        "outputs:\n  - name: o\n    type: remote_write\n    url: [http://a/]\n    minBackoffMs: 600000\n    maxBackoffSeconds: 1\n",
        "outputs:\n  - name: o\n    type: remote_write\n    url: ~\n    timeoutSeconds: ~\n    headers: ~\n    tls: ~\n    auth: ~\n",
        "outputs:\n  - name: o\n    type: remote_write\n    url: http://127.0.0.1:1/\n    headers:\n" +
            "      Content-Type: text/plain\n      authorization: x\n      Host: h\n      content-length: 1\n" +
            "      X-Prometheus-Remote-Write-Version: 2\n      user-agent: u\n      \"a b\": c\n      \"x:y\": d\n      X-List: [1]\n",
        "outputs:\n  - name: o\n    type: remote_write\n    url: http://127.0.0.1:1/\n    headers: [a]\n    auth: 5\n    tls: 5\n",
        "outputs:\n  - name: o\n    type: remote_write\n    url: http://127.0.0.1:1/\n    tls:\n" +
            "      caFile: /nonexistent/ca.pem\n      insecureSkipVerify: maybe\n      certificate: x\n",
        "outputs:\n  - name: o\n    type: remote_write\n    url: http://127.0.0.1:1/\n    tls:\n      caFile: @DIR@/ca.pem\n      insecureSkipVerify: true\n",
        "outputs:\n  - name: o\n    type: remote_write\n    url: http://127.0.0.1:1/\n    auth:\n      username: u\n      password: p\n",
        "outputs:\n  - name: o\n    type: elasticsearch\n    url: http://127.0.0.1:9200\n    index: \"logs-%{+YYYY.MM}\"\n" +
            "    gzip: true\n    maxDocuments: 1\n    maxBytes: 1024\n    deterministicIds: true\n    aws:\n" +
            "      region: eu-central-1\n      service: aoss\n      profile: prod\n    headers:\n      X-Opaque-Id: a\n",
        "outputs:\n  - name: o\n    type: elasticsearch\n    url: http://127.0.0.1:9200\n    index: \"logs-%{+YYYY\"\n" +
            "    gzip: maybe\n    maxDocuments: 1000001\n    maxBytes: 1023\n    deterministicIds: 1\n    aws:\n      region: EU\n" +
            "      service: \"\"\n      profile: \"\"\n      role: x\n",
        "outputs:\n  - name: o\n    type: elasticsearch\n    url: http://127.0.0.1:9200\n    maxBytes: 1073741825\n    aws:\n" +
            "      service: es\n    auth:\n      bearerToken: t\n    headers:\n      X-Amz-Date: x\n      content-encoding: br\n",
        "outputs:\n  - name: o\n    type: elasticsearch\n    url: http://127.0.0.1:9200\n    aws:\n      region: us-east-1\n    auth:\n      bearerToken: t\n",
        "outputs:\n  - name: o\n    type: elasticsearch\n    url: http://127.0.0.1:9200\n    aws: east\n    index: ~\n",
        "outputs:\n  - name: o\n    type: influxdb\n    url: http://127.0.0.1:8086\n    database: db\n    retentionPolicy: rp\n" +
            "    auth:\n      username: u\n      password: p\n    maxPoints: 1\n    gzip: true\n",
        "outputs:\n  - name: o\n    type: influxdb\n    url: http://127.0.0.1:8086\n    org: o\n    bucket: b\n    token: ${SET}\n    maxPoints: 1000000\n",
        "outputs:\n  - name: o\n    type: influxdb\n    url: http://127.0.0.1:8086\n    database: db\n    org: o\n    maxPoints: 0\n    gzip: yes\n",
        "outputs:\n  - name: o\n    type: influxdb\n    url: http://127.0.0.1:8086\n",
        "outputs:\n  - name: o\n    type: influxdb\n    url: http://127.0.0.1:8086\n    retentionPolicy: rp\n    database: \"\"\n",
        "outputs:\n  - name: o\n    type: influxdb\n    url: http://127.0.0.1:8086\n    org: o\n    token: \"\"\n    auth:\n" +
            "      bearerToken: t\n    headers:\n      Content-Type: x\n",
        "outputs:\n  - name: o\n    type: influxdb\n    url: http://127.0.0.1:8086\n    bucket: b\n    retentionPolicy: [x]\n",
        "outputs:\n  - name: o\n    type: timestream\n    region: eu-central-1\n    database: db_1\n    table: t.a-b\n" +
            "    endpoint: https://ingest-cell1.timestream.eu-central-1.amazonaws.com\n" +
            "    discoveryEndpoint: http://127.0.0.1:8080/\n    profile: prod\n    memoryStoreRetentionHours: 8766\n" +
            "    magneticStoreWrites: true\n    commonDimensions:\n      site: berlin\n      rack: \"7\"\n" +
            "    maxRecordsPerRequest: 1\n    timeoutSeconds: 600\n",
        "outputs:\n  - name: o\n    type: timestream\n    profile: p\n",
        "outputs:\n  - name: o\n    type: timestream\n    region: EU-1\n    database: ab\n    table: \"a b c\"\n" +
            "    endpoint: https://x.example/path\n    discoveryEndpoint: ftp://x.example/\n",
        "outputs:\n  - name: o\n    type: timestream\n    region: eu-central-1\n    database: db1\n    table: tbl\n" +
            "    memoryStoreRetentionHours: 0\n    magneticStoreWrites: maybe\n    maxRecordsPerRequest: 101\n" +
            "    timeoutSeconds: 601\n",
        "outputs:\n  - name: o\n    type: timestream\n    region: eu-central-1\n    database: db1\n    table: tbl\n" +
            "    commonDimensions:\n      time: x\n      measure_name: y\n      empty: \"\"\n      nested: [1]\n    url: http://x/\n",
        "outputs:\n  - name: o\n    type: timestream\n    region: eu-central-1\n    database: db1\n    table: tbl\n" +
            "    commonDimensions: [a]\n    endpoint: not a url\n    timeoutSeconds: \"30\"\n",
        "outputs:\n  - name: o\n    type: timestream\n    region: ~\n    database: db1\n    table: tbl\n    memoryStoreRetentionHours: ~\n",
        "data: ${NOPE}\n",
        "data: ${UNTERMINATED\n",
        "data: ${NOPE:-/tmp/x}\nhttp:\n  address: ${SET}\n",
        "data: a$$b$c\n",
        "http:\n  address: [\n",
        "- a\n- b\n",
        "just a string\n",
        "? [a]\n: b\nhttp:\n  address: 1.2.3.4:5\n",
        "http:\n  address: 1.2.3.4:5\nhttp:\n  address: 1.2.3.4:6\n",
        "http:\n  address: 1.2.3.4:5\n---\nhttp:\n  address: 1.2.3.4:6\n",
        "htp:\n  address: 1.2.3.4:1\nsyslog:\n  udp: false\n",
        "http:\n  address: nohost\n  maxConnections: 0\nsyslog:\n  udp: maybe\n  tls:\n    address: x\nqueue:\n  maxMiB: -1\n" +
            "auth:\n  query:\n    username: u\nzzz: 1\nquery:\n  timeout: 1\n",
    ];

    [Fact]
    public void Load_EveryRecordedInput_GivesTheRecordedDiagnosticsAndOptions()
    {
        using var dir = new TempDirectory("flotel-golden-");
        File.WriteAllText(Path.Combine(dir.Path, "cert.pem"), "x");
        File.WriteAllText(Path.Combine(dir.Path, "key.pem"), "x");
        File.WriteAllText(Path.Combine(dir.Path, "ca.pem"), "x");
        using (Outputs.TestCertificates.CreateServerCertificate(Path.Combine(dir.Path, "realca.pem")))
        {
        }

        var sb = new StringBuilder();
        foreach (var yaml in Cases)
        {
            var file = Path.Combine(dir.Path, "gateway.yaml");
            File.WriteAllText(file, yaml.Replace("@DIR@", dir.Path, StringComparison.Ordinal));
            var (options, diagnostics) = GatewayConfigLoader.Load(file, name => name == "SET" ? "10.0.0.1:99" : null);
            sb.Append("=== ").Append(yaml.Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
            foreach (var d in diagnostics)
            {
                sb.Append(d.ToString().Replace(dir.Path, "DIR", StringComparison.Ordinal)).Append('\n');
            }

            sb.Append("--- ").Append(Describe(options).Replace(dir.Path, "DIR", StringComparison.Ordinal)).Append('\n');
        }

        var expected = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "Configuration", "loader-answers.txt")).Split('\n');
        var actual = sb.ToString().Split('\n');

        // Next to the test binaries, to diff with the recorded file when the comparison fails.
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "loader-answers.actual.txt"), sb.ToString());

        // Line by line, so a failure names the first line that differs.
        Assert.Equal(expected, actual);
    }

    /// <summary>Every public property of <paramref name="o"/>, by name, in one line.</summary>
    private static string Describe(GatewayOptions o)
    {
        var parts = new List<string>();
        foreach (var p in typeof(GatewayOptions).GetProperties().OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var v = p.GetValue(o);
            var text = v switch
            {
                null => "null",
                FleetOptions f => string.Create(CultureInfo.InvariantCulture, $"fleet({f.Enabled},{f.Address},[{string.Join(",", f.ServerNames)}],{f.CaCertificateFile ?? "-"},{f.CaKeyFile ?? "-"},{f.CertificateDays},{f.RenewGraceDays},{f.OfflineAfterSeconds})"),
                Enum e => Camel(e.ToString()),
                TlsOptions t => $"tls({t.CertificateFile},{t.KeyFile},{t.ClientCaFile ?? "-"})",
                AuthOptions a => a.BearerToken is { } bt ? $"bearer({bt.Reveal()})" : $"basic({a.Username},{a.Password?.Reveal()})",
                List<OutputOptions> l => "[" + string.Join(",", l.Select(x => x.Name + ":" + x.Type + DescribeObject(x))) + "]",
                TimeSpan ts => ts.ToString("c", CultureInfo.InvariantCulture),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => v.ToString() ?? "",
            };
            parts.Add(p.Name + "=" + text);
        }

        return string.Join(" ", parts);
    }

    /// <summary>
    /// Every public property of an output's options (or of an object in them), by name, in braces: what an output's
    /// reader set, so a changed default or a value read differently shows as a changed line.
    /// </summary>
    private static string DescribeObject(object o)
    {
        var parts = new List<string>();
        foreach (var p in o.GetType().GetProperties().OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (p.Name is nameof(OutputOptions.Name) or nameof(OutputOptions.Type))
            {
                continue;
            }

            var v = p.GetValue(o);
            var text = v switch
            {
                null => "null",
                string s => s,
                Uri u => u.OriginalString + "=>" + u.AbsoluteUri,
                AuthOptions a => a.BearerToken is { } bt ? $"bearer({bt.Reveal()})" : $"basic({a.Username},{a.Password?.Reveal()})",
                Flotel.Model.SecretValue secret => "secret(" + secret.Reveal() + ")",
                IReadOnlyDictionary<string, string> d =>
                    "{" + string.Join(",", d.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Key + ":" + e.Value)) + "}",
                TimeSpan ts => ts.ToString("c", CultureInfo.InvariantCulture),
                bool b => b ? "True" : "False",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ when p.PropertyType.IsClass => DescribeObject(v),
                _ => v.ToString() ?? "",
            };
            parts.Add(p.Name + "=" + text);
        }

        return "{" + string.Join(" ", parts) + "}";
    }

    /// <summary>An enum member as the file spells it (<c>Utf8</c> is <c>utf8</c>).</summary>
    private static string Camel(string name) => char.ToLowerInvariant(name[0]) + name[1..];
}
