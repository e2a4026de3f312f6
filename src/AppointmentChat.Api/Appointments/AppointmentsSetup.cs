using System.Text.Json;
using System.Text.Json.Serialization;
using AppointmentChat.Api.Infrastructure;

namespace AppointmentChat.Api.Appointments;

internal static class AppointmentsSetup
{
    public static IHostApplicationBuilder AddAppointments(this IHostApplicationBuilder builder)
    {
        builder.Services.AddApiJsonContext(AppointmentsJsonContext.Default);
        return builder;
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AppointmentRequest))]
[JsonSerializable(typeof(AppointmentResponse))]
internal sealed partial class AppointmentsJsonContext : JsonSerializerContext;
