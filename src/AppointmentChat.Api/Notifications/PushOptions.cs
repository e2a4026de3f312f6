using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Notifications;

/// <summary>Section <c>Push</c>. Without <c>Push__Fcm__ProjectId</c> and a service account, push is off.</summary>
internal sealed class PushOptions
{
    public const string Section = "Push";

    public FcmOptions Fcm { get; set; } = new();

    /// <summary>Put the start of the message in the notification (off: "New message").</summary>
    public bool IncludePreview { get; set; } = true;

    public int PreviewLength { get; set; } = 100;

    /// <summary>Devices kept per user; registering one more drops the oldest.</summary>
    public int MaxDevicesPerUser { get; set; } = 10;

    /// <summary>Attempts before a notification is given up.</summary>
    public int MaxAttempts { get; set; } = 8;

    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(15);

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    public bool Enabled => !string.IsNullOrWhiteSpace(Fcm.ProjectId) && !string.IsNullOrWhiteSpace(Fcm.ServiceAccountFile);

    internal sealed class FcmOptions
    {
        public string? ProjectId { get; set; }

        /// <summary>A Google service-account JSON file; its <c>token_uri</c> is where access tokens come from.</summary>
        public string? ServiceAccountFile { get; set; }

        public string BaseUrl { get; set; } = "https://fcm.googleapis.com";
    }
}

internal sealed class PushOptionsValidator : IValidateOptions<PushOptions>
{
    public ValidateOptionsResult Validate(string? name, PushOptions options)
    {
        var failures = new List<string>();
        var fcm = options.Fcm;
        var hasProject = !string.IsNullOrWhiteSpace(fcm.ProjectId);
        var hasFile = !string.IsNullOrWhiteSpace(fcm.ServiceAccountFile);
        if (hasProject != hasFile)
        {
            failures.Add("Push__Fcm__ProjectId and Push__Fcm__ServiceAccountFile go together: set both to send push notifications, or neither.");
        }

        if (hasFile && ServiceAccountProblem(fcm.ServiceAccountFile!) is { } problem)
        {
            failures.Add($"Push__Fcm__ServiceAccountFile {problem}");
        }

        if (!Uri.TryCreate(fcm.BaseUrl, UriKind.Absolute, out var baseUrl) || (baseUrl.Scheme != Uri.UriSchemeHttps && baseUrl.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add("Push__Fcm__BaseUrl must be an absolute http(s) URL.");
        }

        if (options.PreviewLength is < 10 or > 1000)
        {
            failures.Add("Push__PreviewLength must be between 10 and 1000.");
        }

        if (options.MaxDevicesPerUser is < 1 or > 100)
        {
            failures.Add("Push__MaxDevicesPerUser must be between 1 and 100.");
        }

        if (options.MaxAttempts is < 1 or > 100)
        {
            failures.Add("Push__MaxAttempts must be between 1 and 100.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Why the file is not a usable service account, without echoing its contents.</summary>
    private static string? ServiceAccountProblem(string path)
    {
        if (!File.Exists(path))
        {
            return $"'{path}' does not exist.";
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            foreach (var field in new[] { "client_email", "private_key", "token_uri" })
            {
                if (!root.TryGetProperty(field, out var value) || value.ValueKind != JsonValueKind.String)
                {
                    return $"'{path}' is not a Google service-account key: it has no '{field}'.";
                }
            }

            return null;
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            return $"'{path}' could not be read as JSON ({ex.GetType().Name}).";
        }
    }
}
