using System.Text.Json;
using System.Text.Json.Serialization;
using AppointmentChat.Api.Infrastructure;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Notifications;

internal static partial class NotificationsSetup
{
    public static IHostApplicationBuilder AddNotifications(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddApiJsonContext(NotificationsJsonContext.Default);
        services.AddOptions<PushOptions>().BindConfiguration(PushOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PushOptions>, PushOptionsValidator>();
        services.AddSingleton<FcmAccessTokens>();
        services.AddSingleton<PushDispatcherSignal>();
        services.AddHostedService<PushDispatcher>();
        services.AddScoped<GivenUpPushes>();
        services.AddHostedService<PushStartupLog>();

        // A send is not idempotent: no HTTP-level retries; the outbox retries per device instead.
        services.AddHttpClient<FcmSender>(client => client.Timeout = Timeout.InfiniteTimeSpan)
            .AddStandardResilienceHandler(resilience =>
            {
                resilience.Retry.DisableForUnsafeHttpMethods();
                resilience.AttemptTimeout.Timeout = TimeSpan.FromSeconds(10);
                resilience.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(20);
            });
        return builder;
    }

    /// <summary>One line at start saying whether push is on, and to which Firebase project.</summary>
    private sealed partial class PushStartupLog(IOptions<PushOptions> options, ILogger<PushDispatcher> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var push = options.Value;
            if (push.Enabled)
            {
                var serviceAccount = FcmAccessTokens.ClientEmail(push.Fcm.ServiceAccountFile!) ?? "?";
                LogOn(logger, push.Fcm.ProjectId!, serviceAccount, push.Fcm.BaseUrl);
            }
            else
            {
                LogOff(logger);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Push: FCM project {ProjectId} as {ServiceAccount} via {BaseUrl}")]
    private static partial void LogOn(ILogger logger, string projectId, string serviceAccount, string baseUrl);

    [LoggerMessage(Level = LogLevel.Information, Message = "Push: off (set Push__Fcm__ProjectId and Push__Fcm__ServiceAccountFile to send notifications); no notifications are queued")]
    private static partial void LogOff(ILogger logger);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(DeviceRequest))]
[JsonSerializable(typeof(DeviceResponse))]
internal sealed partial class NotificationsJsonContext : JsonSerializerContext;
