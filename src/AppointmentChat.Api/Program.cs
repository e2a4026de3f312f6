using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Demo;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Operations;
using AppointmentChat.Api.Operator;
using AppointmentChat.Api.RateLimiting;
using AppointmentChat.Api.Stream;
using AppointmentChat.Api.Tokens;
using AppointmentChat.Api.Webhooks;

var builder = WebApplication.CreateBuilder(args);
if (args is [DevTokens.CommandName, .. var commandArgs])
{
    return DevTokens.RunCommand(builder, commandArgs);
}

builder.AddServiceDefaults();
builder.AddApiDocs();
builder.AddTelemetry();
builder.AddHealth();
builder.AddApiJson();
builder.AddApiProblemDetails();
builder.AddApiCors();
builder.AddChatAuth();
builder.AddRateLimits();
builder.AddChatDatabase();
builder.AddStreamChat();
builder.AddTokens();
builder.AddAppointments();
builder.AddChat();
builder.AddWebhooks();
builder.AddNotifications();
builder.AddRetention();
builder.AddOperator();
builder.AddDemo();
builder.RedactCredentialsInLogs(); // last: it wraps every logger provider added above

var app = builder.Build();
if (!app.HasValidSettings())
{
    return 1;
}

app.UseSecurityHeaders();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseCors(); // endpoints that ask for it: /api for Cors__AllowedOrigins, the built-in Stream emulator's API
app.UseFailedAuthenticationLimit();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();

var api = app.MapApi();
api.MapTokens();
api.MapAppointments();
api.MapChannels();
api.MapWebhooks();
api.MapDevices();
api.MapOperator();
app.MapEmbeddedStreamEmulator();
app.MapApiDocs();
app.MapDemo();
app.MapHealth();
app.MapMetrics();

return await app.RunChatServiceAsync();

/// <summary>The entry point, visible to the integration tests.</summary>
public partial class Program;
