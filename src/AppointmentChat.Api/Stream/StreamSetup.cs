using AppointmentChat.Api.Infrastructure;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Stream;

internal static class StreamSetup
{
    public static IHostApplicationBuilder AddStreamChat(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.TryAddSingleton<DataFolder>();
        services.AddSingleton<IConfigureOptions<StreamOptions>, StreamOptionsSetup>();
        services.AddSingleton<IPostConfigureOptions<StreamOptions>, StreamOptionsSetup>();
        services.AddSingleton<IValidateOptions<StreamOptions>, StreamOptionsValidator>();
        services.AddOptions<StreamOptions>().ValidateOnStart();
        services.AddSingleton<StreamTokenSigner>();
        return builder;
    }
}
