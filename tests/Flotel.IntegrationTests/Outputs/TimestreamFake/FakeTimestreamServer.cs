using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Flotel.IntegrationTests.Outputs.TimestreamFake;

/// <summary>
/// A fake Timestream for LiveAnalytics write service on 127.0.0.1, written from the documented protocol
/// (docs/reference/timestream-and-remote-write.md §2; AWS JSON 1.0; SigV4), not from Flotel's code:
/// <list type="bullet">
/// <item>a regional port that only answers <c>DescribeEndpoints</c> (as the real regional endpoint), advertising a
/// cell port as <c>{"Endpoints":[{"Address":"127.0.0.1:P","CachePeriodInMinutes":N}]}</c>;</item>
/// <item>two cell ports; only the advertised one takes <c>WriteRecords</c>, the other answers 421
/// <c>InvalidEndpointException</c> (<see cref="MoveCell"/> switches them);</item>
/// <item>every request: <c>POST /</c>, <c>Content-Type: application/x-amz-json-1.0</c>, a known
/// <c>X-Amz-Target</c>, and a SigV4 <c>Authorization</c> recomputed here independently (its own canonical request,
/// string to sign and key derivation) for the known credentials, region and service <c>timestream</c>;</item>
/// <item>WriteRecords: database and table exist (else 404 ResourceNotFoundException); 1–100 records, ≥ 1 dimension,
/// name sizes, DOUBLE values, MILLISECONDS times (else 400 ValidationException for the whole call); records outside
/// the memory-store window, or that change the value of a stored record, are rejected with 419
/// RejectedRecordsException and the rest stored (partial success, docs/reference/timestream-and-remote-write.md §2.5);</item>
/// <item>scripted faults for the next WriteRecords calls: 429 ThrottlingException, 500 InternalServerException,
/// 421, 400, 403, 419 for given record indexes; and for the next DescribeEndpoints calls (the credentials answers
/// AWS gives before any operation runs: 403 InvalidSignatureException, 400 UnrecognizedClientException, 403
/// AccessDeniedException).</item>
/// </list>
/// Ports are fixed at construction so the server can be stopped and started again (peer away, peer back).
/// </summary>
public sealed class FakeTimestreamServer : IAsyncDisposable
{
    public const string AccessKeyId = "AKIDFLOTELFAKE";
    public const string SecretAccessKey = "fake/Secret+Key/For/Flotel/Tests0000000";
    public const string Region = "eu-central-1";
    public const string Database = "flotta";
    public const string Table = "metrics";

    private readonly ConcurrentQueue<Fault> _faults = new();
    private readonly ConcurrentQueue<Fault> _discoveryFaults = new();
    private readonly ConcurrentDictionary<string, double> _stored = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private WebApplication? _app;
    private int _activeCell;

    public FakeTimestreamServer(int cachePeriodInMinutes = 1440, TimeSpan? memoryStoreRetention = null)
    {
        CachePeriodInMinutes = cachePeriodInMinutes;
        MemoryStoreRetention = memoryStoreRetention ?? TimeSpan.FromHours(6);
        RegionalPort = Loopback.FreePort();
        CellPorts = [Loopback.FreePort(), Loopback.FreePort()];
    }

    /// <summary>A scripted answer to one WriteRecords (or DescribeEndpoints) call.</summary>
    public enum Fault
    {
        Throttling,
        InternalError,
        InvalidEndpoint,
        Validation,
        AccessDenied,
        ResourceNotFound,

        /// <summary>403 InvalidSignatureException, as for a wrong secret key (answered whatever the signature).</summary>
        InvalidSignature,

        /// <summary>400 UnrecognizedClientException, as for an unknown access key id or a bad session token.</summary>
        UnrecognizedClient,

        /// <summary>419 for the first record of the call; the others are stored.</summary>
        RejectFirstRecord,
    }

    public int CachePeriodInMinutes { get; }

    public TimeSpan MemoryStoreRetention { get; }

    public int RegionalPort { get; }

    public int[] CellPorts { get; }

    /// <summary>The DescribeEndpoints URL (the "regional endpoint").</summary>
    public Uri DiscoveryEndpoint => new($"http://127.0.0.1:{RegionalPort}/");

    /// <summary>The cell currently advertised.</summary>
    public int ActiveCellPort => CellPorts[Volatile.Read(ref _activeCell)];

    /// <summary>Every request received, in order (for shape comparisons).</summary>
    public ConcurrentQueue<CapturedRequest> Requests { get; } = new();

