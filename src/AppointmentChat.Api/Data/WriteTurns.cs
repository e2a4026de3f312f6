namespace AppointmentChat.Api.Data;

/// <summary>
/// Whether the database's writers take turns, and their turns. SQLite has one writer at a time, and a writer that finds
/// the database locked polls for it: under a burst, the inbox processor committing batch after batch kept the webhook
/// receiver's writer waiting for seconds. There the service's busiest writers (storing webhooks in the inbox,
/// processing them, queue claims, retention) take turns in arrival order (a released turn goes to the longest waiter,
/// so a writer that comes back at once cannot take it ahead of one already waiting), and keep their transactions
/// short. On PostgreSQL, which has row locks, nobody waits for a turn. Features ask this, never which database it is.
/// </summary>
internal sealed class WriteTurns(bool takeTurns) : IDisposable
{
    private readonly SemaphoreSlim _turn = new(1, 1);

    /// <summary>Whether writers take turns (SQLite) or not (PostgreSQL): where they do, a writer keeps its turn short.</summary>
    public bool TakeTurns => takeTurns;

    /// <summary>Waits for this writer's turn; dispose the result to pass it on.</summary>
    public async ValueTask<Turn> EnterAsync(CancellationToken cancellationToken)
    {
        if (!TakeTurns)
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
