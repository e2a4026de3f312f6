namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// One app per test class and database kind, started on first use. Tests share it, so they use
/// their own ids (see <see cref="Ids"/>).
/// </summary>
public abstract class ChatAppFixture(DatabaseKind kind) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ChatApp? _app;

    public DatabaseKind Kind { get; } = kind;

    protected virtual IDictionary<string, string?>? Settings => null;

    public async Task<ChatApp> AppAsync()
    {
        if (Kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        await _gate.WaitAsync();
        try
        {
            return _app ??= await ChatApp.StartAsync(Kind, Settings);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        _gate.Dispose();
        GC.SuppressFinalize(this);
    }
}

public sealed class SqliteApp() : ChatAppFixture(DatabaseKind.Sqlite);

public sealed class PostgresApp() : ChatAppFixture(DatabaseKind.Postgres);

public static class Ids
{
    /// <summary>A fresh id with a readable prefix, valid for Stream and for appointment ids.</summary>
    public static string New(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 52)];
}