    /// <summary>Why requests failed signature or protocol checks (must stay empty for a correct client).</summary>
    public ConcurrentQueue<string> Violations { get; } = new();

    /// <summary>Records stored, in arrival order (duplicates of the same value are stored once).</summary>
    public ConcurrentQueue<StoredRecord> Stored { get; } = new();

    public int DescribeEndpointsCalls => Requests.Count(r => r.Target == "Timestream_20181101.DescribeEndpoints");

    public int WriteRecordsCalls => Requests.Count(r => r.Target == "Timestream_20181101.WriteRecords");

    /// <summary>Largest record count seen in one WriteRecords call.</summary>
    public int MaxRecordsInCall { get; private set; }

    /// <summary>A standing rule: records with this measure name are rejected (419), the others of the call stored.</summary>
    public string? RejectMeasureName { get; set; }

    public void EnqueueFaults(params Fault[] faults)
    {
        foreach (var fault in faults)
        {
            _faults.Enqueue(fault);
        }
    }

    /// <summary>Scripted answers for the next DescribeEndpoints calls (credential faults only).</summary>
    public void EnqueueDescribeEndpointsFaults(params Fault[] faults)
    {
        foreach (var fault in faults)
        {
            _discoveryFaults.Enqueue(fault);
        }
    }

    /// <summary>Advertises the other cell from now on; the old one answers 421.</summary>
    public void MoveCell() => Interlocked.Exchange(ref _activeCell, 1 - Volatile.Read(ref _activeCell));

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, RegionalPort);
            foreach (var port in CellPorts)
            {
                k.Listen(IPAddress.Loopback, port);
            }
        });
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync();
        _app = app;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();
        var target = request.Headers["X-Amz-Target"].ToString();
        var port = context.Connection.LocalPort;
        var headers = request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
        Requests.Enqueue(new CapturedRequest(port, request.Method, request.Path + request.QueryString, target, headers, body));

        if (request.Method != "POST" || request.Path != "/" || request.QueryString.HasValue)
        {
            await ErrorAsync(context, 400, "UnknownOperationException", $"expected POST / , got {request.Method} {request.Path}{request.QueryString}");
            return;
        }

        if (request.ContentType != "application/x-amz-json-1.0")
        {
            await ErrorAsync(context, 400, "SerializationException", $"Content-Type must be application/x-amz-json-1.0, got '{request.ContentType}'");
            return;
        }

        if (VerifySignature(request, body) is { } signatureProblem)
        {
            await ErrorAsync(context, 403, "InvalidSignatureException", signatureProblem);
            return;
        }

        switch (target)
        {
            case "Timestream_20181101.DescribeEndpoints" when port == RegionalPort || CellPorts.Contains(port):
                if (!IsJsonObject(body, out var input) || input.Count != 0)
                {
                    await ErrorAsync(context, 400, "ValidationException", "DescribeEndpoints takes no input: the body must be {}");
                    return;
                }

                if (_discoveryFaults.TryDequeue(out var discoveryFault) && await CredentialFaultAsync(context, discoveryFault, "timestream:DescribeEndpoints"))
                {
                    return;
                }

                await JsonAsync(context, 200, new JsonObject
                {
                    ["Endpoints"] = new JsonArray(new JsonObject
                    {
                        ["Address"] = $"127.0.0.1:{ActiveCellPort}",
                        [nameof(CachePeriodInMinutes)] = CachePeriodInMinutes,
                    }),
                });
                return;
            case "Timestream_20181101.WriteRecords" when port == RegionalPort:
                // "The DescribeEndpoints action is the only action that Timestream regional endpoints recognize."
                await ErrorAsync(context, 421, "InvalidEndpointException", "The endpoint is not valid for WriteRecords; call DescribeEndpoints");
                return;
            case "Timestream_20181101.WriteRecords" when port != ActiveCellPort:
                await ErrorAsync(context, 421, "InvalidEndpointException", "The endpoint you are using is no longer valid");
                return;
            case "Timestream_20181101.WriteRecords":
                await WriteRecordsAsync(context, body);
                return;
            default:
                await ErrorAsync(context, 400, "UnknownOperationException", $"unknown X-Amz-Target '{target}'");
                return;
        }
    }

    /// <summary>
    /// Answers a scripted credentials fault as AWS words it (not counted as a violation: the request was signed
    /// right); false for a fault that is not one.
    /// </summary>
    private static async Task<bool> CredentialFaultAsync(HttpContext context, Fault fault, string action)
    {
        var (status, type, message) = fault switch
        {
            Fault.InvalidSignature => (403, "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."),
            Fault.UnrecognizedClient => (400, "UnrecognizedClientException", "The security token included in the request is invalid."),
            Fault.AccessDenied => (403, "AccessDeniedException", "User is not authorized to perform: " + action),
            _ => (0, string.Empty, string.Empty),
        };
        if (status == 0)
        {
            return false;
        }

        await JsonAsync(context, status, new JsonObject
        {
            ["__type"] = "com.amazonaws.timestream.v20181101#" + type,
            ["message"] = message,
        }, type);
        return true;
    }

    private async Task WriteRecordsAsync(HttpContext context, byte[] body)
    {
        if (!IsJsonObject(body, out var input))
        {
            await ErrorAsync(context, 400, "SerializationException", "the body is not a JSON object");
            return;
        }

        foreach (var (key, _) in input)
        {
            if (key is not ("DatabaseName" or "TableName" or "Records" or "CommonAttributes"))
            {
                await ErrorAsync(context, 400, "SerializationException", $"unknown member '{key}' of WriteRecordsRequest");
                return;
            }
        }

        if (input["DatabaseName"]?.GetValue<string>() != Database || input["TableName"]?.GetValue<string>() != Table)
        {
            await ErrorAsync(context, 404, "ResourceNotFoundException", "The database or table does not exist.");
            return;
        }

        if (input["Records"] is not JsonArray records || records.Count is 0 or > 100)
        {
            await ErrorAsync(context, 400, "ValidationException",
                "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length less than or equal to 100 and greater than or equal to 1");
            return;
        }

        lock (_gate)
        {
            MaxRecordsInCall = Math.Max(MaxRecordsInCall, records.Count);
        }

        var common = input["CommonAttributes"] as JsonObject;
        var parsed = new List<StoredRecord>(records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            if (ParseRecord(records[i], common, out var record) is { } problem)
            {
                await ErrorAsync(context, 400, "ValidationException", $"Records[{i}]: {problem}");
                return;
            }

            parsed.Add(record!);
        }

        var hasFault = _faults.TryDequeue(out var fault);
        if (hasFault)
        {
            switch (fault)
            {
                case Fault.Throttling:
                    await ErrorAsync(context, 429, "ThrottlingException", "Rate exceeded");
                    return;
                case Fault.InternalError:
                    await ErrorAsync(context, 500, "InternalServerException", "Internal server error");
                    return;
                case Fault.InvalidEndpoint:
                    await ErrorAsync(context, 421, "InvalidEndpointException", "The endpoint you are using is no longer valid");
                    return;
                case Fault.Validation:
                    await ErrorAsync(context, 400, "ValidationException", "At least one dimension is required for a record.");
                    return;
                case Fault.AccessDenied:
                    await ErrorAsync(context, 403, "AccessDeniedException", "User is not authorized to perform: timestream:WriteRecords");
                    return;
                case Fault.ResourceNotFound:
                    await ErrorAsync(context, 404, "ResourceNotFoundException", "The table does not exist.");
                    return;
                case Fault.InvalidSignature or Fault.UnrecognizedClient:
                    _ = await CredentialFaultAsync(context, fault, "timestream:WriteRecords");
                    return;
            }
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var rejected = new JsonArray();
        for (var i = 0; i < parsed.Count; i++)
        {
            var record = parsed[i];
            string? reason = null;
            if (i == 0 && hasFault && fault == Fault.RejectFirstRecord)
            {
                reason = "Scripted rejection of record 0.";
            }
            else if (record.Name == RejectMeasureName)
            {
                reason = "Scripted rejection of measure " + record.Name + ".";
            }
            else if (record.TimeMs < now - (long)MemoryStoreRetention.TotalMilliseconds || record.TimeMs > now + (15 * 60_000))
            {
                reason = "The record timestamp is outside the time range of the data ingestion window.";
            }
            else if (_stored.TryGetValue(record.Key, out var existing) && existing != record.Value)
            {
                reason = "A record already exists with the same time, dimensions, measure name, and record version. A higher record version must be specified in order to update the measure value.";
            }

            if (reason is not null)
            {
                rejected.Add(new JsonObject { ["RecordIndex"] = i, ["Reason"] = reason });
            }
            else if (_stored.TryAdd(record.Key, record.Value))
            {
                Stored.Enqueue(record);
            }
        }

        if (rejected.Count > 0)
        {
            await JsonAsync(context, 419, new JsonObject
            {
                ["__type"] = "com.amazonaws.timestream.v20181101#RejectedRecordsException",
                ["Message"] = "One or more records have been rejected. See RejectedRecords for details.",
                ["RejectedRecords"] = rejected,
            }, "RejectedRecordsException");
            return;
        }

        await JsonAsync(context, 200, new JsonObject
        {
            ["RecordsIngested"] = new JsonObject { ["Total"] = parsed.Count, ["MemoryStore"] = parsed.Count, ["MagneticStore"] = 0 },
        });
    }

    /// <summary>Checks one record against the model and limits (docs/reference/timestream-and-remote-write.md §2.4, §2.6); returns a problem or null.</summary>
    private static string? ParseRecord(JsonNode? node, JsonObject? common, out StoredRecord? record)
    {
        record = null;
        if (node is not JsonObject r)
        {
            return "a record must be an object";
        }

        foreach (var (key, _) in r)
        {
            if (key is not ("Dimensions" or "MeasureName" or "MeasureValue" or "MeasureValueType" or "Time" or "TimeUnit" or "Version" or "MeasureValues"))
            {
                return $"unknown member '{key}' of Record";
            }
        }

        var dimensions = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in new[] { common?["Dimensions"], r["Dimensions"] })
        {
            if (source is null)
            {
                continue;
            }

            if (source is not JsonArray list)
            {
                return "Dimensions must be a list";
            }

            foreach (var d in list)
            {
                var name = d?["Name"]?.GetValue<string>();
                var dimensionValue = d?["Value"]?.GetValue<string>();
                if (string.IsNullOrEmpty(name) || Encoding.UTF8.GetByteCount(name) > 60)
                {
                    return "dimension names must be 1–60 bytes";
                }

                if (string.IsNullOrEmpty(dimensionValue))
                {
                    return $"dimension '{name}' has no value";
                }

                if (name is "time" or "measure_value" or "ts_non_existent_col" || name.StartsWith("ts_", StringComparison.Ordinal) || name.StartsWith("measure_name", StringComparison.Ordinal))
                {
                    return $"dimension name '{name}' is reserved";
                }

                if (!dimensions.TryAdd(name, dimensionValue))
                {
                    return $"dimension '{name}' appears twice (CommonAttributes and the record may not overlap)";
                }
            }
        }

        if (dimensions.Count == 0)
        {
            return "At least one dimension is required for a record.";
        }

        if (dimensions.Count > 128)
        {
            return "at most 128 dimensions";
        }

        var measure = r["MeasureName"]?.GetValue<string>();
        if (string.IsNullOrEmpty(measure) || Encoding.UTF8.GetByteCount(measure) > 256)
        {
            return "MeasureName must be 1–256 bytes";
        }

        if (r["MeasureValueType"]?.GetValue<string>() != "DOUBLE")
        {
            return "MeasureValueType must be DOUBLE here";
        }

        var text = r["MeasureValue"]?.GetValue<string>();
        if (text is null || text.Length is 0 or > 2048
            || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            return $"MeasureValue '{text}' is not a finite DOUBLE";
        }

        if (r["TimeUnit"]?.GetValue<string>() != "MILLISECONDS")
        {
            return "TimeUnit must be MILLISECONDS here";
        }

        var time = r["Time"]?.GetValue<string>();
        if (time is null || !long.TryParse(time, NumberStyles.None, CultureInfo.InvariantCulture, out var timeMs))
        {
            return $"Time '{time}' is not a decimal number";
        }

        var size = 8 + 8 + Encoding.UTF8.GetByteCount(measure) + dimensions.Sum(d => Encoding.UTF8.GetByteCount(d.Key) + Encoding.UTF8.GetByteCount(d.Value));
        if (size > 2048)
        {
            return "the record is larger than 2 KB";
        }

        record = new StoredRecord(measure, dimensions, value, timeMs, text);
        return null;
    }

    /// <summary>
    /// SigV4 verification, computed here from the specification (AWS IAM User Guide, "Create a signed AWS API
    /// request"), independently of Flotel.Wire's signer: returns a problem or null.
    /// </summary>
    private static string? VerifySignature(HttpRequest request, byte[] body)
    {
        var authorization = request.Headers.Authorization.ToString();
        const string Prefix = "AWS4-HMAC-SHA256 ";
        if (!authorization.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return "missing or non-SigV4 Authorization header";
        }

        var parts = authorization[Prefix.Length..].Split(',', StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        if (!parts.TryGetValue("Credential", out var credential) || !parts.TryGetValue("SignedHeaders", out var signedHeaders) || !parts.TryGetValue("Signature", out var signature))
        {
            return "Authorization lacks Credential, SignedHeaders or Signature";
        }

        var scope = credential.Split('/');
        if (scope.Length != 5 || scope[0] != AccessKeyId)
        {
            return $"unknown access key or malformed scope '{credential}'";
        }

        var amzDate = request.Headers["X-Amz-Date"].ToString();
        if (amzDate.Length != 16 || !DateTimeOffset.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var signedAt))
        {
            return $"X-Amz-Date '{amzDate}' is not yyyyMMddTHHmmssZ";
        }

        if (scope[1] != amzDate[..8] || scope[2] != Region || scope[3] != "timestream" || scope[4] != "aws4_request")
        {
            return $"credential scope '{string.Join('/', scope[1..])}' is not {amzDate[..8]}/{Region}/timestream/aws4_request";
        }

        if ((DateTimeOffset.UtcNow - signedAt).Duration() > TimeSpan.FromMinutes(15))
        {
            return "Signature expired: X-Amz-Date is more than 15 minutes from the server's time";
        }

        var names = signedHeaders.Split(';');
        foreach (var required in new[] { "content-type", "host", "x-amz-date", "x-amz-target" })
        {
            if (!names.Contains(required, StringComparer.Ordinal))
            {
                return $"header '{required}' is not signed (SignedHeaders={signedHeaders})";
            }
        }

        if (!names.SequenceEqual(names.Order(StringComparer.Ordinal)) || names.Any(n => !string.Equals(n, n.ToLowerInvariant(), StringComparison.Ordinal)))
        {
            return $"SignedHeaders '{signedHeaders}' are not lowercase and sorted";
        }

        var canonical = new StringBuilder();
        canonical.Append("POST\n/\n\n");
        foreach (var name in names)
        {
            var values = request.Headers[name];
            if (values.Count == 0)
            {
                return $"signed header '{name}' is missing from the request";
            }

            var joined = string.Join(',', values.Select(v => string.Join(' ', (v ?? string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))));
            canonical.Append(name).Append(':').Append(joined).Append('\n');
        }

        canonical.Append('\n').Append(signedHeaders).Append('\n').Append(Hex(SHA256.HashData(body)));
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{string.Join('/', scope[1..])}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";
        var key = Encoding.UTF8.GetBytes("AWS4" + SecretAccessKey);
        foreach (var part in new[] { scope[1], scope[2], scope[3], scope[4] })
        {
            key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));
        }

        var expected = Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        return expected == signature ? null : "The request signature we calculated does not match the signature you provided.";
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static bool IsJsonObject(byte[] body, out JsonObject value)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject o)
            {
                value = o;
                return true;
            }
        }
        catch (JsonException)
        {
        }

        value = [];
        return false;
    }

    private Task ErrorAsync(HttpContext context, int status, string type, string message)
    {
        if (type is "InvalidSignatureException" or "SerializationException" or "UnknownOperationException")
        {
            Violations.Enqueue($"{type}: {message}");
        }

        return JsonAsync(context, status, new JsonObject
        {
            ["__type"] = "com.amazonaws.timestream.v20181101#" + type,
            ["message"] = message,
        }, type);
    }

    private static async Task JsonAsync(HttpContext context, int status, JsonObject body, string? errorType = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/x-amz-json-1.0";
        if (errorType is not null)
        {
            context.Response.Headers["X-Amzn-ErrorType"] = errorType;
        }

        await context.Response.WriteAsync(body.ToJsonString());
    }

    /// <summary>One request as received.</summary>
    public sealed record CapturedRequest(int Port, string Method, string Path, string Target, IReadOnlyDictionary<string, string> Headers, byte[] Body);

    /// <summary>One stored record.</summary>
    public sealed record StoredRecord(string Name, IReadOnlyDictionary<string, string> Dimensions, double Value, long TimeMs, string ValueText)
    {
        public string Key => Name + "|" + TimeMs.ToString(CultureInfo.InvariantCulture) + "|" + string.Join(",", Dimensions.Select(d => d.Key + "=" + d.Value));
    }
}
