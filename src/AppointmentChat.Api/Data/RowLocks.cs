using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AppointmentChat.Api.Data;

/// <summary>
/// Row locks, which EF Core's LINQ cannot ask for: a PostgreSQL query tagged <see cref="SkipLocked"/>
/// (<c>TagWith</c>) is sent with <c>FOR UPDATE SKIP LOCKED</c> at its end, locking the rows it returns and passing over
/// rows another transaction holds.
/// </summary>
internal sealed class RowLocks : DbCommandInterceptor
{
    public const string SkipLocked = "lock rows: for update skip locked";

    /// <summary>How EF Core writes a tag: a comment line before the statement.</summary>
    private const string SkipLockedComment = "-- " + SkipLocked;

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Apply(command);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Apply(command);
        return ValueTask.FromResult(result);
    }

    private static void Apply(DbCommand command)
    {
        if (command.CommandText.StartsWith(SkipLockedComment, StringComparison.Ordinal))
        {
            command.CommandText += "\nFOR UPDATE SKIP LOCKED";
        }
    }
}
