using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Auth;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Data;
using AppointmentChat.Api.Demo;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Operations;
using AppointmentChat.Api.Operator;
using AppointmentChat.Api.Privacy;
using AppointmentChat.Api.Organisations;
using AppointmentChat.Api.RateLimiting;
using AppointmentChat.Api.Stream;
using AppointmentChat.Api.Tokens;
using AppointmentChat.Api.Transcripts;
using AppointmentChat.Api.Unread;
using AppointmentChat.Api.Webhooks;

var command = ServiceCommands.Parse(args); // --help, or a command: migrate, healthcheck, dev-token
if (command.ExitCode is { } answered)
{
    return answered;
}

var builder = WebApplication.CreateBuilder(command.BuilderOptions());
if (command.Name is not null)
{
    return await command.RunAsync(builder);
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
builder.AddOrganisations();
builder.AddAppointments();
builder.AddChat();
builder.AddWebhooks();
builder.AddNotifications();
builder.AddTranscripts();
builder.AddRetention();
builder.AddOperator();
builder.AddPrivacy();
builder.AddDemo();
builder.StartWorkersAfterMigration(); // after every AddXxx that adds a hosted service
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
api.MapOrganisations();
api.MapAppointments();
api.MapChannels();
api.MapTranscripts();
api.MapUnread();
api.MapWebhooks();
api.MapDevices();
api.MapOperator();
api.MapPrivacy();
app.MapEmbeddedStreamEmulator();
app.MapApiDocs();
app.MapDemo();
app.MapHealth();
app.MapMetrics();

return await app.RunChatServiceAsync();

/// <summary>The entry point, visible to the integration tests.</summary>
public partial class Program;
