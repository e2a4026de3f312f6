namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// In-process mutual exclusion per key, over a fixed set of stripes (no per-key state to clean up).
/// Correctness never depends on it — the database decides — it only spares duplicate work, such as the
/// same Stream calls from a burst of identical requests.
/// </summary>
internal sealed class StripedLocks
{
    private const int Stripes = 256;
    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, Stripes).Select(_ => new SemaphoreSlim(1, 1))];

    public async Task<Releaser> EnterAsync(string key, CancellationToken cancellationToken)
    {
        var stripe = _stripes[(uint)StringComparer.Ordinal.GetHashCode(key) % Stripes];
        await stripe.WaitAsync(cancellationToken);
        return new Releaser(stripe);
    }

    internal readonly struct Releaser(SemaphoreSlim stripe) : IDisposable
    {
        public void Dispose() => stripe.Release();
    }
}
