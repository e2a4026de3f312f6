using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.StreamEmulator;
using Microsoft.Extensions.DependencyInjection;

namespace AppointmentChat.Api.Tests.Stream;

/// <summary>
/// The whole embedded stack (the service and its built-in Stream emulator) stopped and started again between two steps of
/// a chat, as a developer does with <c>dotnet run</c>: Stream's state is kept in the data folder, so nothing changes.
/// </summary>
public abstract class EmbeddedStackRestartTests(DatabaseKind kind)
{
    private static readonly Dictionary<string, string?> WithoutStream = new()
    {
        ["STREAM_API_KEY"] = null,
        ["STREAM_API_SECRET"] = null,
        ["STREAM_CHAT_URL"] = null,
    };

    [Fact]
    public async Task AChatOpenedBeforeARestartEndsAfterItAndANewOneOpens()
    {
        var database = await TestDatabase.CreateAsync(kind);
        var s = Scenario.New();
        await using (var before = await ChatApp.StartAsync(kind, WithoutStream, database: database))
        {
            before.KeepDatabase = true;
            await s.PushAsync(before, DateTimeOffset.UtcNow.AddMinutes(2));
            await s.CreateChatOkAsync(before);
            Assert.Equal("regular", await SendAsPetOwnerAsync(before, s, "Rex is limping"));
        }

        Assert.True(File.Exists(Path.Combine(database.Folder, "stream-emulator.json")));
        await using var after = await ChatApp.StartAsync(kind, WithoutStream, database: database);

        await (await s.EndAsync(after.ClientFor(s.VetId, "vet"))).ShouldBeOkJsonAsync();

        var channel = after.Services.GetRequiredService<ChatStore>().ChannelSnapshot("messaging", s.ChannelId)!;
        Assert.Equal(["Rex is limping", "This chat has been ended by the veterinary practice."], Scenario.Messages(channel).Select(m => m!["text"]!.GetValue<string>()));
        Assert.True(Scenario.Frozen(channel));
        Assert.Equal("error", await SendAsPetOwnerAsync(after, s, "hello?")); // Stream's answer to a message to a frozen channel

        var next = s with { AppointmentId = Ids.New("apt") };
        await next.PushAsync(after, DateTimeOffset.UtcNow.AddMinutes(2));
        await next.CreateChatOkAsync(after);
        Assert.DoesNotContain(after.Logs.Lines, l => l.Level >= Microsoft.Extensions.Logging.LogLevel.Warning && l.Message.Contains("Stream", StringComparison.Ordinal));
    }

    /// <summary>The pet owner's app: a Stream token from the service, then a message straight to the built-in Stream; the type of the message Stream answers with.</summary>
    private static async Task<string?> SendAsPetOwnerAsync(ChatApp app, Scenario s, string text)
    {
        var token = (await (await app.ClientFor(s.PetOwnerId, "pet-owner").PostJsonAsync("/api/chat/token", new { })).ShouldBeOkJsonAsync())
            .GetProperty("token").GetString()!;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(app.BaseAddress, $"stream/channels/messaging/{s.ChannelId}/message?api_key=local"))
        {
            Content = JsonContent.Create(new JsonObject { ["message"] = new JsonObject { ["text"] = text } }),
        };
        request.Headers.TryAddWithoutValidation("Authorization", token);
        request.Headers.TryAddWithoutValidation("Stream-Auth-Type", "jwt");
        using var response = await app.AnonymousClient().SendAsync(request);
        var body = await response.ShouldBeOkJsonAsync(HttpStatusCode.Created);
        return body.GetProperty("message").GetProperty("type").GetString();
    }
}

public sealed class EmbeddedStackRestartTestsOnSqlite() : EmbeddedStackRestartTests(DatabaseKind.Sqlite);

public sealed class EmbeddedStackRestartTestsOnPostgres() : EmbeddedStackRestartTests(DatabaseKind.Postgres);
