using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Channels;

/// <summary>An appointment with its people, pushed by the PMS, and the calls the apps make about it.</summary>
public sealed record Scenario(string AppointmentId, string PetOwnerId, string VetId, string Org)
{
    public string ChannelId => "appointment-" + AppointmentId;

    public static Scenario New(string org = "clinic-1") => new(Ids.New("apt"), Ids.New("owner"), Ids.New("vet"), org);

    public JsonObject Facts(DateTimeOffset startsAt, string status = "upcoming", int duration = 30, int? activationMinutes = null, string? vetId = null) => new()
    {
        ["petOwnerId"] = PetOwnerId,
        ["petOwnerName"] = "Alex Owner",
        ["petName"] = "Rex",
        ["vetId"] = vetId ?? VetId,
        ["vetName"] = "Dr. " + (vetId ?? VetId),
        ["organisationId"] = Org,
        ["startsAt"] = startsAt.ToString("O"),
        ["durationMinutes"] = duration,
        ["status"] = status,
        ["chatActivationMinutes"] = activationMinutes,
    };

    public async Task PushAsync(ChatApp app, DateTimeOffset startsAt, string status = "upcoming", int duration = 30, int? activationMinutes = null, string? vetId = null)
    {
        var response = await app.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{AppointmentId}", Facts(startsAt, status, duration, activationMinutes, vetId));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    public Task<HttpResponseMessage> CreateChatAsync(HttpClient client, object? body = null) =>
        client.PostAsJsonAsync("/api/chat/channels", body ?? new { appointmentId = AppointmentId });

    public async Task<JsonElement> CreateChatOkAsync(ChatApp app) =>
        await (await CreateChatAsync(app.ClientFor(PetOwnerId, "pet-owner"))).ShouldBeOkJsonAsync();

    public Task<HttpResponseMessage> EndAsync(HttpClient client) => client.PostAsync($"/api/chat/channels/{ChannelId}/end", null);

    public JsonObject? StreamChannel(EmulatorHost emulator) => emulator.Store.ChannelSnapshot("messaging", ChannelId);

    public static string? Custom(JsonObject snapshot, string field) => snapshot["channel"]![field]?.ToString();

    public static bool Frozen(JsonObject snapshot) => snapshot["channel"]!["frozen"]!.GetValue<bool>();

    public static JsonArray Messages(JsonObject snapshot) => snapshot["messages"]!.AsArray();

    /// <summary>A member sends a message as the app would: sent, answered with Stream's frozen-channel error message, or refused.</summary>
    public static SendOutcome UserSend(EmulatorHost emulator, Scenario scenario, string userId, string text)
    {
        try
        {
            var sent = emulator.Store.SendMessage(new AppointmentChat.StreamEmulator.StreamCaller(false, userId, null), "messaging", scenario.ChannelId, new JsonObject { ["text"] = text });
            return sent["message"]!["type"]!.GetValue<string>() == "error" ? SendOutcome.Frozen : SendOutcome.Sent;
        }
        catch (AppointmentChat.StreamEmulator.StreamErrorException)
        {
            return SendOutcome.Refused;
        }
    }
}

/// <summary>What became of a member's message.</summary>
public enum SendOutcome
{
    Sent,

    /// <summary>Stream answered with its "channel frozen" error message: nothing was stored or sent.</summary>
    Frozen,

    Refused,
}
