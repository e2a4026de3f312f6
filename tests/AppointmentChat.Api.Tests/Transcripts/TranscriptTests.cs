using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Transcripts;
using AppointmentChat.StreamEmulator;
using Microsoft.EntityFrameworkCore;
using NodaTime;

namespace AppointmentChat.Api.Tests.Transcripts;

/// <summary>
/// The transcript endpoint and the signed callback through the real pipeline: messages sent in the emulator (Stream),
/// read back through the service over HTTP with real JWTs, delivered to a fake PMS that checks signatures; on SQLite
/// and PostgreSQL.
/// </summary>
public abstract class TranscriptTests(DatabaseKind kind) : IAsyncLifetime
{
    private FakePms _pms = null!;
    private ServiceWithEmulator? _stack;

    public async ValueTask InitializeAsync() => _pms = await FakePms.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }

        await _pms.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private async Task<ServiceWithEmulator> StackAsync(IDictionary<string, string?>? settings = null)
    {
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        return _stack = await ServiceWithEmulator.StartAsync(kind, settings);
    }

    /// <summary>An open chat: the appointment starts in two minutes, so its window is open.</summary>
    private static async Task<Scenario> OpenChatAsync(ServiceWithEmulator stack, string org = "clinic-1", string? timeZone = null)
    {
        var s = Scenario.New(org);
        var facts = s.Facts(DateTimeOffset.UtcNow.AddMinutes(2));
        if (timeZone is not null)
        {
            facts["timeZone"] = timeZone;
        }

        var pushed = await stack.App.ClientFor("pms", "service").PutAsJsonAsync($"/api/appointments/{s.AppointmentId}", facts);
        Assert.True(pushed.IsSuccessStatusCode, await pushed.Content.ReadAsStringAsync());
        await s.CreateChatOkAsync(stack.App);
        return s;
    }

    private static JsonObject Send(ServiceWithEmulator stack, Scenario s, string userId, JsonObject message) =>
        (JsonObject)stack.Emulator.Store.SendMessage(new StreamCaller(false, userId, null), "messaging", s.ChannelId, message)["message"]!;

    private static string TranscriptUrl(Scenario s, string query = "") => $"/api/chat/channels/{s.ChannelId}/transcript{query}";

    private static async Task<JsonElement> TranscriptAsync(ServiceWithEmulator stack, Scenario s) =>
        await (await stack.App.ClientFor(s.VetId, "vet").GetAsync(TranscriptUrl(s))).ShouldBeOkJsonAsync();

    [Fact]
    public async Task TheTranscriptHoldsEveryMessageOldestFirstOverMoreThanOnePageOfStreamsMessages()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        const int count = 2 * 300 + 17; // three pages of Stream's largest, the first short
        for (var i = 0; i < count; i++)
        {
            Send(stack, s, i % 2 == 0 ? s.PetOwnerId : s.VetId, new JsonObject { ["text"] = $"message {i}" });
        }

        var transcript = await TranscriptAsync(stack, s);

        var messages = transcript.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"message {i}"), messages.Select(m => m.GetProperty("text").GetString()));
        Assert.Equal(count, messages.Select(m => m.GetProperty("id").GetString()).Distinct().Count());
        Assert.All(messages.Where((_, i) => i % 2 == 0), m =>
        {
            Assert.Equal("pet-owner", m.GetProperty("role").GetString());
            Assert.Equal(s.PetOwnerId, m.GetProperty("author").GetProperty("id").GetString());
            Assert.Equal("Alex Owner", m.GetProperty("author").GetProperty("name").GetString());
        });
        Assert.All(messages.Where((_, i) => i % 2 == 1), m => Assert.Equal("vet", m.GetProperty("role").GetString()));
        Assert.Equal(s.ChannelId, transcript.GetProperty("channelId").GetString());
        Assert.Equal(s.AppointmentId, transcript.GetProperty("appointmentId").GetString());
        Assert.Equal("Rex", transcript.GetProperty("petName").GetString());
    }

    [Fact]
    public async Task TimesAreInTheOrganisationsTimeZoneWithTheOffsetOfThatMoment()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack, timeZone: "America/New_York");
        var sent = Send(stack, s, s.PetOwnerId, new JsonObject { ["text"] = "Hello" });

        var transcript = await TranscriptAsync(stack, s);

        Assert.Equal("America/New_York", transcript.GetProperty("timeZone").GetString());
        var sentAt = transcript.GetProperty("messages")[0].GetProperty("sentAt").GetString()!;
        var instant = DateTimeOffset.Parse(sent["created_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        var offset = DateTimeZoneProviders.Tzdb["America/New_York"].GetUtcOffset(Instant.FromDateTimeOffset(instant)).ToTimeSpan();
        Assert.Equal(instant.ToOffset(offset).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", System.Globalization.CultureInfo.InvariantCulture), sentAt);
        Assert.NotEqual(TimeSpan.Zero, DateTimeOffset.Parse(sentAt, System.Globalization.CultureInfo.InvariantCulture).Offset);
    }

    [Fact]
    public async Task AttachmentsAreLinkedAndADeletedMessageIsMarkedWithoutItsText()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        Send(stack, s, s.PetOwnerId, new JsonObject
        {
            ["text"] = "Here is his paw",
            ["attachments"] = new JsonArray(
                new JsonObject { ["type"] = "image", ["title"] = "paw.jpg", ["image_url"] = "https://cdn.example/paw.jpg" },
                new JsonObject { ["type"] = "file", ["title"] = "lab-report.pdf", ["asset_url"] = "https://cdn.example/lab-report.pdf", ["mime_type"] = "application/pdf" }),
        });
        var regretted = Send(stack, s, s.PetOwnerId, new JsonObject { ["text"] = "My card number is 4111 1111 1111 1111" });
        stack.Emulator.Store.DeleteMessage(StreamCaller.Server, regretted["id"]!.GetValue<string>());

        var messages = (await TranscriptAsync(stack, s)).GetProperty("messages");

        var attachments = messages[0].GetProperty("attachments");
        Assert.Equal(("image", "paw.jpg", "https://cdn.example/paw.jpg"),
            (attachments[0].GetProperty("type").GetString(), attachments[0].GetProperty("title").GetString(), attachments[0].GetProperty("url").GetString()));
        Assert.Equal(("file", "lab-report.pdf", "https://cdn.example/lab-report.pdf"),
            (attachments[1].GetProperty("type").GetString(), attachments[1].GetProperty("title").GetString(), attachments[1].GetProperty("url").GetString()));
        Assert.False(messages[0].GetProperty("deleted").GetBoolean());
        var deleted = messages[1];
        Assert.True(deleted.GetProperty("deleted").GetBoolean());
        Assert.False(deleted.TryGetProperty("text", out _), deleted.ToString());
        Assert.Equal(s.PetOwnerId, deleted.GetProperty("author").GetProperty("id").GetString());
        Assert.DoesNotContain("4111", messages.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThePrintablePageShowsEveryValueAsTextNeverAsMarkup()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        Send(stack, s, s.PetOwnerId, new JsonObject
        {
            ["text"] = "<script>alert('owned')</script> & <img src=x onerror=alert(1)>",
            ["attachments"] = new JsonArray(new JsonObject { ["type"] = "file", ["title"] = "<b>bold</b>", ["asset_url"] = "javascript:alert(1)" }),
        });
        var client = stack.App.ClientFor(s.VetId, "vet");
        using var request = new HttpRequestMessage(HttpMethod.Get, TranscriptUrl(s));
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        var page = await response.Content.ReadAsStringAsync();
        Assert.Contains("&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;", page, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;bold&lt;/b&gt;", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("href=\"javascript", page, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("@media print", page, StringComparison.Ordinal);

        var asked = await client.GetAsync(TranscriptUrl(s, "?format=html"));
        Assert.Equal("text/html", asked.Content.Headers.ContentType?.MediaType);
        var json = await client.GetAsync(TranscriptUrl(s));
        Assert.Equal("application/json", json.Content.Headers.ContentType?.MediaType);
        await (await client.GetAsync(TranscriptUrl(s, "?format=pdf"))).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "format", "invalid-request");
    }

    [Fact]
    public async Task OnlyTheVetTheOrganisationsAdminAndTheServiceReadATranscript()
    {
        var stack = await StackAsync();
        var s = await OpenChatAsync(stack);
        var app = stack.App;
        var url = TranscriptUrl(s);

        await (await app.ClientFor(s.VetId, "vet").GetAsync(url)).ShouldBeOkJsonAsync();
        await (await app.ClientFor("admin-1", "admin", s.Org).GetAsync(url)).ShouldBeOkJsonAsync();
        await (await app.ClientFor("pms", "service").GetAsync(url)).ShouldBeOkJsonAsync();
        await (await app.ClientFor(s.PetOwnerId, "pet-owner").GetAsync(url)).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "cannot-read-transcript");
        await (await app.ClientFor("vet-other", "vet").GetAsync(url)).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "cannot-read-transcript");
        await (await app.ClientFor("admin-2", "admin", "clinic-other").GetAsync(url)).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "cannot-read-transcript");
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.AnonymousClient().GetAsync(url)).StatusCode);

        var unknown = "/api/chat/channels/appointment-no-such-apt/transcript";
        await (await app.ClientFor("admin-1", "admin", s.Org).GetAsync(unknown)).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "cannot-read-transcript");
        await (await app.ClientFor("pms", "service").GetAsync(unknown)).ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "chat-not-found");
        await (await app.ClientFor("pms", "service").GetAsync("/api/chat/channels/not-a-channel/transcript"))
            .ShouldBeProblemAsync(HttpStatusCode.BadRequest, "channelId", "invalid-request");
    }

    [Fact]
    public async Task WhenAChatEndsItsTranscriptIsDeliveredToThePmsOnceSignedWithTheOrganisationsSecret()
    {
        var stack = await StackAsync(_pms.Settings("clinic-1"));
        var s = await OpenChatAsync(stack);
        Send(stack, s, s.PetOwnerId, new JsonObject { ["text"] = "Thank you, doctor" });

        Assert.Equal(HttpStatusCode.OK, (await s.EndAsync(stack.App.ClientFor(s.VetId, "vet"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.EndAsync(stack.App.ClientFor(s.VetId, "vet"))).StatusCode); // idempotent: nothing queued again

        await Eventually.TrueAsync(() => _pms.Filed.Count > 0, "the transcript at the PMS");
        await Task.Delay(1500); // a poll interval and more: nothing else arrives
        var filed = Assert.Single(_pms.Filed);
        Assert.Empty(_pms.RefusedSignatures);
        Assert.Equal(1, _pms.Attempts);
        Assert.Equal("chat.transcript", filed["event"]!.GetValue<string>());
        Assert.StartsWith("application/json", filed["contentType"]!.GetValue<string>(), StringComparison.Ordinal);
        var transcript = filed["transcript"]!;
        Assert.Equal(s.ChannelId, transcript["channelId"]!.GetValue<string>());
        var messages = transcript["messages"]!.AsArray();
        Assert.Equal("Thank you, doctor", messages[0]!["text"]!.GetValue<string>());
        var end = messages[^1]!;
        Assert.Equal("system", end["role"]!.GetValue<string>());
        Assert.Equal(s.ChannelId + "-ended", end["id"]!.GetValue<string>());

        var row = await stack.App.InDatabaseAsync(db => db.Set<TranscriptCallback>().AsNoTracking().SingleAsync(c => c.AppointmentId == s.AppointmentId));
        Assert.Equal((TranscriptCallbackStatus.Delivered, 1, (string?)null), (row.Status, row.Attempts, row.Error));
        Assert.Equal(row.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), filed["delivery"]!.GetValue<string>());
    }

    [Fact]
    public async Task ACallbackThePmsRefusesIsRetriedWithBackoffUntilItIsTaken()
    {
        _pms.FailFirst = 2;
        var stack = await StackAsync(_pms.Settings("clinic-1"));
        var s = await OpenChatAsync(stack);

        await s.EndAsync(stack.App.ClientFor("pms", "service"));

        await Eventually.TrueAsync(() => _pms.Filed.Count > 0, "the transcript at the PMS after two refusals");
        Assert.Equal(3, _pms.Attempts);
        Assert.Single(_pms.Filed);
        // The dispatcher records the delivery once the PMS's answer is in, a moment after the PMS filed it.
        await Eventually.TrueAsync(
            () => stack.App.InDatabaseAsync(db => db.Set<TranscriptCallback>().AnyAsync(c => c.AppointmentId == s.AppointmentId && c.Status != TranscriptCallbackStatus.Pending)).GetAwaiter().GetResult(),
            "the delivery recorded");
        var row = await stack.App.InDatabaseAsync(db => db.Set<TranscriptCallback>().AsNoTracking().SingleAsync(c => c.AppointmentId == s.AppointmentId));
        Assert.Equal((TranscriptCallbackStatus.Delivered, 3), (row.Status, row.Attempts));
    }

    [Fact]
    public async Task ACallbackThePmsKeepsRefusingIsGivenUpAfterTheMaximumAttemptsWithItsError()
    {
        _pms.FailFirst = int.MaxValue;
        var settings = _pms.Settings("clinic-1");
        settings["Transcripts:MaxAttempts"] = "3";
        var stack = await StackAsync(settings);
        var s = await OpenChatAsync(stack);

        await s.EndAsync(stack.App.ClientFor(s.VetId, "vet"));

        await Eventually.TrueAsync(() => stack.App.InDatabaseAsync(db => db.Set<TranscriptCallback>()
            .AnyAsync(c => c.AppointmentId == s.AppointmentId && c.Status == TranscriptCallbackStatus.Failed)).GetAwaiter().GetResult(), "the callback given up");
        await Task.Delay(1500);
        var row = await stack.App.InDatabaseAsync(db => db.Set<TranscriptCallback>().AsNoTracking().SingleAsync(c => c.AppointmentId == s.AppointmentId));
        Assert.Equal((3, "the PMS answered 503"), (row.Attempts, row.Error));
        Assert.Equal(3, _pms.Attempts);
        Assert.Empty(_pms.Filed);
    }

    [Fact]
    public async Task OperatorsListGivenUpCallbacksAndRetryOrDiscardThem()
    {
        _pms.FailFirst = int.MaxValue;
        var settings = _pms.Settings("clinic-1");
        settings["Transcripts:MaxAttempts"] = "2";
        var stack = await StackAsync(settings);
        var first = await OpenChatAsync(stack);
        var second = await OpenChatAsync(stack);
        await first.EndAsync(stack.App.ClientFor(first.VetId, "vet"));
        await second.EndAsync(stack.App.ClientFor(second.VetId, "vet"));
        await Eventually.TrueAsync(
            () => stack.App.InDatabaseAsync(db => db.Set<TranscriptCallback>().CountAsync(c => c.Status == TranscriptCallbackStatus.Failed)).GetAwaiter().GetResult() == 2,
            "both callbacks given up");
        var ops = stack.App.ClientFor(Ids.New("ops"), "operator");

        var listed = await (await ops.GetAsync("/api/operator/transcripts")).ShouldBeOkJsonAsync();
        var items = listed.GetProperty("transcripts").EnumerateArray().ToList();
        Assert.Equal([second.AppointmentId, first.AppointmentId], items.Select(i => i.GetProperty("appointmentId").GetString()));
        Assert.All(items, i => Assert.Equal((2, "the PMS answered 503", "clinic-1"), (i.GetProperty("attempts").GetInt32(), i.GetProperty("error").GetString(), i.GetProperty("organisationId").GetString())));
        var (firstId, secondId) = (items[1].GetProperty("id").GetInt64(), items[0].GetProperty("id").GetInt64());

        // The PMS is back: the first is retried and filed; the second is discarded and never sent.
        _pms.FailFirst = 0;
        var retried = await (await ops.PostAsync($"/api/operator/transcripts/{firstId}/retry", null)).ShouldBeOkJsonAsync();
        Assert.Equal(0, retried.GetProperty("attempts").GetInt32());
        await Eventually.TrueAsync(() => _pms.Filed.Count == 1, "the retried transcript at the PMS");
        await Eventually.TrueAsync(
            () => stack.App.InDatabaseAsync(db => db.Set<TranscriptCallback>().AnyAsync(c => c.Id == firstId && c.Status == TranscriptCallbackStatus.Delivered)).GetAwaiter().GetResult(),
            "the retried delivery recorded");
        Assert.Equal(first.ChannelId, _pms.Filed.Single()["transcript"]!["channelId"]!.GetValue<string>());
        Assert.Equal(firstId.ToString(System.Globalization.CultureInfo.InvariantCulture), _pms.Filed.Single()["delivery"]!.GetValue<string>());
        await (await ops.PostAsync($"/api/operator/transcripts/{secondId}/discard", null)).ShouldBeOkJsonAsync();
        await (await ops.PostAsync($"/api/operator/transcripts/{secondId}/retry", null)).ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "problem-not-found");
        await (await ops.PostAsync($"/api/operator/transcripts/{firstId}/discard", null)).ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "problem-not-found");

        var rows = await stack.App.InDatabaseAsync(db => db.Set<TranscriptCallback>().AsNoTracking().OrderBy(c => c.Id).Select(c => c.Status).ToListAsync());
        Assert.Equal([TranscriptCallbackStatus.Delivered, TranscriptCallbackStatus.Discarded], rows);
        Assert.Empty((await (await ops.GetAsync("/api/operator/transcripts")).ShouldBeOkJsonAsync()).GetProperty("transcripts").EnumerateArray());
        await Task.Delay(500);
        Assert.Single(_pms.Filed);
        var audit = (await (await ops.GetAsync("/api/operator/audit")).ShouldBeOkJsonAsync()).GetProperty("actions").EnumerateArray()
            .Where(a => a.GetProperty("kind").GetString() == "transcript")
            .Select(a => (a.GetProperty("action").GetString(), a.GetProperty("itemId").GetString(), a.GetProperty("outcome").GetString())).ToList();
        var (f, sec) = (firstId.ToString(System.Globalization.CultureInfo.InvariantCulture), secondId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal([("discard", f, "not-found"), ("retry", sec, "not-found"), ("discard", sec, "done"), ("retry", f, "done")], audit);
    }

    [Fact]
    public async Task AnOrganisationWithoutACallbackGetsNoneWhenItsChatEnds()
    {
        var stack = await StackAsync(_pms.Settings("clinic-with-pms"));
        var s = await OpenChatAsync(stack, org: "clinic-without");

        Assert.Equal(HttpStatusCode.OK, (await s.EndAsync(stack.App.ClientFor(s.VetId, "vet"))).StatusCode);

        await Task.Delay(500);
        Assert.False(await stack.App.InDatabaseAsync(db => db.Set<TranscriptCallback>().AnyAsync()));
        Assert.Equal(0, _pms.Attempts);
    }
}

public sealed class TranscriptTestsOnSqlite() : TranscriptTests(DatabaseKind.Sqlite);

public sealed class TranscriptTestsOnPostgres() : TranscriptTests(DatabaseKind.Postgres);
