using System.Text;
using Flotel.Model;
using Flotel.Model.Manifests;
using Flotel.Pipeline.Net;
using Flotel.Store.Query.Prometheus;
using Flotel.Wire.Manifests;
using Flotel.Wire.Syslog;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Flotel.Gateway.Configuration;

/// <summary>
/// Reads the gateway's YAML configuration (see docs/configuration.md), resolving <c>${NAME}</c> and
/// <c>${NAME:-default}</c> from the environment in scalar values (<c>$$</c> is a literal <c>$</c>), and validates it.
/// Never throws for bad content: every problem is a diagnostic naming file, line and field (architecture §3).
/// </summary>
public static class GatewayConfigLoader
{
    private static readonly HashSet<string> TopKeys = new(StringComparer.Ordinal) { "http", "syslog", "data", "queue", "auth", "store", "query", "outputs", "fleet" };
    private static readonly HashSet<string> HttpKeys = new(StringComparer.Ordinal) { "address", "maxBodyBytes", "maxConnections", "keepAliveTimeoutSeconds", "requestHeadersTimeoutSeconds", "tls" };
    private static readonly HashSet<string> SyslogKeys = new(StringComparer.Ordinal) { "address", "tcp", "udp", "timezone", "maxFrameBytes", "maxConnections", "idleTimeoutSeconds", "tls" };
    private static readonly HashSet<string> TlsKeys = new(StringComparer.Ordinal) { "certificate", "key", "clientCa" };
    private static readonly HashSet<string> SyslogTlsKeys = new(StringComparer.Ordinal) { "address", "certificate", "key", "clientCa" };
    private static readonly HashSet<string> QueueKeys = new(StringComparer.Ordinal) { "maxMiB" };
    private static readonly HashSet<string> AuthKeys = new(StringComparer.Ordinal) { "ingest", "query", "admin" };
    private static readonly HashSet<string> CredentialKeys = new(StringComparer.Ordinal) { "username", "password", "bearerToken" };
    private static readonly HashSet<string> StoreKeys = new(StringComparer.Ordinal) { "enabled", "indexPattern", "logs", "metrics" };
    private static readonly HashSet<string> RetentionKeys = new(StringComparer.Ordinal) { "retentionDays" };
    private static readonly HashSet<string> QueryKeys = new(StringComparer.Ordinal) { "timeout", "maxConcurrency" };

    /// <summary>Longest <c>query.timeout</c>: a query holding the store for longer than a day is a mistake, not a wish.</summary>
    private static readonly TimeSpan MaxQueryTimeout = TimeSpan.FromDays(1);

    /// <summary>Most <c>query.maxConcurrency</c>: each query may hold a large result in memory, and a gateway has a few cores.</summary>
    private const int MaxQueryConcurrency = 1024;

    private static readonly HashSet<string> MetricStoreKeys = new(StringComparer.Ordinal) { "retentionDays", "maxSeries" };

    /// <summary>Loads <paramref name="file"/> (or the defaults when null) into options plus diagnostics.</summary>
    /// <param name="file">The YAML file, or null for defaults only.</param>
    /// <param name="environment">Variable lookup for <c>${NAME}</c>; defaults to the process environment.</param>
    /// <param name="outputTypes">The known output types; defaults to <see cref="OutputTypes.Default"/> (the output registry).</param>
    public static (GatewayOptions Options, IReadOnlyList<ManifestDiagnostic> Diagnostics) Load(
        string? file, Func<string, string?>? environment = null, IOutputTypeCatalog? outputTypes = null)
    {
        var options = new GatewayOptions();
        var diagnostics = new List<ManifestDiagnostic>();
        if (file is not null)
        {
            LoadFile(file, options, diagnostics, environment ?? Environment.GetEnvironmentVariable, outputTypes ?? OutputTypes.Default);
        }

        return (options, diagnostics);
    }

    /// <summary>Checks values that may also come from the command line; call after applying overrides.</summary>
    public static void Validate(GatewayOptions options, string origin, List<ManifestDiagnostic> diagnostics)
    {
        void Error(string field, string message) =>
            diagnostics.Add(new ManifestDiagnostic(DiagnosticSeverity.Error, origin, 0, field, message));

        if (!HostPort.TryParse(options.HttpAddress, out _))
        {
            Error("http.address", $"'{options.HttpAddress}' is not HOST:PORT");
        }

        if (!HostPort.TryParse(options.SyslogAddress, out _))
        {
            Error("syslog.address", $"'{options.SyslogAddress}' is not HOST:PORT");
        }
    }

