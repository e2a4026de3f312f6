using System.Text.Json;
using System.Text.Json.Serialization;
using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Tokens;

internal static class TokensSetup
{
    public static IHostApplicationBuilder AddTokens(this IHostApplicationBuilder builder)
    {
        builder.Services.AddApiJsonContext(TokensJsonContext.Default);
        return builder;
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(TokenRequest))]
[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(RevokeResponse))]
[JsonSerializable(typeof(ChatConfigResponse))]
internal sealed partial class TokensJsonContext : JsonSerializerContext;
