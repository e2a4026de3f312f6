using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AppointmentChat.Api.Channels;

/// <summary>Where chat users are kept, and their upserts (concurrent writers of one user meet without an exception).</summary>
internal static class ChatUsersModel
{
    extension(ChatDbContext db)
    {
        public DbSet<ChatUser> ChatUsers => db.Set<ChatUser>();
    }

    /// <summary>Records users as upserted to Stream (name, pushed name, when), creating or updating each.</summary>
    public static async Task UpsertChatUserAsync(this ChatDbContext db, string id, string? name, string? pushedName, DateTimeOffset syncedAt, CancellationToken cancellationToken)
    {
        var at = db.Stored<ChatUser>(nameof(ChatUser.SyncedAt), syncedAt);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO chat_users ("Id", "Name", "PushedName", "SyncedAt", "UpdatedAt")
            VALUES ({id}, {name}, {pushedName}, {at}, {at})
            ON CONFLICT ("Id") DO UPDATE SET
                "Name" = COALESCE(excluded."Name", chat_users."Name"),
                "PushedName" = excluded."PushedName",
                "SyncedAt" = excluded."SyncedAt",
                "UpdatedAt" = excluded."UpdatedAt"
            """, cancellationToken);
    }

    /// <summary>
    /// Records the display name Stream reports for a user (user.updated): creates the user, known to Stream, or
    /// renames it. One statement, so a concurrent first record of the same user (a chat being opened, another
    /// instance) meets it without a duplicate-key error.
    /// </summary>
    public static async Task RecordReportedNameAsync(this ChatDbContext db, string id, string? name, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var stored = db.Stored<ChatUser>(nameof(ChatUser.UpdatedAt), at);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO chat_users ("Id", "Name", "SyncedAt", "UpdatedAt")
            VALUES ({id}, {name}, {stored}, {stored})
            ON CONFLICT ("Id") DO UPDATE SET "Name" = excluded."Name", "UpdatedAt" = excluded."UpdatedAt"
            WHERE chat_users."Name" IS DISTINCT FROM excluded."Name"
            """, cancellationToken);
    }
}

internal sealed class ChatUserConfiguration : IEntityTypeConfiguration<ChatUser>
{
    public void Configure(EntityTypeBuilder<ChatUser> builder)
    {
        builder.ToTable("chat_users");
        builder.HasKey(u => u.Id);
        builder.Property(u => u.Id).HasMaxLength(64);
        builder.Property(u => u.Name).HasMaxLength(Appointments.Appointment.MaxNameLength);
        builder.Property(u => u.PushedName).HasMaxLength(Appointments.Appointment.MaxNameLength);
    }
}
