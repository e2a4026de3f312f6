using Microsoft.EntityFrameworkCore;

namespace AppointmentChat.Api.Data;

/// <summary>
/// For the features' own SQL: inserts that meet an existing row without an exception (<c>INSERT … ON CONFLICT</c>, which
/// SQLite and PostgreSQL both speak) need their values as each provider stores them.
/// </summary>
internal static class StoredValues
{
    /// <summary>A value as the provider stores it (e.g. an instant as Unix milliseconds on SQLite, an enum as its name).</summary>
    public static object? Stored<TEntity>(this ChatDbContext db, string property, object? value) =>
        db.Model.FindEntityType(typeof(TEntity))!.FindProperty(property)!.GetTypeMapping().Converter is { } converter
            ? converter.ConvertToProvider(value)
            : value;
}
