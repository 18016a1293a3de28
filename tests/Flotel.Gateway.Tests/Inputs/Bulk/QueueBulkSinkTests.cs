using System.Text;
using Flotel.Gateway.Inputs.Bulk;
using Flotel.Gateway.Queueing;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Store.Logs;
using Flotel.Wire.Logs;

namespace Flotel.Gateway.Tests.Inputs.Bulk;

public sealed class QueueBulkSinkTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AcceptAsync_QueueFullOrCannotWrite_EveryItemIs429AndNothingQueued(bool writeFails)
    {
        var sink = new ListSink(refuseFirst: 1, writeFails: writeFails);
        var bulk = new QueueBulkSink(sink, TimeProvider.System);
        LogDocument[] documents =
        [
            new("apps-2026.01.01", "a", Encoding.UTF8.GetBytes("{\"n\":1}")),
            new("apps-2026.01.01", null, Encoding.UTF8.GetBytes("{\"n\":2}")),
        ];

        var results = await bulk.AcceptAsync(documents, CancellationToken.None);

        Assert.All(results, r => Assert.Equal(429, r.Status));
        Assert.All(results, r => Assert.Equal("es_rejected_execution_exception", r.ErrorType));
        Assert.Empty(sink.Records);
        Assert.All(await bulk.AcceptAsync(documents, CancellationToken.None), r => Assert.Equal(201, r.Status)); // retried: accepted
    }
}
