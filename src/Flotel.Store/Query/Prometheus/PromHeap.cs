namespace Flotel.Store.Query.Prometheus;

/// <summary>
/// The k best elements of a <c>topk</c>/<c>bottomk</c> group, kept in a binary heap whose root is the worst kept
/// element. Which of several equal values survive depends on the heap's layout, so the layout is the textbook
/// array heap (sift-up on insert, sift-down on replacing the root) and ties replace nothing: with the same input
/// order (series sorted by labels) the same series win ties as in Prometheus.
/// </summary>
internal static class PromHeap
{
    /// <summary>Root order for topk: the smallest value at the root; NaN below everything so it is evicted first.</summary>
    public static bool TopkLess(double a, double b) => double.IsNaN(a) || a < b;

    /// <summary>Root order for bottomk: the largest value at the root; NaN evicted first.</summary>
    public static bool BottomkLess(double a, double b) => double.IsNaN(a) || a > b;

    /// <summary>Offers <paramref name="s"/> to a heap holding at most <paramref name="k"/> elements.</summary>
    public static void Offer(List<VectorSample> heap, VectorSample s, long k, Func<double, double, bool> less)
    {
        if (heap.Count < k)
        {
            heap.Add(s);
            Up(heap, heap.Count - 1, less);
            return;
        }

        // The root is the worst kept element (NaN counts as worst); only a strictly better value replaces it.
        if (!double.IsNaN(s.Value) && less(heap[0].Value, s.Value))
        {
            heap[0] = s;
            Down(heap, 0, less);
        }
    }

    private static void Up(List<VectorSample> heap, int j, Func<double, double, bool> less)
    {
        while (j > 0)
        {
            var parent = (j - 1) / 2;
            if (!less(heap[j].Value, heap[parent].Value))
            {
                break;
            }

            (heap[parent], heap[j]) = (heap[j], heap[parent]);
            j = parent;
        }
    }

    private static void Down(List<VectorSample> heap, int i, Func<double, double, bool> less)
    {
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= heap.Count)
            {
                return;
            }

            if (child + 1 < heap.Count && less(heap[child + 1].Value, heap[child].Value))
            {
                child++;
            }

            if (!less(heap[child].Value, heap[i].Value))
            {
                return;
            }

            (heap[i], heap[child]) = (heap[child], heap[i]);
            i = child;
        }
    }
}
