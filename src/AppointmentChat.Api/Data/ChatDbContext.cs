using AppointmentChat.Api.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace AppointmentChat.Api.Data;

/// <summary>
/// The service's database. One model, two providers: <see cref="SqliteChatDbContext"/> and
/// <see cref="PostgresChatDbContext"/> exist only so that each keeps its own migrations.
/// </summary>
internal abstract class ChatDbContext(DbContextOptions options) : DbContext(options)
{
    /// <summary>Each feature configures its own tables (an <see cref="IEntityTypeConfiguration{TEntity}"/> beside its entity).</summary>
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(ChatDbContext).Assembly);





    }

    /// <summary>Enums are stored as the same kebab-case words the API uses ("checked-in", "no-show").</summary>
    public static ValueConverter<TEnum, string> KebabCase<TEnum>() where TEnum : struct, Enum =>
        new(value => EnumNames<TEnum>.ToName(value), name => EnumNames<TEnum>.FromName(name));
}

internal sealed class SqliteChatDbContext(DbContextOptions<SqliteChatDbContext> options) : ChatDbContext(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite has no date-time type: store instants as Unix milliseconds so they sort and compare in SQL.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UnixMillisecondsConverter>();
    }

    /// <summary>Each feature's tables, then the instants marked <see cref="KeptToTheTickAttribute"/> kept exactly.</summary>
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(entity => entity.GetProperties()))
        {
            if (property.PropertyInfo?.IsDefined(typeof(KeptToTheTickAttribute), inherit: false) == true)
            {
                property.SetValueConverter(new UtcTicksConverter());
            }
        }
    }

    private sealed class UnixMillisecondsConverter() : ValueConverter<DateTimeOffset, long>(
        value => value.ToUnixTimeMilliseconds(),
        value => DateTimeOffset.FromUnixTimeMilliseconds(value));

    private sealed class UtcTicksConverter() : ValueConverter<DateTimeOffset, long>(
        value => value.UtcTicks,
        value => new DateTimeOffset(value, TimeSpan.Zero));
}

internal sealed class PostgresChatDbContext(DbContextOptions<PostgresChatDbContext> options) : ChatDbContext(options)
{
    /// <summary>
    /// Text compares byte by byte (<c>COLLATE "C"</c>), as in SQLite and in the service's own ordinal comparisons: the
    /// columns hold identifiers, codes and text that no query sorts, so a language's rules add nothing but cost. Under the
    /// database's locale every comparison of an index probe goes through the C library's <c>strcoll</c>, which the chat
    /// list, joining each of its rows to its pet owner by id, pays for on every row.
    /// </summary>
    public const string Collation = "C";

    /// <summary>Each feature configures its own tables (an <see cref="IEntityTypeConfiguration{TEntity}"/> beside its entity).</summary>
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(ChatDbContext).Assembly);
        base.OnModelCreating(modelBuilder);
        foreach (var property in modelBuilder.Model.GetEntityTypes().SelectMany(entity => entity.GetProperties()))
        {
            if ((property.GetValueConverter()?.ProviderClrType ?? property.ClrType) == typeof(string))
            {
                property.SetCollation(Collation);
            }
        }
    }
}
