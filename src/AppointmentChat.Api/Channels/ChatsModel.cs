using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AppointmentChat.Api.Channels;

/// <summary>Where chats are kept: the columns of the appointment's row that are the chat's.</summary>
internal static class ChatsModel
{
    extension(ChatDbContext db)
    {
        public DbSet<Chat> Chats => db.Set<Chat>();
    }
}

/// <summary>
/// The chat's half of the <c>appointments</c> row (table splitting). Every appointment has its chat: the row is
/// inserted whole (<see cref="AppointmentsModel.TryInsertAppointmentAsync"/>), the chat's columns empty until it is
/// created. The column names are the row's, as they have always been, so the schema did not change when the chat got
/// a type of its own. The appointment has no navigation to its chat (it would point up, into this feature), so the
/// migrations' snapshot says the chat is required in a line of its own (Data/Migrations/DesignTimeServices.cs).
/// </summary>
internal sealed class ChatConfiguration : IEntityTypeConfiguration<Chat>
{
    public void Configure(EntityTypeBuilder<Chat> builder)
    {
        builder.ToTable("appointments");
        builder.HasKey(c => c.AppointmentId);
        builder.Property(c => c.AppointmentId).HasColumnName(nameof(Appointment.Id)).HasMaxLength(Appointment.MaxIdLength);
        builder.HasOne(c => c.Appointment).WithOne().HasForeignKey<Chat>(c => c.AppointmentId).Metadata.IsRequiredDependent = true;

        builder.Property(c => c.ChannelId).HasMaxLength(64);
        builder.Property(c => c.Status).HasColumnName("ChatStatus").HasConversion(ChatDbContext.KebabCase<ChatStatus>()).HasMaxLength(16);
        builder.Property(c => c.EndedAt).HasColumnName("ChatEndedAt");
        builder.Property(c => c.EndedBy).HasColumnName("ChatEndedBy").HasMaxLength(Auth.CallerIds.MaxIdLength); // any caller may end a chat their role allows
        builder.Property(c => c.CreatedAt).HasColumnName("ChatCreatedAt");
        builder.Property(c => c.Frozen).HasColumnName("ChatFrozen");
        builder.Property(c => c.ChannelPetOwnerId).HasMaxLength(64);
        builder.Property(c => c.ChannelVetId).HasMaxLength(64);
        builder.Property(c => c.LastMessageText).HasMaxLength(ChatLimits.MaxPreviewLength);
        builder.Property(c => c.LastMessageId).HasMaxLength(255);
        builder.Property(c => c.SyncDue).HasColumnName("ChatSyncDue");
        builder.Property(c => c.SyncAttempts).HasColumnName("ChatSyncAttempts");
        builder.Property(c => c.SyncError).HasColumnName("ChatSyncError").HasMaxLength(500);
        builder.Property(c => c.LeaseUntil).HasColumnName("ChatLeaseUntil");
        builder.Property(c => c.LeaseOwner).HasColumnName("ChatLeaseOwner").HasMaxLength(64);
        builder.Property(c => c.Version).HasColumnName(nameof(Appointment.Version)).IsConcurrencyToken();
        builder.HasIndex(c => c.ChannelId).IsUnique();
        builder.HasIndex(c => c.SyncDue).HasFilter("\"ChatSyncDue\" IS NOT NULL").HasDatabaseName("ix_chats_sync_due");

        // The chat list reads a page in index order, whatever the number of chats stored: by a member or organisation
        // (the appointment's columns, seen here as shadow properties of the same row), newest activity first.
        const string hasChat = "\"ChannelId\" IS NOT NULL";
        foreach (var (member, index) in new[] { (nameof(Appointment.VetId), "ix_chats_by_vet"), (nameof(Appointment.PetOwnerId), "ix_chats_by_pet_owner"), (nameof(Appointment.OrganisationId), "ix_chats_by_organisation") })
        {
            builder.Property<string>(member).HasColumnName(member).IsRequired().HasMaxLength(64);
            builder.HasIndex(member, nameof(Chat.LastActivityAt), nameof(Chat.AppointmentId)).HasFilter(hasChat).HasDatabaseName(index);
        }
    }
}
