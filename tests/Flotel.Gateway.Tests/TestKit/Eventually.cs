namespace Flotel.Gateway.Tests.TestKit;

/// <summary>Polls a condition with a bounded deadline (never a timing assertion: the deadline only stops a hung test).</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, int timeoutSeconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {timeoutSeconds} s waiting for {what}");
            }

            await Task.Delay(20);
        }
    }
}
