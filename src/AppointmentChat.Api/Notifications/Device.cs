namespace AppointmentChat.Api.Notifications;

/// <summary>A phone or browser that receives a user's push notifications (its FCM registration token).</summary>
internal sealed class Device
{
    public required string Token { get; init; }

    public required string UserId { get; set; }

    public DevicePlatform Platform { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When it was last registered; the oldest devices go first past the per-user limit.</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    public const int MaxTokenLength = 4096;
}

internal enum DevicePlatform
{
    Ios,
    Android,
    Web,
}
