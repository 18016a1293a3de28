using System.Text.Json.Serialization;

namespace Flotel.Agent.Fleet;

/// <summary>Bodies of the fleet routes (docs/fleet.md §4–§5), serialized by source generation (the device build is NativeAOT: no reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(EnrolRequest))]
[JsonSerializable(typeof(CertificateAnswer))]
[JsonSerializable(typeof(RenewRequest))]
[JsonSerializable(typeof(BundleAnswer))]
[JsonSerializable(typeof(BundleState))]
[JsonSerializable(typeof(StatusReport))]
[JsonSerializable(typeof(ErrorAnswer))]
internal sealed partial class FleetJson : JsonSerializerContext;

/// <summary><c>POST /fleet/v1/enroll</c> body.</summary>
internal sealed record EnrolRequest(string Token, string Csr);

/// <summary><c>POST /fleet/v1/renew</c> body.</summary>
internal sealed record RenewRequest(string Csr);

/// <summary>Answer of enroll and renew: the device certificate and the CA, PEM.</summary>
public sealed record CertificateAnswer(string? Certificate, string? Ca);

/// <summary><c>{"error": "…"}</c>, every fleet route's error body.</summary>
internal sealed record ErrorAnswer(string? Error);

/// <summary>One object the gateway left out of the bundle, with why.</summary>
public sealed record BundleObjectError(string? Object, string? Message);

/// <summary><c>GET /fleet/v1/bundle</c> 200 body.</summary>
public sealed record BundleAnswer(long Generation, string? Digest, string? Manifests, IReadOnlyList<BundleObjectError>? Errors);

/// <summary><c>DATA/fleet/bundle.json</c>: which bundle <c>bundle.yaml</c> is.</summary>
public sealed record BundleState(long Generation, string Digest);

/// <summary>One workload's state in a status report.</summary>
public sealed record WorkloadStatus(string Name, string State, string? Message);

/// <summary>One log target's buffer in a status report.</summary>
public sealed record TargetStatus(string Name, long BufferBytes, long BufferLimitBytes, long Dropped);

/// <summary><c>POST /fleet/v1/status</c> body (docs/fleet.md §5).</summary>
public sealed record StatusReport(
    string AgentVersion,
    long Generation,
    string? Digest,
    string ApplyStatus,
    IReadOnlyList<string> ApplyErrors,
    IReadOnlyList<WorkloadStatus> Workloads,
    IReadOnlyList<TargetStatus> Targets,
    long WalBacklogBytes);
