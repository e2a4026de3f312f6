using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Apis.Auth.OAuth2;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace AppointmentChat.Api.Notifications;

/// <summary>The outcome of one FCM send.</summary>
internal abstract record FcmResult
{
    public sealed record Sent(string? MessageName) : FcmResult;

    /// <summary>The token is no longer registered (404 / UNREGISTERED): drop the device.</summary>
    public sealed record Unregistered(string Reason) : FcmResult;

    /// <summary>Worth trying again later (429, 5xx, auth, timeouts), after <see cref="After"/> if FCM said.</summary>
    public sealed record Retry(string Reason, TimeSpan? After) : FcmResult;

    /// <summary>Refused for good (e.g. an invalid token or payload).</summary>
    public sealed record Failed(string Reason) : FcmResult;
}

/// <summary>
/// Sends one notification to one device with FCM HTTP v1
/// (<c>POST {base}/v1/projects/{projectId}/messages:send</c>), with an OAuth2 access token from the
/// Google service account. Sending is not idempotent, so this client never retries a send itself:
/// the outbox does, per device.
/// </summary>
internal sealed class FcmSender(HttpClient http, FcmAccessTokens tokens, IOptions<PushOptions> options)
{
    /// <param name="badge">The recipient's unread messages across their chats, as the app's icon shows it.</param>
    public async Task<FcmResult> SendAsync(string deviceToken, Notification notification, int badge, CancellationToken cancellationToken)
    {
        var fcm = options.Value.Fcm;
        var url = new Uri($"{fcm.BaseUrl.TrimEnd('/')}/v1/projects/{Uri.EscapeDataString(fcm.ProjectId!)}/messages:send");
        var collapseKey = "n" + notification.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var message = new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["token"] = deviceToken,
                ["notification"] = new JsonObject { ["title"] = notification.Title, ["body"] = notification.Body },
                ["data"] = new JsonObject
                {
                    ["appointmentId"] = notification.AppointmentId,
                    ["channelId"] = notification.ChannelId,
                    ["messageId"] = notification.MessageId ?? "",
                    // FCM's data values are strings; Android apps set their badge from it.
                    ["badge"] = badge.ToString(System.Globalization.CultureInfo.InvariantCulture),
                },
                // Should a send be repeated after a crash, devices show it once.
                ["android"] = new JsonObject { ["collapse_key"] = collapseKey },
                ["apns"] = new JsonObject
                {
                    ["headers"] = new JsonObject { ["apns-collapse-id"] = collapseKey },
                    ["payload"] = new JsonObject { ["aps"] = new JsonObject { ["badge"] = badge } },
                },
                ["webpush"] = new JsonObject { ["headers"] = new JsonObject { ["Topic"] = collapseKey } },
            },
        };

        string accessToken;
        try
        {
            accessToken = await tokens.GetAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or Google.Apis.Auth.OAuth2.Responses.TokenResponseException or InvalidOperationException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new FcmResult.Retry($"no access token: {ex.GetType().Name}", null);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(message.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return new FcmResult.Sent(Field(body, "name"));
            }

            var code = ErrorCode(body);
            var reason = $"{(int)response.StatusCode} {code ?? response.ReasonPhrase}";
            return response.StatusCode switch
            {
                HttpStatusCode.NotFound => new FcmResult.Unregistered(reason),
                _ when code == "UNREGISTERED" => new FcmResult.Unregistered(reason),
                HttpStatusCode.TooManyRequests or HttpStatusCode.Unauthorized or HttpStatusCode.RequestTimeout or >= HttpStatusCode.InternalServerError
                    => new FcmResult.Retry(reason, RetryAfter(response)),
                _ => new FcmResult.Failed(reason),
            };
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested
            && ex is HttpRequestException or TimeoutRejectedException or BrokenCircuitException or TaskCanceledException)
        {
            return new FcmResult.Retry(ex.GetType().Name, null);
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date - DateTimeOffset.UtcNow);

    /// <summary>FCM's <c>error.details[].errorCode</c> (e.g. UNREGISTERED), else <c>error.status</c>.</summary>
    private static string? ErrorCode(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (!document.RootElement.TryGetProperty("error", out var error))
            {
                return null;
            }

            if (error.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Array)
            {
                foreach (var detail in details.EnumerateArray())
                {
                    if (detail.TryGetProperty("errorCode", out var code) && code.GetString() is { } value)
                    {
                        return value;
                    }
                }
            }

            return error.TryGetProperty("status", out var status) ? status.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Field(string body, string name)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty(name, out var value) ? value.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>OAuth2 access tokens for FCM from the Google service account (cached and refreshed by Google's library).</summary>
internal sealed class FcmAccessTokens(IOptions<PushOptions> options)
{
    public const string Scope = "https://www.googleapis.com/auth/firebase.messaging";

    private readonly Lazy<ITokenAccess> _credential = new(() =>
        CredentialFactory.FromFile<ServiceAccountCredential>(options.Value.Fcm.ServiceAccountFile!).ToGoogleCredential().CreateScoped(Scope));

    public Task<string> GetAsync(CancellationToken cancellationToken) =>
        _credential.Value.GetAccessTokenForRequestAsync(cancellationToken: cancellationToken);

    /// <summary>The service account's e-mail, for the start-up log line.</summary>
    public static string? ClientEmail(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.TryGetProperty("client_email", out var email) ? email.GetString() : null;
    }
}
