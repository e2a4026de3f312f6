using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace AppointmentChat.Api.Tests.Data;

/// <summary>Migrations at start: an empty database is set up without a word of alarm, and a second start finds nothing to do.</summary>
public sealed class MigrationTests
{
    [Theory]
    [InlineData(DatabaseKind.Sqlite)]
    [InlineData(DatabaseKind.Postgres)]
    public async Task AFirstStartOnAnEmptyDatabaseAndTheStartAfterItLogNoErrors(DatabaseKind kind)
    {
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        var first = await ChatApp.StartAsync(kind);
        first.KeepDatabase = true;
        var firstErrors = first.Logs.Lines.Where(l => l.Level >= LogLevel.Error).Select(l => l.ToString()).ToList();
        await first.DisposeAsync();

        await using var second = await ChatApp.StartAsync(kind, database: first.Database);

        Assert.Empty(firstErrors);
        Assert.Empty(second.Logs.Lines.Where(l => l.Level >= LogLevel.Error).Select(l => l.ToString()));
    }
}
