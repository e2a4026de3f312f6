using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AppointmentChat.Api.Data;

/// <summary>
/// SQLite lets one writer at a time; a second one gets SQLITE_BUSY. Left to Microsoft.Data.Sqlite, a busy
/// command is retried after a 150 ms sleep, which under a burst of webhooks adds seconds to the slowest requests. With
/// <c>busy_timeout</c> SQLite itself waits for the lock in steps of a few milliseconds, so a writer goes as
/// soon as the other commits.
/// </summary>
internal sealed class SqliteBusyTimeout : DbConnectionInterceptor
{
    public const string Pragma = "PRAGMA busy_timeout = 10000;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    /// <summary>Sets the timeout on an open connection (it lasts as long as the native connection).</summary>
    public static void Apply(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        command.ExecuteNonQuery();
    }
}
