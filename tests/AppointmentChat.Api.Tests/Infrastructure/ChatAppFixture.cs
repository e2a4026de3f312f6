namespace AppointmentChat.Api.Tests.Infrastructure;

/// <summary>
/// One app per test class and database kind, started on first use. Tests share it, so they use
/// their own ids (see <see cref="Ids"/>).
/// </summary>
public abstract class ChatAppFixture(DatabaseKind kind) : LazyFixture<ChatApp>(kind)
{
    protected virtual IDictionary<string, string?>? Settings => null;

    protected override async Task<ChatApp> CreateAsync() => Own(await ChatApp.StartAsync(Kind, Settings));
}

public sealed class SqliteApp() : ChatAppFixture(DatabaseKind.Sqlite);

public sealed class PostgresApp() : ChatAppFixture(DatabaseKind.Postgres);

public static class Ids
{
    /// <summary>A fresh id with a readable prefix, valid for Stream and for appointment ids.</summary>
    public static string New(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 52)];
}
