using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// Claiming rows of work when several instances share one database: a row is taken by setting its lease
/// with a conditional update, so for each row exactly one instance's update matches.
/// </summary>
internal static class Leases
{
    public static async Task<List<TKey>> ClaimAsync<T, TKey, TOrder>(
        IQueryable<T> rows,
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
        var candidates = await rows.AsNoTracking().Where(claimable).OrderBy(order).Select(key).Take(batchSize).ToListAsync(cancellationToken);
        var claimed = new List<TKey>(candidates.Count);
        foreach (var candidate in candidates)
        {
            var taken = await rows.Where(claimable).Where(KeyIs(key, candidate))
                .ExecuteUpdateAsync(set => set.SetProperty(leaseUntil, until).SetProperty(leaseOwner, PollingWorker.InstanceId), cancellationToken);
            if (taken == 1)
            {
                claimed.Add(candidate);
            }
        }

        return claimed;
    }

    /// <summary><c>row => key(row) == value</c>, with the value as a query parameter.</summary>
    private static Expression<Func<T, bool>> KeyIs<T, TKey>(Expression<Func<T, TKey>> key, TKey value)
    {
        var holder = new Holder<TKey>(value);
        var parameter = Expression.Property(Expression.Constant(holder), nameof(Holder<TKey>.Value));
        return Expression.Lambda<Func<T, bool>>(Expression.Equal(key.Body, parameter), key.Parameters);
    }

    private sealed record Holder<TValue>(TValue Value);
}
