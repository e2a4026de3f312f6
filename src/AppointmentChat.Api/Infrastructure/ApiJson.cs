using System.Text.Json;
using System.Text.Json.Serialization;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>Source-generated JSON for the API's request and response bodies.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Tokens.TokenRequest))]
[JsonSerializable(typeof(Tokens.TokenResponse))]
[JsonSerializable(typeof(Tokens.RevokeResponse))]
[JsonSerializable(typeof(Tokens.ChatConfigResponse))]
[JsonSerializable(typeof(Appointments.AppointmentRequest))]
[JsonSerializable(typeof(Appointments.AppointmentResponse))]
[JsonSerializable(typeof(Channels.CreateChannelRequest))]
[JsonSerializable(typeof(Channels.ChannelResponse))]
[JsonSerializable(typeof(Channels.EndChannelResponse))]
[JsonSerializable(typeof(Channels.ChannelListResponse))]
[JsonSerializable(typeof(Webhooks.WebhookAck))]
[JsonSerializable(typeof(Webhooks.DeadEventsResponse))]
[JsonSerializable(typeof(Webhooks.DeadEvent))]
[JsonSerializable(typeof(Notifications.DeviceRequest))]
[JsonSerializable(typeof(Notifications.DeviceResponse))]
[JsonSerializable(typeof(Demo.DemoSessionRequest))]
[JsonSerializable(typeof(Demo.DemoSession))]
[JsonSerializable(typeof(IReadOnlyList<Demo.DemoPerson>))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;

internal static class ApiJson
{
    public static IHostApplicationBuilder AddApiJson(this IHostApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(options => Configure(options.SerializerOptions));
        return builder;
    }

    public static void Configure(JsonSerializerOptions options)
    {
        options.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        // A misspelt or unexpected field is an error the caller should hear about, not something silently dropped.
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        // A field given twice is ambiguous (which one did the caller mean, which one did a proxy check?): refused.
        options.AllowDuplicateProperties = false;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.MaxDepth = 16;
        options.NumberHandling = JsonNumberHandling.Strict; // "30" is not a number
        options.Converters.Add(new StrictDateTimeOffsetConverter());
        options.Converters.Add(new KebabCaseEnumConverter());
    }
}
