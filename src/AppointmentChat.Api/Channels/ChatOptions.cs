using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Organisations;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Channels;

/// <summary>Chat behaviour (section <c>Chat</c>).</summary>
internal sealed class ChatOptions
{
    public const string Section = "Chat";

    /// <summary>Lifetime of the Stream user tokens handed to the apps (<c>exp</c> = when minted + this).</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How far in the past a token's <c>iat</c> is put: Stream refuses a token issued after its own clock's now (code 42,
    /// which the JS SDK does not answer by refreshing), so a service clock ahead of Stream's by up to this much is harmless.
    /// </summary>
    public TimeSpan TokenBackdate { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The Stream user that speaks for the practice (system messages).</summary>
    public string SystemUserId { get; set; } = "system";

    /// <summary>Unset: "Veterinary practice" in the organisation's language. An organisation may name its own.</summary>
    public string? SystemUserName { get; set; }

    /// <summary>Default for appointments that do not say: the chat opens this many minutes before the start.</summary>
    public int DefaultActivationMinutes { get; set; } = 5;

    /// <summary>The chat closes this many minutes after the appointment's end.</summary>
    public int CloseGraceMinutes { get; set; } = 30;

    /// <summary>A completed appointment's chat stays open until it closes on the clock.</summary>
    public bool KeepOpenAfterCompletion { get; set; } = true;

    /// <summary>Unset: the built-in message in the organisation's language. An organisation may set its own.</summary>
    public string? EndMessage { get; set; }

    /// <summary>Of the system messages and push texts, for organisations that set none (<c>en</c>, <c>de</c>).</summary>
    public string Language { get; set; } = "en";

    /// <summary>
    /// Organisation id → IANA zone (<c>Chat__TimeZones__clinic-1=Europe/London</c>): where a wall-clock
    /// <c>appointmentTime</c> is read for the organisation's appointments that were pushed without a <c>timeZone</c>.
    /// </summary>
    public Dictionary<string, string> TimeZones { get; set; } = new(StringComparer.Ordinal);

    /// <summary>These options with <paramref name="practice"/>'s own chat window.</summary>
    public ChatOptions For(PracticeSettings practice)
    {
        var options = (ChatOptions)MemberwiseClone();
        options.CloseGraceMinutes = practice.CloseGraceMinutes;
        return options;
    }

    /// <summary>How often the chat scheduler looks for work it was not told about (e.g. from other instances).</summary>
    public TimeSpan SchedulerPollInterval { get; set; } = TimeSpan.FromSeconds(30);
}

internal sealed class ChatOptionsValidator : IValidateOptions<ChatOptions>
{
    public ValidateOptionsResult Validate(string? name, ChatOptions options)
    {
        var failures = new List<string>();
        if (options.TokenLifetime < TimeSpan.FromMinutes(1) || options.TokenLifetime > TimeSpan.FromDays(30))
        {
            failures.Add("Chat__TokenLifetime must be between 00:01:00 and 30.00:00:00.");
        }

        if (options.TokenBackdate < TimeSpan.Zero || options.TokenBackdate > TimeSpan.FromMinutes(10))
        {
            failures.Add("Chat__TokenBackdate must be between 00:00:00 and 00:10:00.");
        }

        if (!Infrastructure.StreamIds.IsValidUserId(options.SystemUserId))
        {
            failures.Add("Chat__SystemUserId must be a valid Stream user id (letters, digits, '@', '_', '-').");
        }

        if (options.DefaultActivationMinutes is < 0 or > 1440)
        {
            failures.Add("Chat__DefaultActivationMinutes must be between 0 and 1440.");
        }

        if (options.CloseGraceMinutes is < 0 or > 10080)
        {
            failures.Add("Chat__CloseGraceMinutes must be between 0 and 10080.");
        }

        if (options.SystemUserName is not null && (string.IsNullOrWhiteSpace(options.SystemUserName) || options.SystemUserName.Length > OrganisationSettings.MaxSystemUserNameLength))
        {
            failures.Add($"Chat__SystemUserName must be 1 to {OrganisationSettings.MaxSystemUserNameLength} characters, or unset: apps show it as the practice's name.");
        }

        if (options.EndMessage is not null && (string.IsNullOrWhiteSpace(options.EndMessage) || options.EndMessage.Length > OrganisationSettings.MaxEndMessageLength))
        {
            failures.Add($"Chat__EndMessage must be 1 to {OrganisationSettings.MaxEndMessageLength} characters, or unset.");
        }

        if (!PracticeTexts.IsKnown(options.Language))
        {
            failures.Add($"Chat__Language must be one of {string.Join(", ", PracticeTexts.Languages)}.");
        }

        if (options.SchedulerPollInterval < TimeSpan.FromMilliseconds(100) || options.SchedulerPollInterval > TimeSpan.FromHours(1))
        {
            failures.Add("Chat__SchedulerPollInterval must be between 00:00:00.1 and 01:00:00.");
        }

        foreach (var (organisationId, zone) in options.TimeZones)
        {
            if (!Infrastructure.StreamIds.IsValidUserId(organisationId))
            {
                failures.Add($"Chat__TimeZones__{organisationId} does not name an organisation id (letters, digits, '@', '_', '-').");
            }
            else if (Infrastructure.TimeZones.Find(zone) is null)
            {
                failures.Add($"Chat__TimeZones__{organisationId} is '{zone}', which is not an IANA time zone id such as Europe/London (case matters).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>The service-wide chat settings, as the defaults of every organisation.</summary>
internal sealed class ChatDefaults(IOptions<ChatOptions> options) : IOrganisationDefaults
{
    public OrganisationDefaults For(string organisationId)
    {
        var chat = options.Value;
        return new OrganisationDefaults(
            chat.TimeZones.GetValueOrDefault(organisationId), chat.DefaultActivationMinutes, chat.CloseGraceMinutes,
            chat.SystemUserId, chat.SystemUserName, chat.EndMessage, chat.Language);
    }
}

internal static class ChatSetup
{
    public static IHostApplicationBuilder AddChat(this IHostApplicationBuilder builder)
    {
        builder.Services.AddApiJsonContext(ChannelsJsonContext.Default);
        builder.Services.AddOptions<ChatOptions>().BindConfiguration(ChatOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ChatOptions>, ChatOptionsValidator>();
        builder.Services.AddSingleton<IOrganisationDefaults, ChatDefaults>();
        builder.Services.AddScoped<AppointmentChats>();
        builder.Services.AddScoped<IAppointmentChat>(sp => sp.GetRequiredService<AppointmentChats>());
        builder.Services.AddScoped<ChatRecord>();
        builder.Services.AddScoped<ChatSyncProblems>();
        builder.Services.AddScoped<SharedStreamTurns>();
        builder.Services.AddChatReads<ChatQueries>();
        builder.Services.AddScoped<ChatUsersInStream>();
        builder.Services.AddSingleton<Infrastructure.StripedLocks>();
        builder.Services.AddSingleton<ChatSchedulerSignal>();
        builder.Services.AddHostedService<ChatScheduler>();
        return builder;
    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(CreateChannelRequest))]
[System.Text.Json.Serialization.JsonSerializable(typeof(ChannelResponse))]
[System.Text.Json.Serialization.JsonSerializable(typeof(EndChannelResponse))]
[System.Text.Json.Serialization.JsonSerializable(typeof(ChannelListResponse))]
internal sealed partial class ChannelsJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
