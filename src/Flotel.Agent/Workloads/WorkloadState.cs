namespace Flotel.Agent.Workloads;

/// <summary>One workload's state after a reconcile pass: <c>running</c>, <c>starting</c> or <c>failed</c>, with podman's message when failed.</summary>
public sealed record WorkloadState(string Name, string State, string? Message);
