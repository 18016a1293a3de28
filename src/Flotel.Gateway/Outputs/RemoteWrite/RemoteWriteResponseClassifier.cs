using System.Net;
using Flotel.Pipeline.Delivery;

namespace Flotel.Gateway.Outputs.RemoteWrite;

/// <summary>
/// A remote-write response → outcome. The spec (1.0, "Retries &amp; Backoff"): 2xx success; 5xx retried; 4xx "will never
/// be able to succeed" and is not retried, except 429, which Prometheus retries (<c>retry_on_http_429</c>) honouring
/// <c>Retry-After</c>. Flotel also retries 401/403/407: a credential problem is fixed by the operator, not by dropping
/// the data (dead-lettering every sample while a token is rotated would lose the whole backlog from the receiver).
/// 413 halves the request. The receiver's message is kept in the reason (the device-worker hid it).
/// </summary>
public static class RemoteWriteResponseClassifier
{
    private const string Hint = "check the output's credentials";

    private static readonly IReadOnlyCollection<HttpStatusCode> RetriedStatuses = HttpStatusClassifier.CredentialStatuses;

    /// <summary>Classifies <paramref name="response"/> (reads its body only when it is not a success).</summary>
    public static Task<DeliveryOutcome<T>> ClassifyAsync<T>(HttpResponseMessage response, DateTimeOffset now, CancellationToken cancellationToken) =>
        HttpStatusClassifier.ClassifyAsync<T>(response, now, cancellationToken, RetriedStatuses, Hint);

    /// <summary>The rule itself, for a status and body already read.</summary>
    public static DeliveryOutcome<T> Classify<T>(HttpStatusCode status, string? body, System.Net.Http.Headers.HttpResponseHeaders headers, DateTimeOffset now)
    {
        return HttpStatusClassifier.ToOutcome<T>(status, body, headers, now, RetriedStatuses, Hint);
    }
}
