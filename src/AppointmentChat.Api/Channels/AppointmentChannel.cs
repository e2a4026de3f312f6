using System.Globalization;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Channels;

/// <summary>How an appointment's chat looks in Stream: its channel's name and custom data.</summary>
internal static class AppointmentChannel
{
    /// <summary>The channel's custom data: what the apps show and filter on, from the appointment, and the chat's status.</summary>
    public static JsonObject Data(Appointment appointment, ChatStatus status) => new()
    {
        ["name"] = Name(appointment.PetOwnerName),
        ["appointmentId"] = appointment.Id,
        ["appointmentTime"] = appointment.StartsAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        ["activationMinutes"] = appointment.ChatActivationMinutes,
        ["organisationId"] = appointment.OrganisationId,
        ["petName"] = appointment.PetName,
        ["status"] = StatusName(status),
        ["frozen"] = status != ChatStatus.Active,
    };

    /// <summary>The channel's name, as the apps show it.</summary>
    public static string Name(string? petOwnerName) => $"Chat with {petOwnerName ?? "Pet Owner"}";

    /// <summary>A chat status as the channel's <c>status</c> field and the API write it.</summary>
    public static string StatusName(ChatStatus status) => EnumNames<ChatStatus>.ToName(status);
}
