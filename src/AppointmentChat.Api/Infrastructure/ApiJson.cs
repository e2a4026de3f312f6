using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// The API's JSON rules. Each feature brings the source-generated context for its own request and response bodies
/// (<see cref="AddApiJsonContext"/>), so this floor knows none of them.
/// </summary>
internal static class ApiJson
{
    public static IHostApplicationBuilder AddApiJson(this IHostApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(options => Configure(options.SerializerOptions));
        return builder;
    }

    /// <summary>Serves the types of <paramref name="context"/> (a feature's <see cref="JsonSerializerContext"/>) in request and response bodies.</summary>
    public static IServiceCollection AddApiJsonContext(this IServiceCollection services, IJsonTypeInfoResolver context) =>
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, context));

    public static void Configure(JsonSerializerOptions options)
    {
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
