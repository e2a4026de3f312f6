namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// What the tests of one class share (an app, a stack), started by the first test that asks for it rather than before
/// the class runs: so a PostgreSQL variant skips where there is no server instead of failing in its fixture.
/// </summary>
public abstract class LazyFixture<T>(DatabaseKind kind) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Stack<IAsyncDisposable> _owned = new();
    private bool _started;
    private T _value = default!;

    public DatabaseKind Kind { get; } = kind;

    /// <summary>Starts what the tests share on the first call; every later call gets the same.</summary>
    public async Task<T> StartAsync()
    {
        if (Kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        await _gate.WaitAsync();
        try
        {
            if (!_started)
            {
                _value = await CreateAsync();
                _started = true;
            }

            ForNextTest(_value);
            return _value;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Readies what the tests share for the test asking for it (nothing unless a fixture says so).</summary>
    protected virtual void ForNextTest(T value)
    {
    }

    /// <summary>Starts what the tests share, handing each part to <see cref="Own{TPart}"/>.</summary>
    protected abstract Task<T> CreateAsync();

    /// <summary>Disposes <paramref name="part"/> with the fixture, parts in the reverse order they were started.</summary>
    protected TPart Own<TPart>(TPart part) where TPart : IAsyncDisposable
    {
        _owned.Push(part);
        return part;
    }

    public async ValueTask DisposeAsync()
    {
        while (_owned.TryPop(out var part))
        {
            await part.DisposeAsync();
        }

        _gate.Dispose();
        GC.SuppressFinalize(this);
    }
}
