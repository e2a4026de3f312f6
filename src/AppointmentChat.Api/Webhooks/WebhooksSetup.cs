using System.Text.Json;
using System.Text.Json.Serialization;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Webhooks.Events;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Webhooks;

internal static class WebhooksSetup
{
    public static IHostApplicationBuilder AddWebhooks(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddApiJsonContext(WebhooksJsonContext.Default);
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();
        services.AddSingleton<WebhookSignature>();
        services.AddWithPostgresFastPath<IInboxInsert, EfInboxInsert, NpgsqlBatchInboxInsert>(ServiceLifetime.Singleton);
        services.AddSingleton<InboxWriter>();
        // Before the writer and the processor start: webhooks an earlier version acknowledged join the inbox first.
        services.AddHostedService<StagingFileUpgrade>();
        services.AddHostedService(sp => sp.GetRequiredService<InboxWriter>());
        services.AddStreamEventHandlers();
        services.AddSingleton<WebhookProcessorSignal>();
        services.AddHostedService<WebhookProcessor>();
        services.AddScoped<DeadWebhooks>();
        services.AddSingleton<StreamCatchUpSignal>();
        services.AddHostedService<StreamCatchUp>();
        return builder;
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(WebhookAck))]
[JsonSerializable(typeof(DeadEventsResponse))]
[JsonSerializable(typeof(DeadEvent))]
[JsonSerializable(typeof(CatchUpRequested))]
internal sealed partial class WebhooksJsonContext : JsonSerializerContext;

/// <summary>The answer to <c>POST /api/webhooks/catch-up</c>: a pass is on its way.</summary>
internal sealed record CatchUpRequested(bool Requested);