    private static void LoadFile(
        string file, GatewayOptions options, List<ManifestDiagnostic> diagnostics, Func<string, string?> env, IOutputTypeCatalog outputTypes)
    {
        string text;
        try
        {
            text = File.ReadAllText(file, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            diagnostics.Add(new ManifestDiagnostic(DiagnosticSeverity.Error, file, 0, string.Empty, e.Message));
            return;
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            diagnostics.Add(new ManifestDiagnostic(DiagnosticSeverity.Error, file, checked((int)e.Start.Line), string.Empty, "YAML syntax error: " + e.Message));
            return;
        }

        if (stream.Documents.Count == 0)
        {
            return; // an empty file means "all defaults"
        }

        var r = new YamlFieldReader(file, diagnostics);
        var root = stream.Documents[0].RootNode;
        Interpolate(root, r, string.Empty, env);
        if (r.Mapping(root, string.Empty) is not { } top)
        {
            return;
        }

        foreach (var (key, _, value) in r.Entries(top, string.Empty, TopKeys))
        {
            switch (key)
            {
                case "http":
                    ReadHttp(r, value, options);
                    break;
                case "syslog":
                    ReadSyslog(r, value, options);
                    break;
                case "data":
                    options.DataDirectory = r.String(value, "data") ?? options.DataDirectory;
                    break;
                case "queue":
                    if (r.Mapping(value, "queue") is { } queue)
                    {
                        foreach (var (k, _, v) in r.Entries(queue, "queue", QueueKeys))
                        {
                            options.QueueMaxMiB = r.Integer(v, "queue." + k, 1, 1L << 30) ?? options.QueueMaxMiB;
                        }
                    }

                    break;
                case "auth":
                    if (r.Mapping(value, "auth") is { } auth)
                    {
                        foreach (var (k, _, v) in r.Entries(auth, "auth", AuthKeys))
                        {
                            var credentials = ReadCredentials(r, v, "auth." + k);
                            switch (k)
                            {
                                case "ingest":
                                    options.IngestAuth = credentials;
                                    break;
                                case "admin":
                                    options.AdminAuth = credentials;
                                    break;
                                default:
                                    options.QueryAuth = credentials;
                                    break;
                            }
                        }
                    }

                    break;
                case "store":
                    ReadStore(r, value, options);
                    break;
                case "query":
                    ReadQuery(r, value, options);
                    break;
                case "outputs":
                    ReadOutputs(r, value, options, outputTypes);
                    break;
                case "fleet":
                    FleetConfigReader.Read(r, value, options);
                    break;
            }
        }

        ValidateLoaded(r, top, options);
    }

    /// <summary>
    /// <c>outputs:</c> is a list of mappings, each with a unique <c>name</c> (letters, digits, <c>-</c>, <c>_</c>: it names
    /// a queue reader and a file) and a <c>type</c> from <paramref name="outputTypes"/>; the rest is the type's.
    /// </summary>
    private static void ReadOutputs(YamlFieldReader r, YamlNode node, GatewayOptions options, IOutputTypeCatalog outputTypes)
    {
        if (r.Sequence(node, "outputs") is not { } list)
        {
            return;
        }

        var names = new HashSet<string>(StringComparer.Ordinal) { "store-logs", "store-metrics" };
        for (var i = 0; i < list.Children.Count; i++)
        {
            var path = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"outputs[{i}]");
            if (r.Mapping(list.Children[i], path) is not { } entry)
            {
                continue;
            }

            var nameNode = YamlFieldReader.Get(entry, "name");
            var name = r.String(nameNode, path + ".name");
            var type = r.String(YamlFieldReader.Get(entry, "type"), path + ".type");
            if (name is null)
            {
                r.Error(entry, path + ".name", "every output needs a name");
                continue;
            }

            if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                r.Error(nameNode, path + ".name", $"'{name}' is not a valid output name (1–64 letters, digits, '-' or '_')");
                continue;
            }

            if (!names.Add(name))
            {
                r.Error(nameNode, path + ".name", $"output name '{name}' is used twice (or is reserved for the embedded store)");
                continue;
            }

            if (type is null)
            {
                r.Error(entry, path + ".type", $"output '{name}' needs a type: one of {string.Join(", ", outputTypes.TypeNames)}");
                continue;
            }

            if (outputTypes.FindReader(type) is not { } reader)
            {
                r.Error(YamlFieldReader.Get(entry, "type"), path + ".type",
                    $"unknown output type '{type}'; known: {string.Join(", ", outputTypes.TypeNames)}");
                continue;
            }

            var rest = new YamlMappingNode();
            foreach (var (key, value) in entry.Children)
            {
                if (key is YamlScalarNode { Value: "name" or "type" })
                {
                    continue;
                }

                rest.Add(key, value);
            }

            if (reader(r, rest, name, path) is { } output)
            {
                output.Name = name;
                options.Outputs.Add(output);
            }
        }
    }

    private static void ReadHttp(YamlFieldReader r, YamlNode node, GatewayOptions options)
    {
        if (r.Mapping(node, "http") is not { } http)
        {
            return;
        }

        foreach (var (k, _, v) in r.Entries(http, "http", HttpKeys))
        {
            switch (k)
            {
                case "address":
                    options.HttpAddress = Address(r, v, "http.address") ?? options.HttpAddress;
                    break;
                case "maxBodyBytes":
                    options.MaxBodyBytes = r.Integer(v, "http.maxBodyBytes", 1024, 1L << 30) ?? options.MaxBodyBytes;
                    break;
                case "maxConnections":
                    options.HttpMaxConnections = (int?)r.Integer(v, "http.maxConnections", 1, 1_000_000) ?? options.HttpMaxConnections;
                    break;
                case "keepAliveTimeoutSeconds":
                    options.HttpKeepAliveTimeoutSeconds = (int?)r.Integer(v, "http.keepAliveTimeoutSeconds", 1, 3600) ?? options.HttpKeepAliveTimeoutSeconds;
                    break;
                case "requestHeadersTimeoutSeconds":
                    options.HttpRequestHeadersTimeoutSeconds = (int?)r.Integer(v, "http.requestHeadersTimeoutSeconds", 1, 600) ?? options.HttpRequestHeadersTimeoutSeconds;
                    break;
                case "tls":
                    options.HttpTls = ReadTls(r, v, "http.tls", TlsKeys);
                    break;
            }
        }
    }

    private static void ReadSyslog(YamlFieldReader r, YamlNode node, GatewayOptions options)
    {
        if (r.Mapping(node, "syslog") is not { } syslog)
        {
            return;
        }

        foreach (var (k, _, v) in r.Entries(syslog, "syslog", SyslogKeys))
        {
            switch (k)
            {
                case "address":
                    options.SyslogAddress = Address(r, v, "syslog.address") ?? options.SyslogAddress;
                    break;
                case "tcp":
                    options.SyslogTcp = r.Boolean(v, "syslog.tcp") ?? options.SyslogTcp;
                    break;
                case "udp":
                    options.SyslogUdp = r.Boolean(v, "syslog.udp") ?? options.SyslogUdp;
                    break;
                case "maxConnections":
                    options.SyslogMaxConnections = (int?)r.Integer(v, "syslog.maxConnections", 1, 1_000_000) ?? options.SyslogMaxConnections;
                    break;
                case "idleTimeoutSeconds":
                    options.SyslogIdleTimeoutSeconds = (int?)r.Integer(v, "syslog.idleTimeoutSeconds", 0, 7 * 24 * 3600, "(0 = never)") ?? options.SyslogIdleTimeoutSeconds;
                    break;
                case "timezone":
                    if (r.String(v, "syslog.timezone") is { } zone)
                    {
                        try
                        {
                            _ = new SyslogParser(new SyslogParserOptions { Timezone = zone });
                            options.SyslogTimezone = zone;
                        }
                        catch (ArgumentException e)
                        {
                            r.Error(v, "syslog.timezone", e.Message);
                        }
                    }

                    break;
                case "maxFrameBytes":
                    options.SyslogMaxFrameBytes = (int?)r.Integer(v, "syslog.maxFrameBytes", 480, 64 * 1024 * 1024, "(RFC 5424 §6.1: receivers must accept 480 octets)") ?? options.SyslogMaxFrameBytes;
                    break;
                case "tls":
                    if (r.Mapping(v, "syslog.tls") is { } tls)
                    {
                        options.SyslogTls = ReadTls(r, v, "syslog.tls", SyslogTlsKeys);
                        var address = YamlFieldReader.Get(tls, "address");
                        options.SyslogTlsAddress = address is null ? "0.0.0.0:6514" : Address(r, address, "syslog.tls.address");
                    }

                    break;
            }
        }
    }

    private static void ReadStore(YamlFieldReader r, YamlNode node, GatewayOptions options)
    {
        if (r.Mapping(node, "store") is not { } store)
        {
            return;
        }

        foreach (var (k, _, v) in r.Entries(store, "store", StoreKeys))
        {
            switch (k)
            {
                case "enabled":
                    options.StoreEnabled = r.Boolean(v, "store.enabled") ?? options.StoreEnabled;
                    break;
                case "indexPattern":
                    if (r.String(v, "store.indexPattern") is { } pattern)
                    {
                        if (LogstashIndexPattern.TryParse(pattern, out _, out var error))
                        {
                            options.IndexPattern = pattern;
                        }
                        else
                        {
                            r.Error(v, "store.indexPattern", error ?? "not an index pattern");
                        }
                    }

                    break;
                case "logs" or "metrics":
                    if (r.Mapping(v, "store." + k) is { } retention)
                    {
                        foreach (var (rk, _, rv) in r.Entries(retention, "store." + k, k == "logs" ? RetentionKeys : MetricStoreKeys))
                        {
                            if (rk == "maxSeries")
                            {
                                options.MetricMaxSeries = (int?)r.Integer(rv, "store.metrics.maxSeries", 0, int.MaxValue) ?? options.MetricMaxSeries;
                                continue;
                            }

                            var days = (int?)r.Integer(rv, $"store.{k}.{rk}", 0, 36500);
                            if (days is { } d && k == "logs")
                            {
                                options.LogRetentionDays = d;
                            }
                            else if (days is { } m)
                            {
                                options.MetricRetentionDays = m;
                            }
                        }
                    }

                    break;
            }
        }
    }

    /// <summary><c>query.timeout</c> (a duration with a unit: <c>2m</c>, <c>30s</c>, <c>1m30s</c>, <c>500ms</c>) and <c>query.maxConcurrency</c>.</summary>
    private static void ReadQuery(YamlFieldReader r, YamlNode node, GatewayOptions options)
    {
        if (r.Mapping(node, "query") is not { } query)
        {
            return;
        }

        foreach (var (k, _, v) in r.Entries(query, "query", QueryKeys))
        {
            switch (k)
            {
                case "timeout":
                    options.QueryTimeout = Duration(r, v, "query.timeout", MaxQueryTimeout) ?? options.QueryTimeout;
                    break;
                case "maxConcurrency":
                    options.QueryMaxConcurrency = (int?)r.Integer(v, "query.maxConcurrency", 1, MaxQueryConcurrency) ?? options.QueryMaxConcurrency;
                    break;
            }
        }
    }

    /// <summary>A positive duration in Prometheus's syntax, with a unit (a bare number would leave seconds and milliseconds to guessing), at most <paramref name="max"/>.</summary>
    private static TimeSpan? Duration(YamlFieldReader r, YamlNode node, string path, TimeSpan max)
    {
        var text = r.String(node, path);
        if (text is null)
        {
            return null;
        }

        var key = path[(path.LastIndexOf('.') + 1)..];
        if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)
            || !PromFormat.TryParseDuration(text, out var ms))
        {
            r.Error(node, path, $"`{key}` must be a duration with a unit, such as 2m, 30s, 1m30s or 500ms; got '{text}'");
            return null;
        }

        var duration = TimeSpan.FromMilliseconds(ms);
        if (duration <= TimeSpan.Zero || duration > max)
        {
            r.Error(node, path, $"`{key}` must be more than 0 and at most {max.TotalHours.ToString(System.Globalization.CultureInfo.InvariantCulture)}h, got '{text}'");
            return null;
        }

        return duration;
    }

    private static TlsOptions? ReadTls(YamlFieldReader r, YamlNode node, string path, HashSet<string> keys)
    {
        if (r.Mapping(node, path) is not { } tls)
        {
            return null;
        }

        string? certificate = null, key = null, clientCa = null;
        foreach (var (k, _, v) in r.Entries(tls, path, keys))
        {
            switch (k)
            {
                case "certificate":
                    certificate = ExistingFile(r, v, path + ".certificate");
                    break;
                case "key":
                    key = ExistingFile(r, v, path + ".key");
                    break;
                case "clientCa":
                    clientCa = ExistingFile(r, v, path + ".clientCa");
                    break;
            }
        }

        if (certificate is null || key is null)
        {
            r.Error(tls, path, "`certificate` and `key` are both required for TLS");
            return null;
        }

        return new TlsOptions { CertificateFile = certificate, KeyFile = key, ClientCaFile = clientCa };
    }

    internal static AuthOptions? ReadCredentials(YamlFieldReader r, YamlNode node, string path)
    {
        if (r.Mapping(node, path) is not { } map)
        {
            return null;
        }

        string? user = null, password = null, token = null;
        foreach (var (k, _, v) in r.Entries(map, path, CredentialKeys))
        {
            var value = r.String(v, path + "." + k);
            switch (k)
            {
                case "username":
                    user = value;
                    break;
                case "password":
                    password = value;
                    break;
                case "bearerToken":
                    token = value;
                    break;
            }
        }

        var basic = !string.IsNullOrEmpty(user) || !string.IsNullOrEmpty(password);
        if (basic && (string.IsNullOrEmpty(user) || string.IsNullOrEmpty(password)))
        {
            r.Error(map, path, "`username` and `password` must both be set (and not empty)");
            return null;
        }

        if (basic == !string.IsNullOrEmpty(token))
        {
            r.Error(map, path, "set either `username` and `password`, or `bearerToken`");
            return null;
        }

        return basic
            ? new AuthOptions { Username = user, Password = new SecretValue(password!) }
            : new AuthOptions { BearerToken = new SecretValue(token!) };
    }

    private static void ValidateLoaded(YamlFieldReader r, YamlMappingNode top, GatewayOptions options)
    {
        if (options.SyslogTlsAddress is not null && options.SyslogTls is null)
        {
            r.Error(YamlFieldReader.Get(top, "syslog"), "syslog.tls", "`certificate` and `key` are required for the TLS listener");
        }
    }

    private static string? Address(YamlFieldReader r, YamlNode node, string path)
    {
        var text = r.String(node, path);
        if (text is not null && !HostPort.TryParse(text, out _))
        {
            r.Error(node, path, $"'{text}' is not an address; use HOST:PORT, e.g. 0.0.0.0:5140 or [::1]:5140");
            return null;
        }

        return text;
    }

    internal static string? ExistingFile(YamlFieldReader r, YamlNode node, string path)
    {
        var file = r.String(node, path);
        if (file is not null && !File.Exists(file))
        {
            r.Error(node, path, $"file '{file}' does not exist");
            return null;
        }

        return file;
    }

    /// <summary>Replaces <c>${NAME}</c> / <c>${NAME:-default}</c> in every scalar, reporting unset variables at their line.</summary>
    private static void Interpolate(YamlNode node, YamlFieldReader r, string path, Func<string, string?> env)
    {
        switch (node)
        {
            case YamlScalarNode { Value: { } value } scalar when value.Contains('$', StringComparison.Ordinal):
                scalar.Value = Expand(value, scalar, r, path, env);
                break;
            case YamlMappingNode mapping:
                foreach (var (k, v) in mapping.Children)
                {
                    Interpolate(v, r, YamlFieldReader.Join(path, (k as YamlScalarNode)?.Value ?? "?"), env);
                }

                break;
            case YamlSequenceNode sequence:
                foreach (var item in sequence.Children)
                {
                    Interpolate(item, r, path + "[]", env);
                }

                break;
        }
    }

    private static string Expand(string value, YamlNode node, YamlFieldReader r, string path, Func<string, string?> env)
    {
        var sb = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c != '$' || i + 1 >= value.Length)
            {
                sb.Append(c);
                continue;
            }

            if (value[i + 1] == '$')
            {
                sb.Append('$');
                i++;
                continue;
            }

            if (value[i + 1] != '{')
            {
                sb.Append(c);
                continue;
            }

            var end = value.IndexOf('}', i + 2);
            if (end < 0)
            {
                r.Error(node, path, "unterminated ${…} reference");
                return value;
            }

            var body = value[(i + 2)..end];
            var dash = body.IndexOf(":-", StringComparison.Ordinal);
            var name = dash >= 0 ? body[..dash] : body;
            var fallback = dash >= 0 ? body[(dash + 2)..] : null;
            var resolved = env(name);
            if (string.IsNullOrEmpty(resolved))
            {
                resolved = fallback;
            }

            if (resolved is null)
            {
                r.Error(node, path, $"environment variable {name} is not set (write ${{{name}:-default}} for a default)");
                resolved = string.Empty;
            }

            sb.Append(resolved);
            i = end;
        }

        return sb.ToString();
    }
}
