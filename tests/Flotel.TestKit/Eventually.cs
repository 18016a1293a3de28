namespace Flotel.TestKit;

/// <summary>Polls a condition with a bounded deadline (never a timing assertion: the deadline only stops a hung test).</summary>
public static class Eventually
{
    /// <summary>Returns once <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> naming <paramref name="what"/> after <paramref name="timeoutSeconds"/>.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, int timeoutSeconds = 20)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {timeoutSeconds} s waiting for {what}");
            }

            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    /// <summary>Polls <paramref name="probe"/> every 200 ms until it returns true or <paramref name="timeout"/> passes; returns the last result.</summary>
    public static async Task<bool> PollAsync(Func<Task<bool>> probe, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (await probe().ConfigureAwait(false))
            {
                return true;
            }

            if (deadline.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(200).ConfigureAwait(false);
        }
    }
}
