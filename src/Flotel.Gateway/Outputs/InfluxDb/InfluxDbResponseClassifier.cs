using System.Net;
using Flotel.Pipeline.Delivery;

namespace Flotel.Gateway.Outputs.InfluxDb;

/// <summary>
/// A write response → outcome (InfluxDB HTTP API "write" responses): 204 success; 400 (unparsable line, field type
/// conflict, "partial write: points beyond retention policy dropped=N") rejected for good and dead-lettered — InfluxDB
/// has already stored the valid points of that request, and a replay overwrites them with the same values;
/// 413 halves the batch; 429, 5xx and 408 retried with <c>Retry-After</c>; 401/403 and 404 (database or bucket not
/// found) retried: a token, a password or a missing database is fixed by the operator, and dead-lettering the whole
/// stream meanwhile would not help (the log line says what to fix).
/// </summary>
public static class InfluxDbResponseClassifier
{
    private static readonly HttpStatusCode[] RetriedStatuses = [HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden, HttpStatusCode.NotFound];

    /// <summary>Classifies <paramref name="response"/> (reads its body only when it is not a success).</summary>
    public static Task<DeliveryOutcome<T>> ClassifyAsync<T>(HttpResponseMessage response, DateTimeOffset now, CancellationToken cancellationToken) =>
        HttpStatusClassifier.ClassifyAsync<T>(response, now, cancellationToken, RetriedStatuses, "check the output's token, credentials and database or bucket");
}
