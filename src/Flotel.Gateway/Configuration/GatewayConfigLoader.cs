using System.Globalization;
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
    private static readonly HashSet<string> TlsKeys = new(StringComparer.Ordinal) { "certificate", "key", "clientCa" };
    private static readonly HashSet<string> CredentialKeys = new(StringComparer.Ordinal) { "username", "password", "bearerToken" };

    /// <summary>Loads <paramref name="file"/> (or the defaults when null) into options plus diagnostics.</summary>
    /// <param name="file">The YAML file, or null for defaults only.</param>
    /// <param name="environment">Variable lookup for <c>${NAME}</c>; defaults to the process environment.</param>
    /// <param name="outputTypes">The known output types; defaults to <see cref="OutputTypes.Default"/> (the output registry).</param>
    public static (GatewayOptions Options, IReadOnlyList<ConfigDiagnostic> Diagnostics) Load(
        string? file, Func<string, string?>? environment = null, IOutputTypeCatalog? outputTypes = null)
    {
        var options = new GatewayOptions();
        var diagnostics = new List<ConfigDiagnostic>();
        if (file is not null)
        {
            LoadFile(file, options, diagnostics, environment ?? Environment.GetEnvironmentVariable, outputTypes ?? OutputTypes.Default);
        }

        return (options, diagnostics);
    }

    /// <summary>Checks values that may also come from the command line; call after applying overrides.</summary>
    public static void Validate(GatewayOptions options, string origin, List<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(diagnostics);
        void Error(string field, string message) =>
            diagnostics.Add(new ConfigDiagnostic(DiagnosticSeverity.Error, origin, 0, field, message));

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
        string file, GatewayOptions options, List<ConfigDiagnostic> diagnostics, Func<string, string?> env, IOutputTypeCatalog outputTypes)
    {
        string text;
        try
        {
            text = File.ReadAllText(file, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            diagnostics.Add(new ConfigDiagnostic(DiagnosticSeverity.Error, file, 0, string.Empty, e.Message));
            return;
        }

        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            diagnostics.Add(new ConfigDiagnostic(DiagnosticSeverity.Error, file, checked((int)e.Start.Line), string.Empty, "YAML syntax error: " + e.Message));
            return;
        }

        if (stream.Documents.Count == 0)
        {
            return; // an empty file means "all defaults"
        }

        var r = new YamlFieldReader(file, (severity, line, path, message) => diagnostics.Add(new ConfigDiagnostic(severity, file, line, path, message)));
        var root = stream.Documents[0].RootNode;
        Interpolate(root, r, string.Empty, env);
        if (r.Mapping(root, string.Empty) is not { } top)
        {
            return;
        }

        new KeyReader(r, options, outputTypes).Section(top, GatewayConfigKeys.Root, string.Empty);
        ValidateLoaded(r, top, options);
    }

    /// <summary>
    /// Reads <paramref name="node"/> (one <c>outputs:</c> entry without <c>name</c> and <c>type</c>) into
    /// <paramref name="options"/> by the keys its class declares (<see cref="ConfigKeySet"/>), as the file's top is read.
    /// </summary>
    internal static void ReadDeclared(YamlFieldReader r, YamlMappingNode node, string path, object options)
    {
        ArgumentNullException.ThrowIfNull(options);
        new KeyReader(r, options, OutputTypes.Default).Section(node, ConfigKeySet.For(options.GetType()).Root, path);
    }

    /// <summary>
    /// What is wrong with <paramref name="text"/> as the value (or a list item) of a string key declared by
    /// <paramref name="declaration"/>, or null. <paramref name="defaultText"/>, the key's default, is the example an
    /// address key's message gives (so <c>http.address</c> quotes 9201, not the syslog port).
    /// </summary>
    internal static string? TextProblem(string text, ConfigKeyAttribute declaration, string? defaultText = null)
    {
        var name = declaration.Path[(declaration.Path.LastIndexOf('.') + 1)..];
        var problem = declaration.Format switch
        {
            ConfigFormat.Address when !HostPort.TryParse(text, out _) => $"'{text}' is not an address; use HOST:PORT, e.g. " + AddressExamples(defaultText),
            ConfigFormat.Timezone => TimezoneProblem(text),
            ConfigFormat.IndexPattern when !LogstashIndexPattern.TryParse(text, out _, out var error) => error ?? "not an index pattern",
            ConfigFormat.ExistingFile when !File.Exists(text) => $"file '{text}' does not exist",
            ConfigFormat.PemCertificates => PemCertificatesProblem(text, name),
            ConfigFormat.NonEmpty when text.Length == 0 => $"`{name}` must not be empty",
            ConfigFormat.AwsName when text.Length == 0 || !text.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') =>
                $"`{name}` must be lower-case letters, digits and '-', got '{text}'",
            ConfigFormat.AwsRegion when text.Length is 0 or > 64 || !text.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') =>
                $"`{name}` '{text}' is not an AWS region name (e.g. eu-central-1)",
            ConfigFormat.TableName => TableNameProblem(text) is { } bad ? $"`{name}` '{text}' {bad}" : null,
            _ => null,
        };
        return problem;
    }

    /// <summary>An AWS database or table name: 3–256 characters of letters, digits, <c>_</c>, <c>.</c> and <c>-</c>.</summary>
    private static string? TableNameProblem(string name) =>
        name.Length is < 3 or > 256 ? "must be 3–256 characters long"
        : name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-') ? null
        : "may only contain letters, digits, '_', '.' and '-'";

    /// <summary>A CA bundle is checked as the output will load it, so a file that is not PEM fails at startup, not at the first send.</summary>
    private static string? PemCertificatesProblem(string file, string name)
    {
        if (!File.Exists(file))
        {
            return $"file '{file}' does not exist";
        }

        try
        {
            using var roots = CustomCaTrust.FromPemFile(file);
            return roots.Count == 0 ? $"`{name}` '{file}' holds no PEM certificate" : null;
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            return $"`{name}` '{file}' cannot be read as PEM certificates: {e.Message}";
        }
    }

    /// <summary>A header the output sets itself (<see cref="IReservedHeaderNames"/>), or one no output lets a file set.</summary>
    private static bool IsReservedHeader(string name, object options) =>
        (options is IReservedHeaderNames reserved && reserved.ReservedHeaderNames.Contains(name))
        || name.Equals("Authorization", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Host", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase);

    /// <summary>An RFC 9110 field name is a token; this refuses what would break the request (controls, spaces, ':', non-ASCII).</summary>
    private static bool IsHeaderName(string name) => name.Length > 0 && name.All(c => c is > ' ' and < (char)127 and not ':');

    /// <summary>The syslog parser is the judge of a zone: it is the one that must understand it.</summary>
    // The key's default and the same port on IPv6 loopback, or placeholders for a key without a default.
    private static string AddressExamples(string? defaultText) =>
        HostPort.TryParse(defaultText, out var address)
            ? $"{address} or [::1]:{address.Port.ToString(CultureInfo.InvariantCulture)}"
            : "0.0.0.0:PORT or [::1]:PORT";

    private static string? TimezoneProblem(string zone)
    {
        try
        {
            _ = new SyslogParser(new SyslogParserOptions { Timezone = zone });
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    /// <summary>Reads mappings by the declared keys (<see cref="GatewayConfigKeys"/>): one reader per key kind.</summary>
    private sealed class KeyReader(YamlFieldReader r, object options, IOutputTypeCatalog outputTypes)
    {
        /// <summary>A mapping of <paramref name="node"/>'s keys; any other key is warned about and ignored.</summary>
        public void Section(YamlMappingNode mapping, ConfigNode node, string path)
        {
            foreach (var (k, _, value) in r.Entries(mapping, path, node.ChildNames))
            {
                if (node.Find(k) is { } child)
                {
                    Node(child, value, YamlFieldReader.Join(path, k));
                }
            }
        }

        private void Node(ConfigNode node, YamlNode value, string path)
        {
            if (node.Key is not { } key)
            {
                if (r.Mapping(value, path) is { } mapping)
                {
                    // A section exists once the file holds its mapping, even an empty one (`fleet: {}`).
                    node.Section?.Ensure(options);
                    Section(mapping, node, path);
                }

                return;
            }

            Value(key, value, path, node.ChildNames);

            // Keys declared inside a key's own mapping (syslog.tls.address); the key's reader accepted their names.
            if (node.Children.Count > 0 && value is YamlMappingNode inner)
            {
                foreach (var child in node.Children)
                {
                    if (YamlFieldReader.Get(inner, child.Name) is { } childValue)
                    {
                        Node(child, childValue, YamlFieldReader.Join(path, child.Name));
                    }
                    else if (child.Key?.Declaration.DefaultInSection is { } fallback)
                    {
                        child.Key.Set(options, fallback);
                    }
                }
            }
        }

        private void Value(ConfigKey key, YamlNode value, string path, HashSet<string> innerKeys)
        {
            var declaration = key.Declaration;
            switch (key.Kind)
            {
                case ConfigKeyKind.Text:
                    if (Text(value, path, key) is { } text)
                    {
                        key.Set(options, text);
                    }

                    break;
                case ConfigKeyKind.Secret:
                    if (Text(value, path, key) is { } secret)
                    {
                        key.Set(options, new SecretValue(secret));
                    }

                    break;
                case ConfigKeyKind.Url:
                    if (r.String(value, path) is { } address)
                    {
                        var baseUrl = declaration.Format == ConfigFormat.BaseUrl;
                        if (Uri.TryCreate(address, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" && url.Host.Length > 0
                            && (!baseUrl || url.PathAndQuery == "/"))
                        {
                            key.Set(options, url);
                        }
                        else
                        {
                            r.Error(value, path, baseUrl
                                ? $"`{key.Name}` '{address}' is not an http(s) URL without a path "
                                    + "(e.g. https://ingest-cell1.timestream.eu-central-1.amazonaws.com)"
                                : $"`{key.Name}` must be an absolute http:// or https:// URL, got '{address}'");
                        }
                    }

                    break;
                case ConfigKeyKind.TextMap:
                    key.Set(options, TextMap(value, path, declaration.Format == ConfigFormat.HeaderName));
                    break;
                case ConfigKeyKind.IntegerDuration:
                    if (r.Integer(value, path, declaration.Min, declaration.Max, declaration.RangeHint) is { } count)
                    {
                        key.Set(options, declaration.TimeUnit == ConfigTimeUnit.Seconds ? TimeSpan.FromSeconds(count) : TimeSpan.FromMilliseconds(count));
                    }

                    break;
                case ConfigKeyKind.TextList:
                    if (TextList(value, path, key) is { } items)
                    {
                        key.Set(options, items);
                    }

                    break;
                case ConfigKeyKind.Enum:
                    if (r.String(value, path) is { } spelled)
                    {
                        var type = key.Property.PropertyType;
                        if (ConfigEnum.Parse(type, spelled) is { } member)
                        {
                            key.Set(options, member);
                        }
                        else
                        {
                            r.Error(value, path, ConfigEnum.Problem(type, key.Name, spelled));
                        }
                    }

                    break;
                case ConfigKeyKind.Integer:
                    var (min, max) = key.Range;
                    if (r.Integer(value, path, min, max, declaration.RangeHint) is { } number)
                    {
                        key.Set(options, number);
                    }

                    break;
                case ConfigKeyKind.Boolean:
                    if (r.Boolean(value, path) is { } flag)
                    {
                        key.Set(options, flag);
                    }

                    break;
                case ConfigKeyKind.Duration:
                    // GatewayConfigKeys.Check: every duration key declares its MaxDuration.
                    if (Duration(r, value, path, declaration.MaxDuration!) is { } duration)
                    {
                        key.Set(options, duration);
                    }

                    break;
                case ConfigKeyKind.Tls:
                    key.Set(options, ReadTls(r, value, path, innerKeys.Count == 0 ? TlsKeys : new HashSet<string>(TlsKeys.Concat(innerKeys), StringComparer.Ordinal)));
                    break;
                case ConfigKeyKind.Credentials:
                    key.Set(options, ReadCredentials(r, value, path));
                    break;
                case ConfigKeyKind.Outputs:
                    // GatewayConfigKeys.Check: only GatewayOptions holds the outputs list.
                    ReadOutputs(r, value, (GatewayOptions)options, outputTypes);
                    break;
            }
        }

        private string? Text(YamlNode value, string path, ConfigKey key)
        {
            var text = r.String(value, path);
            if (text is not null && TextProblem(text, key.Declaration, key.Declaration.DefaultInSection ?? key.DefaultValue as string) is { } problem)
            {
                r.Error(value, path, problem);
                return null;
            }

            return text;
        }

        /// <summary>
        /// The items of a list of strings, each checked as a string key's value; null after any problem, so a bad list
        /// leaves the default as a bad scalar does. A null item (<c>- ~</c>) is absent, as a null value is.
        /// </summary>
        private List<string>? TextList(YamlNode value, string path, ConfigKey key)
        {
            if (r.Sequence(value, path) is not { } sequence)
            {
                return null;
            }

            var items = new List<string>(sequence.Children.Count);
            var valid = true;
            for (var i = 0; i < sequence.Children.Count; i++)
            {
                var item = sequence.Children[i];
                if (YamlFieldReader.IsNull(item))
                {
                    continue;
                }

                if (Text(item, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{path}[{i}]"), key) is { } text)
                {
                    items.Add(text);
                }
                else
                {
                    valid = false;
                }
            }

            return valid ? items : null;
        }

        /// <summary>
        /// The entries of a mapping of strings. Header names (<see cref="ConfigFormat.HeaderName"/>) are checked and
        /// compared ignoring case, a bad entry reported and left out, the others kept; other names (<see cref="ConfigFormat.Text"/>)
        /// are kept as written, in file order, for the owner's <c>ValidateKeys</c> to check. A null value is the empty
        /// string (<see cref="YamlFieldReader.StringMap"/>).
        /// </summary>
        private Dictionary<string, string> TextMap(YamlNode value, string path, bool headers)
        {
            if (!headers)
            {
                return r.StringMap(value, path);
            }

            var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (name, text) in r.StringMap(value, path))
            {
                if (IsReservedHeader(name, options))
                {
                    r.Error(value, path + "." + name, $"header `{name}` is set by the output and cannot be overridden (use `auth` for credentials)");
                }
                else if (!IsHeaderName(name))
                {
                    r.Error(value, path, $"`{name}` is not a valid HTTP header name");
                }
                else
                {
                    map[name] = text;
                }
            }

            return map;
        }
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

    /// <summary>A positive duration in Prometheus's syntax, with a unit (a bare number would leave seconds and milliseconds to guessing), at most <paramref name="maxText"/>.</summary>
    private static TimeSpan? Duration(YamlFieldReader r, YamlNode node, string path, string maxText)
    {
        var max = ParseDuration(maxText) ?? throw new InvalidOperationException($"{path}: MaxDuration '{maxText}' is not a duration");
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
            r.Error(node, path, $"`{key}` must be more than 0 and at most {maxText}, got '{text}'");
            return null;
        }

        return duration;
    }

    /// <summary>A duration in the file's syntax (<c>24h</c>, <c>1m30s</c>), or null.</summary>
    internal static TimeSpan? ParseDuration(string text) =>
        !double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)
        && PromFormat.TryParseDuration(text, out var ms) ? TimeSpan.FromMilliseconds(ms) : null;

    private static TlsOptions? ReadTls(YamlFieldReader r, YamlNode node, string path, IReadOnlySet<string> keys)
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

        // A CA is a certificate and its key: one without the other is a half-configured CA, not the generated one.
        if (YamlFieldReader.Get(YamlFieldReader.Get(top, "fleet") as YamlMappingNode, "ca") is YamlMappingNode ca
            && YamlFieldReader.IsNull(YamlFieldReader.Get(ca, "certificate")) != YamlFieldReader.IsNull(YamlFieldReader.Get(ca, "key")))
        {
            r.Error(ca, "fleet.ca", "`certificate` and `key` are both required");
        }
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
