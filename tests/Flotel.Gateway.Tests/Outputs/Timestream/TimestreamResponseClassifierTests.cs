using System.Net;
using Flotel.Gateway.Outputs.Timestream;
using Flotel.Model.Metrics;
using Flotel.Pipeline.Delivery;

namespace Flotel.Gateway.Tests.Outputs.Timestream;

public sealed class TimestreamResponseClassifierTests
{
    private static readonly TimeSeries[] Sent =
    [
        .. Enumerable.Range(0, 4).Select(i => new TimeSeries(LabelSet.Of("__name__", "m", "i", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), [new Sample(i, i)])),
    ];

    private static TimestreamResponse Answer(int status, string? type, string body, string operation = "WriteRecords", TimeSpan? retryAfter = null) =>
        new(operation, (HttpStatusCode)status, type, body, retryAfter);

    [Fact]
    public void Classify_Success_IsSuccess() =>
        Assert.IsType<DeliveryOutcome<TimeSeries>.Delivered>(TimestreamResponseClassifier.Classify(Answer(200, null, """{"RecordsIngested":{"Total":4}}"""), Sent));

    [Fact]
    public void Classify_RejectedRecords419_DeadLettersNamedRecordsAndAcknowledgesTheRest()
    {
        var body = """
            {"__type":"com.amazonaws.timestream.v20181101#RejectedRecordsException","Message":"One or more records have been rejected. See RejectedRecords for details.",
             "RejectedRecords":[{"RecordIndex":3,"Reason":"A record already exists with the same time, dimensions, measure name, and record version.","ExistingVersion":2},
                                {"RecordIndex":1,"Reason":"The record timestamp is outside the time range of the data ingestion window."}]}
            """;
        var outcome = Assert.IsType<DeliveryOutcome<TimeSeries>.PartiallyDelivered>(
            TimestreamResponseClassifier.Classify(Answer(419, "RejectedRecordsException", body), Sent));
        Assert.Empty(outcome.RetryItems);
        Assert.Equal([Sent[3], Sent[1]], outcome.Failed.Select(f => f.Item));
        Assert.All(outcome.Failed, f => Assert.Equal(("rejected_record", FailureAction.DeadLetter), (f.Code, f.Action)));
        Assert.Contains("existing version 2", outcome.Failed[0].Reason, StringComparison.Ordinal);
        Assert.Contains("outside the time range", outcome.Failed[1].Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"Message":"rejected"}""")]
    [InlineData("""{"RejectedRecords":[{"RecordIndex":4,"Reason":"x"}]}""")]
    [InlineData("""{"RejectedRecords":[]}""")]
    [InlineData("not json")]
    public void Classify_RejectedRecordsUnreadable_DeadLettersTheWholeCall(string body)
    {
        var outcome = Assert.IsType<DeliveryOutcome<TimeSeries>.Rejected>(TimestreamResponseClassifier.Classify(Answer(419, null, body), Sent));
        Assert.Equal("rejected_records_unreadable", outcome.Code);
    }

    [Theory]
    [InlineData(429, "ThrottlingException")]
    [InlineData(400, "ThrottlingException")]
    [InlineData(500, "InternalServerException")]
    [InlineData(503, null)]
    [InlineData(502, null)]
    [InlineData(408, null)]
    [InlineData(421, "InvalidEndpointException")]
    [InlineData(421, null)]
    public void Classify_Transient_Retries(int status, string? type)
    {
        var outcome = Assert.IsType<DeliveryOutcome<TimeSeries>.Retryable>(
            TimestreamResponseClassifier.Classify(Answer(status, type, """{"message":"try later"}""", retryAfter: TimeSpan.FromSeconds(3)), Sent));
        Assert.Equal(TimeSpan.FromSeconds(3), outcome.RetryAfter);
        Assert.Contains("try later", outcome.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(400, "ValidationException", "validation")]
    [InlineData(404, "ResourceNotFoundException", "resource_not_found")]
    [InlineData(400, null, "http_400")]
    [InlineData(409, "ConflictException", "http_409")]
    public void Classify_Permanent_RejectsWithCodeAndMessage(int status, string? type, string code)
    {
        var outcome = Assert.IsType<DeliveryOutcome<TimeSeries>.Rejected>(
            TimestreamResponseClassifier.Classify(Answer(status, type, """{"Message":"At least one dimension is required for a record."}"""), Sent));
        Assert.Equal(code, outcome.Code);
        Assert.Contains("At least one dimension is required", outcome.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(403, "InvalidSignatureException", "DescribeEndpoints")]
    [InlineData(403, "InvalidSignatureException", "WriteRecords")]
    [InlineData(403, "AccessDeniedException", "DescribeEndpoints")]
    [InlineData(403, "AccessDeniedException", "WriteRecords")]
    [InlineData(400, "UnrecognizedClientException", "DescribeEndpoints")]
    [InlineData(400, "UnrecognizedClientException", "WriteRecords")]
    [InlineData(400, "ExpiredTokenException", "WriteRecords")]
    [InlineData(403, "IncompleteSignatureException", "DescribeEndpoints")]
    [InlineData(403, "MissingAuthenticationTokenException", "WriteRecords")]
    [InlineData(403, null, "WriteRecords")]
    [InlineData(401, null, "DescribeEndpoints")]
    public void Classify_CredentialsOrPermissionAnswer_RetriesNamingTheCredentialsAndTheOperation(int status, string? type, string operation)
    {
        var outcome = Assert.IsType<DeliveryOutcome<TimeSeries>.Retryable>(TimestreamResponseClassifier.Classify(
            Answer(status, type, """{"message":"The request signature we calculated does not match the signature you provided."}""", operation), Sent));

        Assert.Contains("does not match the signature", outcome.Reason, StringComparison.Ordinal);
        Assert.Contains(TimestreamResponseClassifier.CredentialsHint, outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(operation == "DescribeEndpoints", outcome.Reason.Contains("(DescribeEndpoints)", StringComparison.Ordinal));
    }

    [Fact]
    public void Classify_TooLarge413_AsksTheDriverToSplit() =>
        Assert.IsType<DeliveryOutcome<TimeSeries>.RequestTooLarge>(TimestreamResponseClassifier.Classify(Answer(413, null, string.Empty), Sent));

    [Theory]
    [InlineData("com.amazonaws.timestream.v20181101#ThrottlingException", null, "ThrottlingException")]
    [InlineData("ThrottlingException:http://internal.amazon.com/coral/", null, "ThrottlingException")]
    [InlineData("aws.protocoltests.restjson#FooError:http://internal.amazon.com/coral/com.amazon.coral.validate/", null, "FooError")]
    [InlineData(null, """{"__type":"com.amazonaws.timestream.v20181101#ValidationException","message":"x"}""", "ValidationException")]
    [InlineData(null, """{"code":"AccessDeniedException"}""", "AccessDeniedException")]
    [InlineData(null, "<html>", null)]
    public void ParseErrorType_HeaderOrBody_SanitisedPerAwsJson(string? header, string? body, string? expected) =>
        Assert.Equal(expected, TimestreamClient.ParseErrorType(header, body ?? string.Empty));
}
