using System.Net;
using System.Net.Http.Json;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Auth;

/// <summary>
/// What a caller's id and organisation may be is decided at authentication, alike on both databases: ids of up to 255
/// characters act as their role allows (a long service-account subject ends chats and cancels appointments, and is
/// recorded whole), ids no column or query could take (a NUL, over 255 characters) and odd organisations get 401, and
/// only Stream-shaped ids hold devices. Before, PostgreSQL answered 500 where SQLite stored what PostgreSQL refuses.
/// </summary>
public abstract class CallerIdTests(DatabaseKind kind) : IAsyncLifetime
{
    private static readonly string LongId = "svc-" + new string('a', 76); // 80 characters, as OIDC service accounts have
    private ServiceWithEmulator? _stack;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    private async Task<ServiceWithEmulator> StackAsync()
    {
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        return _stack = await ServiceWithEmulator.StartAsync(kind);
    }

    [Fact]
    public async Task AnAdminWithAnEightyCharacterIdEndsAChatOfTheirClinicAndIsRecordedWhole()
    {
        var stack = await StackAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddMinutes(2));
        await s.CreateChatOkAsync(stack.App);

        var ended = await s.EndAsync(stack.App.ClientFor(LongId, "admin", s.Org));

        await ended.ShouldBeOkJsonAsync();
        var endedBy = await stack.App.InDatabaseAsync(db => Task.FromResult(db.Chats.Single(c => c.AppointmentId == s.AppointmentId).EndedBy));
        Assert.Equal(LongId, endedBy);
    }

    [Fact]
    public async Task AServiceAccountWithAnEightyCharacterIdCancelsAnAppointmentAndItsChatEnds()
    {
        var stack = await StackAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddMinutes(2));
        await s.CreateChatOkAsync(stack.App);

        var cancelled = await stack.App.ClientFor(LongId, "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(DateTimeOffset.UtcNow.AddMinutes(2), status: "cancelled"));

        await cancelled.ShouldBeOkJsonAsync();
        await Eventually.TrueAsync(() => stack.App.InDatabaseAsync(db => Task.FromResult(db.Chats.Single(c => c.AppointmentId == s.AppointmentId).EndedBy == LongId)), "the chat ended by the service account");
    }

    public static TheoryData<string, string, string?> RefusedCallers() => new()
    {
        { "a NUL in the id", "vet\0one", null },
        { "a 256-character id", new string('v', 256), null },
        { "a control character in the id", "vet\u0007", null },
        { "a NUL in the organisation", "vet-1", "clinic\0one" },
        { "a 65-character organisation", "vet-1", new string('c', 65) },
        { "an organisation with a space", "vet-1", "clinic one" },
    };

    [Theory]
    [MemberData(nameof(RefusedCallers))]
    public async Task ACallerWhoseIdOrOrganisationNoColumnCouldHoldIsRefusedWith401OnEveryEndpoint(string why, string id, string? org)
    {
        var stack = await StackAsync();
        var client = stack.App.ClientFor(id, "vet", org);
        var s = Scenario.New();

        var answers = new[]
        {
            await client.GetAsync("/api/chat/channels"),
            await client.PostAsJsonAsync("/api/devices", new { token = "device-" + Guid.NewGuid().ToString("N"), platform = "ios" }),
            await client.DeleteAsync("/api/devices/some-token"),
            await client.PostAsJsonAsync("/api/chat/token", new { }),
            await client.PostAsync($"/api/chat/channels/{s.ChannelId}/end", null),
            await stack.App.ClientFor(id, "service", org).PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(DateTimeOffset.UtcNow.AddMinutes(2))),
        };

        foreach (var answer in answers)
        {
            Assert.True(answer.StatusCode == HttpStatusCode.Unauthorized, $"{why}: {answer.RequestMessage!.Method} {answer.RequestMessage.RequestUri} answered {(int)answer.StatusCode}");
            var problem = await answer.ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
            Assert.Contains("accepts", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ACallerWhoseIdIsNoStreamUserIdHoldsNoDevices()
    {
        var stack = await StackAsync();
        var client = stack.App.ClientFor(LongId, "service");

        var registered = await client.PostAsJsonAsync("/api/devices", new { token = "device-" + Guid.NewGuid().ToString("N"), platform = "ios" });
        var removed = await client.DeleteAsync("/api/devices/some-token");

        await registered.ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        await removed.ShouldBeProblemAsync(HttpStatusCode.Forbidden);
    }
}

public sealed class CallerIdTestsOnSqlite() : CallerIdTests(DatabaseKind.Sqlite);

public sealed class CallerIdTestsOnPostgres() : CallerIdTests(DatabaseKind.Postgres);
