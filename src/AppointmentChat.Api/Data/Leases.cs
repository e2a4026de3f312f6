using AppointmentChat.Api.Infrastructure;
using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace AppointmentChat.Api.Data;

/// <summary>What a claim does on PostgreSQL about rows another transaction holds locked.</summary>
internal enum LockedRows
{
    /// <summary>Wait for the other transaction, then take the row if it is still claimable.</summary>
    Wait,

    /// <summary>
    /// Pass over it and take the next claimable rows (<c>FOR UPDATE SKIP LOCKED</c>): for queues, where the rows are
    /// locked only by another instance claiming or working on them.
    /// </summary>
    Skip,
}

/// <summary>
/// Claiming rows of work when several instances share one database: the rows are taken by setting their
/// lease, so each row goes to exactly one instance. One statement and one commit per batch: claiming row by
/// row cost a durable commit per row.
/// <para>
/// Queues on PostgreSQL (<see cref="LockedRows.Skip"/>) select their batch <c>FOR UPDATE SKIP LOCKED</c> and lease it in
/// the same transaction, so instances claiming at once get different rows. Otherwise the candidates are read first
/// and leased with one conditional update, which for each row only one instance's update matches (PostgreSQL
/// re-checks the condition on a row another transaction just changed; SQLite has one writer at a time); instances
/// claiming at once then pick the same candidates and all but one come away with nothing, which is why queues that
/// several instances drain use the first way.
/// </para>
/// On SQLite the update takes its turn (<see cref="WriteTurns"/>): a writer that finds the
/// database locked sleeps in SQLite's busy handler (1, 2, 5 ms…), and claims colliding with the webhook receiver's
/// commits stalled both.
/// </summary>
internal sealed class Leases(WriteTurns turns)
{
    public async Task<List<TKey>> ClaimAsync<T, TKey, TOrder>(
        DbSet<T> rows,
        LockedRows whenLocked,
        Expression<Func<T, bool>> claimable,
        Expression<Func<T, TKey>> key,
        Expression<Func<T, TOrder>> order,
        Expression<Func<T, DateTimeOffset?>> leaseUntil,
        Expression<Func<T, string?>> leaseOwner,
        DateTimeOffset until,
        int batchSize,
        CancellationToken cancellationToken)
        where T : class
    {
        void Lease(Microsoft.EntityFrameworkCore.Query.UpdateSettersBuilder<T> set) => set.SetProperty(leaseUntil, until).SetProperty(leaseOwner, PollingWorker.InstanceId);
        var db = rows.GetService<ICurrentDbContext>().Context;
        if (whenLocked == LockedRows.Skip && db is PostgresChatDbContext)
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var batch = await rows.Where(claimable).OrderBy(order).Select(key).Take(batchSize)
                .TagWith(RowLocks.SkipLocked).ToListAsync(cancellationToken);
            if (batch.Count > 0)
            {
                await rows.Where(KeyIn(key, batch))
                    .ExecuteUpdateAsync(Lease, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return batch;
        }

        var candidates = await rows.AsNoTracking().Where(claimable).OrderBy(order).Select(key).Take(batchSize).ToListAsync(cancellationToken);
        if (candidates.Count == 0)
        {
            return candidates;
        }

        int taken;
        using (await turns.EnterAsync(cancellationToken))
        {
            taken = await rows.Where(claimable).Where(KeyIn(key, candidates))
                .ExecuteUpdateAsync(Lease, cancellationToken);
        }

        if (taken == candidates.Count)
        {
            return candidates;
        }

        // Another instance took some: ours are the candidates now leased to this instance until this claim's instant
        // (a candidate was unleased or its lease had run out, so no earlier claim of ours can match).
        return await rows.AsNoTracking().Where(KeyIn(key, candidates)).Where(LeasedTo(leaseUntil, leaseOwner, until))
            .OrderBy(order).Select(key).ToListAsync(cancellationToken);
    }

    /// <summary><c>row => values.Contains(key(row))</c>, with the values as a query parameter.</summary>
    private static Expression<Func<T, bool>> KeyIn<T, TKey>(Expression<Func<T, TKey>> key, List<TKey> values)
    {
        var holder = new Holder<List<TKey>>(values);
        var parameter = Expression.Property(Expression.Constant(holder), nameof(Holder<List<TKey>>.Value));
        var contains = Expression.Call(typeof(Enumerable), nameof(Enumerable.Contains), [typeof(TKey)], parameter, key.Body);
        return Expression.Lambda<Func<T, bool>>(contains, key.Parameters);
    }

    /// <summary><c>row => leaseOwner(row) == this instance &amp;&amp; leaseUntil(row) == until</c>.</summary>
    private static Expression<Func<T, bool>> LeasedTo<T>(Expression<Func<T, DateTimeOffset?>> leaseUntil, Expression<Func<T, string?>> leaseOwner, DateTimeOffset until)
    {
        var row = leaseUntil.Parameters[0];
        var owner = new ParameterRebinder(leaseOwner.Parameters[0], row).Visit(leaseOwner.Body);
        var instance = Expression.Property(Expression.Constant(new Holder<string?>(PollingWorker.InstanceId)), nameof(Holder<string?>.Value));
        var instant = Expression.Property(Expression.Constant(new Holder<DateTimeOffset?>(until)), nameof(Holder<DateTimeOffset?>.Value));
        return Expression.Lambda<Func<T, bool>>(
            Expression.AndAlso(Expression.Equal(owner, instance), Expression.Equal(leaseUntil.Body, instant)), row);
    }

    private sealed record Holder<TValue>(TValue Value);

    private sealed class ParameterRebinder(ParameterExpression from, ParameterExpression to) : ExpressionVisitor
    {
        protected override Expression VisitParameter(ParameterExpression node) => node == from ? to : base.VisitParameter(node);
    }
}
