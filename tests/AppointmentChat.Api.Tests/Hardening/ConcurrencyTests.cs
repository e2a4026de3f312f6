using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using AppointmentChat.Api.Notifications;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.StreamEmulator;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Xunit.Sdk;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// Many callers at once on three instances sharing one PostgreSQL (and one Stream): each request gets one clear
/// answer, no constraint violation ever surfaces as a 500, and the database and Stream agree afterwards. (Three
/// instances as separate processes, with one killed, are in Operations/MultiInstanceTests.)
/// </summary>
public sealed class ConcurrencyTests(ThreeInstances fixture) : IClassFixture<ThreeInstances>
{
    [Fact]
    public async Task AHundredConcurrentCreatesOfOneChatAcrossThreeInstancesAnswerAlikeAndLeaveOneChannelAndOneRecord()
    {
        var (apps, emulator) = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(apps[0], DateTimeOffset.UtcNow.AddMinutes(2));

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            s.CreateChatAsync(apps[i % 3].ClientFor(i % 2 == 0 ? s.PetOwnerId : s.VetId))));

        var bodies = await Task.WhenAll(responses.Select(r => r.ShouldBeOkJsonAsync()));
        Assert.Single(bodies.Select(b => b.GetRawText()).Distinct());
        Assert.Single(emulator.Store.ChannelIds(), id => id == "messaging:" + s.ChannelId);
        Assert.Equal(1, await apps[1].InDatabaseAsync(db => db.Chats.CountAsync(a => a.ChannelId == s.ChannelId)));
        await Consistency.AgreeAsync(apps[0], emulator, TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task ConcurrentCreatesEndsAndReschedulesOfAChatEachGetOneAnswerAndLeaveTheDatabaseAndStreamAgreeing()
    {
        var (apps, emulator) = await fixture.StartAsync();
        var scenarios = Enumerable.Range(0, 8).Select(_ => Scenario.New()).ToList();
        foreach (var s in scenarios)
        {
            await s.PushAsync(apps[0], DateTimeOffset.UtcNow.AddMinutes(2));
        }

        // Creates, ends and reschedules of each chat, shuffled and started together across the three instances.
        var random = new Random(9);
        var calls = scenarios.SelectMany(s =>
            Enumerable.Range(0, 6).Select(i => ("create", s, (Func<ChatApp, Task<HttpResponseMessage>>)(app => s.CreateChatAsync(app.ClientFor(s.PetOwnerId, "pet-owner")))))
            .Concat(Enumerable.Range(0, 4).Select(i => ("end", s, (Func<ChatApp, Task<HttpResponseMessage>>)(app => s.EndAsync(app.ClientFor(s.VetId, "vet"))))))
            .Concat(Enumerable.Range(0, 2).Select(i => ("reschedule", s, (Func<ChatApp, Task<HttpResponseMessage>>)(app =>
                app.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", s.Facts(DateTimeOffset.UtcNow.AddMinutes(3 + i))))))))
            .OrderBy(_ => random.Next()).ToList();

        var answers = await Task.WhenAll(calls.Select(async (call, i) =>
        {
            var response = await call.Item3(apps[i % 3]);
            return (Kind: call.Item1, Scenario: call.s, Status: (int)response.StatusCode, Body: await response.Content.ReadAsStringAsync(), Type: response.Content.Headers.ContentType?.MediaType);
        }));

        var allowed = new Dictionary<string, int[]>
        {
            ["create"] = [200, 409], // 409: the chat ended, or the appointment kept changing, while it was being created
            ["end"] = [200, 403], // 403: no chat yet (the answer an unknown chat gets)
            ["reschedule"] = [200],
        };
        foreach (var answer in answers)
        {
            if (!allowed[answer.Kind].Contains(answer.Status))
            {
                Assert.Fail($"{answer.Kind} answered {answer.Status}: {answer.Body}\n{Warnings(apps)}");
            }

            Assert.True(answer.Status < 400 || answer.Type == "application/problem+json", answer.Body);
        }

        await Consistency.AgreeAsync(apps[0], emulator, TimeSpan.FromSeconds(30));
        foreach (var s in scenarios.Where(s => answers.Any(a => a.Scenario == s && a.Kind == "end" && a.Status == 200)))
        {
            Assert.Equal("ended", Scenario.Custom(s.StreamChannel(emulator)!, "status"));
        }

        Figures.Report("Concurrent create/end/reschedule answers: " + string.Join(", ", answers.GroupBy(a => $"{a.Kind} {a.Status}").OrderBy(g => g.Key).Select(g => $"{g.Key} ×{g.Count()}")));
    }

    [Fact]
    public async Task ConcurrentRegistrationsOfOneTokenLeaveOneDeviceAndTellExactlyOneCallOfAUserThatItCreatedIt()
    {
        var (apps, _) = await fixture.StartAsync();

        // One user, thirty registrations of one new token at once: one 201, the rest 200.
        var user = Ids.New("owner");
        var token = "device-" + Guid.NewGuid().ToString("N");
        var same = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => apps[i % 3].ClientFor(user).PostAsJsonAsync("/api/devices", new { token, platform = "ios" })));
        Assert.Equal(1, same.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(29, same.Count(r => r.StatusCode == HttpStatusCode.OK));

        // Five users fighting over another token, ten calls each: every call succeeds, one device is left, owned by one of them.
        var contested = "device-" + Guid.NewGuid().ToString("N");
        var users = Enumerable.Range(0, 5).Select(_ => Ids.New("owner")).ToList();
        var fight = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => apps[i % 3].ClientFor(users[i % 5]).PostAsJsonAsync("/api/devices", new { token = contested, platform = "android" })));
        Assert.All(fight, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, r.StatusCode.ToString()));

        var devices = await apps[2].InDatabaseAsync(db => db.Devices.Where(d => d.Token == token || d.Token == contested).ToListAsync());
        Assert.Equal(2, devices.Count);
        Assert.Contains(devices.Single(d => d.Token == contested).UserId, users);
    }

    /// <summary>The instances' warnings and errors, with their exceptions: what a wrong answer needs explained.</summary>
    private static string Warnings(IEnumerable<ChatApp> apps) =>
        string.Join("\n", apps.SelectMany(a => a.Logs.Lines).Where(l => l.Level >= LogLevel.Warning).TakeLast(10));
}

/// <summary>Three instances of the service in this process on one PostgreSQL database, with one Stream emulator.</summary>
public sealed class ThreeInstances() : LazyFixture<(IReadOnlyList<ChatApp> Apps, EmulatorHost Emulator)>(DatabaseKind.Postgres)
{
    protected override async Task<(IReadOnlyList<ChatApp> Apps, EmulatorHost Emulator)> CreateAsync()
    {
        var emulator = Own(await EmulatorHost.StartAsync());
        // Concurrent bursts across three instances, past Stream's per-second limits: what these tests look at is the races.
        emulator.RaiseRateLimits();
        var database = Own(await TestDatabase.CreateAsync(DatabaseKind.Postgres));
        var apps = new List<ChatApp>();
        for (var i = 0; i < 3; i++)
        {
            var app = Own(await ServiceWithEmulator.StartAppAsync(emulator, DatabaseKind.Postgres, new Dictionary<string, string?>
            {
                ["Chat:SchedulerPollInterval"] = "00:00:01",
                ["Workers:LeaseDuration"] = "00:00:05",
            }, database: database));
            app.KeepDatabase = true;
            apps.Add(app);
        }

        return (apps, emulator);
    }
}

/// <summary>What the scheduler applies to Stream stays applied when a request changes the chat at the same moment.</summary>
public sealed class SchedulerRaceTests
{
    [Fact]
    public async Task AMemberChangeIsWorkedOutFromStreamsMembersNotFromAStaleRecordOfThem()
    {
        await using var stack = await ServiceWithEmulator.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?> { ["Chat:SchedulerPollInterval"] = "00:00:01" });
        var s = Scenario.New();
        var start = DateTimeOffset.UtcNow.AddMinutes(2);
        await s.PushAsync(stack.App, start);
        await s.CreateChatOkAsync(stack.App);

        // What a vet change applied to Stream, whose record then lost to a concurrent update, leaves: the record behind Stream.
        await stack.App.InDatabaseAsync(db => db.Chats.Where(a => a.AppointmentId == s.AppointmentId).ExecuteUpdateAsync(set => set.SetProperty(a => a.ChannelVetId, "vet-who-left")));
        var newVet = Ids.New("vet");
        await s.PushAsync(stack.App, start, vetId: newVet);

        await Consistency.AgreeAsync(stack, TimeSpan.FromSeconds(20));
        var members = s.StreamChannel(stack.Emulator)!["members"]!.AsArray().Select(m => m!["user_id"]!.GetValue<string>()).Order();
        Assert.Equal(new[] { s.PetOwnerId, newVet }.Order(), members);
    }

    [Fact]
    public async Task AnEndThatLandsWhileTheSchedulerOpensTheChatStaysEndedInStream()
    {
        await using var stack = await ServiceWithEmulator.StartAsync(DatabaseKind.Sqlite, new Dictionary<string, string?>
        {
            ["Stream:AttemptTimeout"] = "00:00:04", // the scheduler's delayed call below must not time out
            ["Stream:TotalTimeout"] = "00:00:08",
            ["Chat:SchedulerPollInterval"] = "00:00:01",
        });
        var s = Scenario.New();
        await s.PushAsync(stack.App, DateTimeOffset.UtcNow.AddMinutes(5).AddSeconds(3), activationMinutes: 5); // opens in ~3 s
        Assert.Equal("pending", (await s.CreateChatOkAsync(stack.App)).GetProperty("status").GetString());

        // The scheduler's call that opens the chat is held in Stream for 2 s; the vet ends the chat meanwhile.
        stack.Emulator.Faults.Add(new FaultRule { Kind = FaultKind.Delay, DelayMilliseconds = 2000, Method = "PATCH", PathContains = "/" + s.ChannelId, Times = 1 });
        await Eventually.TrueAsync(() => stack.Emulator.Faults.Applied == 1, "the scheduler's opening call to reach Stream", TimeSpan.FromSeconds(20));
        var started = Stopwatch.GetTimestamp();
        await (await s.EndAsync(stack.App.ClientFor(s.VetId, "vet"))).ShouldBeOkJsonAsync();
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(1.5), "the end should have been applied before the held call");

        // The held call then reopens the chat in Stream; the scheduler must notice and end it again.
        await Task.Delay(2500);
        await Consistency.AgreeAsync(stack, TimeSpan.FromSeconds(20));
        var channel = s.StreamChannel(stack.Emulator)!;
        Assert.Equal(("ended", true), (Scenario.Custom(channel, "status"), Scenario.Frozen(channel)));
        Assert.Single(Scenario.Messages(channel), m => m!["id"]!.GetValue<string>() == s.ChannelId + "-ended");
    }
}
