namespace AppointmentChat.Api.Notifications;

/// <summary>
/// The outbox: one row per recipient of a new message, written in the same transaction as the webhook
/// that caused it (so a redelivered webhook queues nothing twice), sent by <see cref="PushDispatcher"/>.
/// </summary>
internal sealed class Notification
{
    public long Id { get; init; }

    /// <summary>The message and the recipient: unique, so a message notifies each recipient once, however often its event arrives.</summary>
    public required string DedupKey { get; init; }

    /// <summary>Room for a message's key (at most 200 characters, as a webhook's) and its recipient's.</summary>
    public const int MaxDedupKeyLength = 270;

    public required string RecipientUserId { get; init; }

    public required string Title { get; init; }

    public required string Body { get; init; }

    public required string AppointmentId { get; init; }

    public required string ChannelId { get; init; }

    public string? MessageId { get; init; }

    public NotificationStatus Status { get; set; } = NotificationStatus.Pending;

    public int Attempts { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? SentAt { get; set; }

    public string? Error { get; set; }

    public DateTimeOffset? LeaseUntil { get; set; }

    public string? LeaseOwner { get; set; }
}

internal enum NotificationStatus
{
    Pending,

    /// <summary>Sent to every device the recipient had (or they had none).</summary>
    Sent,

    /// <summary>Gave up after the maximum attempts.</summary>
    Failed,

    /// <summary>Given up, and an operator decided it is not to be sent: kept with its error until retention deletes it.</summary>
    Discarded,
}

/// <summary>What became of a notification on one device, so a retry never sends to a device twice.</summary>
internal sealed class PushDelivery
{
    public long Id { get; init; }

    public long NotificationId { get; init; }

    public required string Token { get; init; }

    public DeliveryStatus Status { get; set; }

    public int Attempts { get; set; }

    public DateTimeOffset At { get; set; }

    public string? Error { get; set; }
}

internal enum DeliveryStatus
{
    Sent,

    /// <summary>FCM said the token is no longer registered: the device was removed.</summary>
    Unregistered,

    /// <summary>Refused for good (e.g. an invalid token).</summary>
    Failed,

    /// <summary>Failed for now (429, 5xx, timeout); the notification is retried.</summary>
    Retrying,

    /// <summary>Being sent: recorded before the call to FCM, so that a crash during it is known afterwards.</summary>
    Sending,

    /// <summary>The process died while sending: FCM may or may not have it. Not sent again (no device shows a push twice).</summary>
    Interrupted,
}
