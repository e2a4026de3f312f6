using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Transcripts;

/// <summary>
/// The outbox of transcript callbacks: one row per ended chat whose organisation has a callback, delivered by
/// <see cref="TranscriptDispatcher"/> with its attempts, next attempt and last error.
/// </summary>
internal sealed class TranscriptCallback
{
    public long Id { get; init; }

    /// <summary>Unique: a chat's transcript is delivered once, however often its end is applied.</summary>
    public required string AppointmentId { get; init; }

    public required string ChannelId { get; init; }

    public required string OrganisationId { get; init; }

    public TranscriptCallbackStatus Status { get; set; } = TranscriptCallbackStatus.Pending;

    public int Attempts { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? DeliveredAt { get; set; }

    public string? Error { get; set; }

    public DateTimeOffset? LeaseUntil { get; set; }

    public string? LeaseOwner { get; set; }
}

internal enum TranscriptCallbackStatus
{
    Pending,

    /// <summary>The PMS answered 2xx.</summary>
    Delivered,

    /// <summary>Given up after the maximum attempts.</summary>
    Failed,

    /// <summary>Given up, and an operator decided it is not to be sent.</summary>
    Discarded,
}

internal sealed class TranscriptCallbackConfiguration : IEntityTypeConfiguration<TranscriptCallback>
{
    public void Configure(EntityTypeBuilder<TranscriptCallback> builder)
    {
        builder.ToTable("transcript_callbacks");
        builder.HasKey(c => c.Id);
        builder.Property(c => c.AppointmentId).HasMaxLength(Appointment.MaxIdLength);
        builder.HasIndex(c => c.AppointmentId).IsUnique();
        builder.Property(c => c.ChannelId).HasMaxLength(64);
        builder.Property(c => c.OrganisationId).HasMaxLength(64);
        builder.Property(c => c.Status).HasConversion(ChatDbContext.KebabCase<TranscriptCallbackStatus>()).HasMaxLength(16);
        builder.Property(c => c.Error).HasMaxLength(500);
        builder.Property(c => c.LeaseOwner).HasMaxLength(64);
        builder.HasIndex(c => new { c.Status, c.NextAttemptAt }).HasDatabaseName("ix_transcript_callbacks_due");
    }
}

/// <summary>
/// The hook on a chat's end (<see cref="IChatEndedHook"/>): queues its transcript for the organisation's PMS, if the
/// organisation has a callback. One statement that skips a chat already queued, so applying an end again queues nothing twice.
/// </summary>
internal sealed class TranscriptCallbackQueue(ChatDbContext db, IOptions<TranscriptOptions> options, TranscriptDispatcherSignal dispatcher, TimeProvider time)
    : IChatEndedHook
{
    public async Task ChatEndedAsync(Chat chat, CancellationToken cancellationToken)
    {
        var organisationId = chat.Appointment.OrganisationId;
        if (options.Value.CallbackOf(organisationId) is null || chat.ChannelId is not { } channelId)
        {
            return;
        }

        var now = db.Stored<TranscriptCallback>(nameof(TranscriptCallback.NextAttemptAt), time.GetUtcNow());
        var pending = db.Stored<TranscriptCallback>(nameof(TranscriptCallback.Status), TranscriptCallbackStatus.Pending);
        var queued = await db.Database.ExecuteSqlAsync($"""
            INSERT INTO transcript_callbacks ("AppointmentId", "ChannelId", "OrganisationId", "Status", "Attempts", "NextAttemptAt", "CreatedAt")
            VALUES ({chat.AppointmentId}, {channelId}, {organisationId}, {pending}, 0, {now}, {now})
            ON CONFLICT ("AppointmentId") DO NOTHING
            """, cancellationToken);
        if (queued == 1)
        {
            dispatcher.Wake();
        }
    }
}
