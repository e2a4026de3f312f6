namespace AppointmentChat.Api.Data;

/// <summary>
/// SQLite has one writer at a time, and a writer that finds the database locked polls for it: under a burst,
/// the inbox processor committing batch after batch kept the webhook receiver's writer waiting for seconds.
/// The service's busiest writers (webhooks moved into the inbox from their staging file, processing them, queue
/// claims, retention) take turns through this gate instead, in arrival order (a released turn goes to the longest
/// waiter, so a writer that comes back at once cannot take it ahead of one already waiting). On PostgreSQL, which
/// has row locks, the gate is open.
/// </summary>
internal sealed class SqliteWriteGate(bool enabled) : IDisposable
{
    private readonly SemaphoreSlim _turn = new(1, 1);

    /// <summary>Whether writers take turns (SQLite) or not (PostgreSQL).</summary>
    public bool Enabled => enabled;

    /// <summary>Waits for this writer's turn; dispose the result to pass it on.</summary>
    public async ValueTask<Turn> EnterAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return default;
        }

        await _turn.WaitAsync(cancellationToken);
        return new Turn(_turn);
    }

    public void Dispose() => _turn.Dispose();

    public readonly struct Turn(SemaphoreSlim? turn) : IDisposable
    {
        public void Dispose() => turn?.Release();
    }
}
