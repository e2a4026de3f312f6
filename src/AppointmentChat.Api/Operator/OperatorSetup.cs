using System.Text.Json;
using System.Text.Json.Serialization;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Transcripts;
using AppointmentChat.Api.Webhooks;

namespace AppointmentChat.Api.Operator;

internal static class OperatorSetup
{
    public static IHostApplicationBuilder AddOperator(this IHostApplicationBuilder builder)
    {
        builder.Services.AddApiJsonContext(OperatorJsonContext.Default);
        builder.Services.AddScoped<OperatorAudit>();
        return builder;
    }
}

internal sealed record OperatorWebhooksResponse(IReadOnlyList<DeadEvent> Webhooks);

internal sealed record OperatorChatsResponse(IReadOnlyList<ChatSyncProblem> Chats);

internal sealed record OperatorPushesResponse(IReadOnlyList<GivenUpPush> Pushes);

internal sealed record OperatorTranscriptsResponse(IReadOnlyList<GivenUpTranscript> Transcripts);

internal sealed record OperatorAuditResponse(IReadOnlyList<OperatorAuditEntry> Actions);

/// <summary>The document's examples.</summary>
internal static class OperatorExamples
{
    public static readonly DateTimeOffset Now = new(2030, 1, 15, 13, 5, 0, TimeSpan.Zero);

    public static readonly DeadEvent Webhook = new(42, "id:8f3c2a1e-webhook-id", "message.new", "appointment-apt-1", Now, 8, "DbUpdateException: the chat's row could not be written");

    public static readonly ChatSyncProblem Chat = new("apt-1", "appointment-apt-1", "clinic-1", 4, "Stream answered 503 to PATCH /channels/messaging/appointment-apt-1", Now.AddMinutes(1));

    public static readonly GivenUpPush Push = new(7, "owner-1", "apt-1", "appointment-apt-1", "m-1", Now, 8, "FCM 503 UNAVAILABLE");

    public static readonly GivenUpTranscript Transcript = new(9, "apt-1", "appointment-apt-1", "clinic-1", Now, 8, "the PMS answered 503");

    public static readonly OperatorAuditEntry Action = new(3, Now, "ops-alice", "operator", OperatorActions.Retry, OperatorActions.Chat, "apt-1", OperatorActions.Done, Chat.Error);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(OperatorWebhooksResponse))]
[JsonSerializable(typeof(OperatorChatsResponse))]
[JsonSerializable(typeof(OperatorPushesResponse))]
[JsonSerializable(typeof(OperatorAuditResponse))]
[JsonSerializable(typeof(DeadEvent))]
[JsonSerializable(typeof(ChatSyncProblem))]
[JsonSerializable(typeof(GivenUpPush))]
[JsonSerializable(typeof(OperatorTranscriptsResponse))]
[JsonSerializable(typeof(GivenUpTranscript))]
internal sealed partial class OperatorJsonContext : JsonSerializerContext;
