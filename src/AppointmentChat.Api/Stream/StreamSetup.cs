using AppointmentChat.Api.Infrastructure;
using AppointmentChat.StreamEmulator;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Stream;

internal static class StreamSetup
{
    /// <summary>Where the built-in emulator keeps its Stream app, in the data folder; delete it (service stopped) to reset.</summary>
    public const string EmulatorStateFile = "stream-emulator.json";

    public static IHostApplicationBuilder AddStreamChat(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton<DataFolder>();
        services.AddSingleton<IConfigureOptions<StreamOptions>, StreamOptionsSetup>();
        services.AddSingleton<IPostConfigureOptions<StreamOptions>, StreamOptionsSetup>();
        services.AddSingleton<IValidateOptions<StreamOptions>, StreamOptionsValidator>();
        services.AddOptions<StreamOptions>().ValidateOnStart();
        services.AddSingleton<StreamTokenSigner>();
        services.AddSingleton<StreamEndpoint>();
        services.AddScoped<StreamPacing>();

        services.AddHttpClient<StreamChatClient>(client => client.Timeout = Timeout.InfiniteTimeSpan) // the pipeline owns timeouts
            .AddStandardResilienceHandler()
            .Configure((HttpStandardResilienceOptions resilience, IServiceProvider sp) => StreamResilience.Configure(
                resilience, sp.GetRequiredService<IOptions<StreamOptions>>().Value, sp.GetRequiredService<TimeProvider>()));

        // The built-in emulator: registered always (idle unless used), mapped and started only without STREAM_API_KEY.
        services.AddStreamEmulator((sp, emulator) =>
        {
            var stream = sp.GetRequiredService<IOptions<StreamOptions>>().Value;
            emulator.ApiKey = stream.ApiKey ?? StreamOptions.EmulatorApiKey;
            emulator.ApiSecret = stream.ApiSecret ?? "";
            // Stream Cloud keeps its state while the service restarts, and so does the built-in emulator: the service
            // remembers in its database which users it has made in Stream.
            emulator.StateFile = stream.UseEmulator ? sp.GetRequiredService<DataFolder>().File(EmulatorStateFile) : null;
        });
        services.AddHostedService<EmbeddedStreamEmulator>();
        return builder;
    }

    /// <summary>Serves the Stream emulator under /stream when the service is its own Stream.</summary>
    public static WebApplication MapEmbeddedStreamEmulator(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<StreamOptions>>().Value.UseEmulator)
        {
            app.MapStreamEmulator(StreamOptions.EmulatorPath).AllowAnonymous().ExcludeFromDescription();
        }

        return app;
    }
}
