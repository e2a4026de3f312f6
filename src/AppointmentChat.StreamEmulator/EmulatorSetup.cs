using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AppointmentChat.StreamEmulator;

/// <summary>Hosting the emulator: standalone (Program.cs) or inside another app under a path prefix.</summary>
public static class EmulatorSetup
{
    /// <summary>Stream's API answers browsers from any origin (apps authenticate with tokens, not cookies).</summary>
    public const string CorsPolicy = "stream-emulator";

    public static IServiceCollection AddStreamEmulator(this IServiceCollection services, Action<EmulatorSettings> configure) =>
        services.AddStreamEmulator((_, settings) => configure(settings));

    /// <summary>Registers the emulator; <paramref name="configure"/> runs when the settings are first needed.</summary>
    public static IServiceCollection AddStreamEmulator(this IServiceCollection services, Action<IServiceProvider, EmulatorSettings> configure)
    {
        services.AddSingleton(sp =>
        {
            var settings = new EmulatorSettings();
            configure(sp, settings);
            return settings;
        });
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<WebhookDispatcher>();
        services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddSingleton<ClientConnections>();
        services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<ClientConnections>());
        services.AddSingleton(sp =>
        {
            var store = ActivatorUtilities.CreateInstance<ChatStore>(sp);
            if (sp.GetRequiredService<EmulatorSettings>().StateFile is { } path)
            {
                StateFile.Load(path, store);
            }

            return store;
        });
        services.AddHostedService<StateFile>();
        services.AddSingleton<FaultInjector>();
        services.AddSingleton<RateLimitCounter>();
        services.AddSingleton<ApiCallLog>();
        services.AddSingleton<UploadStore>();
        services.AddHttpClient(WebhookDispatcher.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy => policy
            .AllowAnyOrigin()
            .AllowAnyHeader()
            .AllowAnyMethod()
            .WithExposedHeaders("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")));
        return services;
    }

    /// <summary>
    /// Maps the Stream API, the client WebSocket (<c>/connect</c>) and the control API under
    /// <paramref name="prefix"/> ("" for the root). The Stream API allows cross-origin calls, as Stream does,
    /// so a web app on its own origin can use the emulator: the host must <c>UseCors()</c>.
    /// </summary>
    public static RouteGroupBuilder MapStreamEmulator(this IEndpointRouteBuilder routes, string prefix = "")
    {
        var group = routes.MapGroup(prefix);
        var api = group.MapGroup("").RequireCors(CorsPolicy);
        api.MapStreamApi();
        api.MapClientSocket();
        group.MapControlApi();
        return group;
    }
}
