using System.Net;

namespace Flotel.Gateway.Outputs.Timestream;

/// <summary>
/// What one Timestream call answered, as the classifier needs it: the operation (a failed DescribeEndpoints is
/// reported instead of the WriteRecords it prevented), the status, the AWS error type (header
/// <c>X-Amzn-Errortype</c> or body <c>__type</c>/<c>code</c>, sanitised per the AWS JSON 1.0 rules), the body and
/// the server's <c>Retry-After</c>.
/// </summary>
/// <param name="Operation"><c>WriteRecords</c> or <c>DescribeEndpoints</c>.</param>
/// <param name="Status">HTTP status.</param>
/// <param name="ErrorType">Sanitised error shape name (e.g. <c>ThrottlingException</c>), or null on success or when absent.</param>
/// <param name="Body">Response body text.</param>
/// <param name="RetryAfter">The server's <c>Retry-After</c> as a wait, or null.</param>
public sealed record TimestreamResponse(string Operation, HttpStatusCode Status, string? ErrorType, string Body, TimeSpan? RetryAfter)
{
    /// <summary>True for a 2xx.</summary>
    public bool IsSuccess => (int)Status is >= 200 and < 300;
}
