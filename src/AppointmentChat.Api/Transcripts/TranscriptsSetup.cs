using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Infrastructure;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Transcripts;

internal static class TranscriptsSetup
{
    public static IHostApplicationBuilder AddTranscripts(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddApiJsonContext(TranscriptsJsonContext.Default);
        services.AddOptions<TranscriptOptions>().BindConfiguration(TranscriptOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TranscriptOptions>, TranscriptOptionsValidator>();
        services.AddScoped<TranscriptReader>();
        services.AddScoped<GivenUpTranscripts>();
        services.AddScoped<IChatEndedHook, TranscriptCallbackQueue>();
        services.AddSingleton<TranscriptDispatcherSignal>();
        services.AddHostedService<TranscriptDispatcher>();

        // A delivery is a POST the PMS may have acted on: no HTTP-level retries; the outbox retries with backoff.
        services.AddHttpClient<TranscriptCallbackClient>(client => client.Timeout = Timeout.InfiniteTimeSpan)
            .AddStandardResilienceHandler()
            .Configure((resilience, provider) =>
            {
                var timeout = provider.GetRequiredService<IOptions<TranscriptOptions>>().Value.CallbackTimeout;
                resilience.Retry.DisableForUnsafeHttpMethods();
                resilience.AttemptTimeout.Timeout = timeout;
                resilience.TotalRequestTimeout.Timeout = timeout + TimeSpan.FromSeconds(1);
                resilience.CircuitBreaker.SamplingDuration = timeout * 2;
            });
        return builder;
    }
}
