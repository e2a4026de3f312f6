using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AppointmentChat.Bench.Ceiling;

/// <summary>
/// The fastest this machine can answer POST /api/chat/token: validate the bearer JWT (the same library
/// and parameters as the service) and sign an HS256 user token — nothing else. Benchmarks report every
/// scenario as a ratio to this, so results compare across machines.
///   dotnet Ceiling.dll --urls http://127.0.0.1:5099 --jwt-secret ... --stream-secret ...
/// With <c>fake-fcm</c> first it is the push-latency scenario's FCM instead (<see cref="FakeFcm"/>).
/// </summary>
internal static class CeilingProgram
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["fake-fcm", .. var rest])
        {
            return await FakeFcm.RunAsync(rest);
        }

        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        var jwtSecret = builder.Configuration["jwt-secret"] ?? throw new InvalidOperationException("--jwt-secret is required");
        var streamKey = Encoding.UTF8.GetBytes(builder.Configuration["stream-secret"] ?? throw new InvalidOperationException("--stream-secret is required"));
        var handler = new JsonWebTokenHandler { MapInboundClaims = false };
        var parameters = new TokenValidationParameters
        {
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(jwtSecret)),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ValidateIssuer = false,
            ValidateAudience = false,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
        };
        var header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"u8.ToArray();

        var app = builder.Build();
        app.MapGet("/health/live", () => "ok");
        app.MapPost("/api/chat/token", async (HttpContext http) =>
        {
            var authorization = http.Request.Headers.Authorization.ToString();
            if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal))
            {
                return Results.StatusCode(401);
            }

            var result = await handler.ValidateTokenAsync(authorization[7..], parameters);
            if (!result.IsValid || !result.Claims.TryGetValue("sub", out var subject) || subject is not string userId)
            {
                return Results.StatusCode(401);
            }

            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var payload = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["user_id"] = userId, ["iat"] = now, ["exp"] = now + 86400 });
            var signingInput = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(header) + "." + Base64Url.EncodeToString(payload));
            var token = Encoding.ASCII.GetString(signingInput) + "." + Base64Url.EncodeToString(HMACSHA256.HashData(streamKey, signingInput));
            return Results.Json(new Dictionary<string, object> { ["token"] = token, ["expiresAt"] = (now + 86400) * 1000 });
        });

        await app.RunAsync();
        return 0;
    }
}
