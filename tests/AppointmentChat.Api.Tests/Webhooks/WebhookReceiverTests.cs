using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Channels;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Notifications;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AppointmentChat.Api.Tests.Webhooks;

/// <summary>POST /api/webhooks/stream: verified over the raw bytes, stored once, acknowledged, processed once.</summary>
public abstract class WebhookReceiverTests(WebhookFixture fixture)
{
    private static Task<HttpResponseMessage> SendAsync(ChatApp app, HttpRequestMessage request) => app.AnonymousClient().SendAsync(request);

    [Fact]
    public async Task ACorrectlySignedWebhookIsStoredAcknowledgedAndProcessed()
    {
        var app = await fixture.StartAsync();
        var s = await WebhookTestData.SeedChatAsync(app);
        var id = Guid.NewGuid().ToString();

        var response = await SendAsync(app, StreamWebhook.Request(StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "hello"), id));

        var body = await response.ShouldBeOkJsonAsync();
        Assert.True(body.GetProperty("ok").GetBoolean());
        var stored = await WebhookTestData.ProcessedAsync(app, "id:" + id);
        Assert.Equal(InboxStatus.Processed, stored.Status);
        Assert.Equal("message.new", stored.EventType);
        Assert.Equal(s.ChannelId, stored.ChannelId);
    }

    public static TheoryData<string, Func<string, HttpRequestMessage>> Forgeries() => new()
    {
        { "no signature", body => WithoutSignature(StreamWebhook.Request(body)) },
        { "signed with another secret", body => StreamWebhook.Request(body, signature: StreamWebhook.Sign(Encoding.UTF8.GetBytes(body), "another-secret")) },
        { "signature over a re-serialised body", body => StreamWebhook.Request(Spaced(body), signature: StreamWebhook.Sign(Encoding.UTF8.GetBytes(JsonNode.Parse(body)!.ToJsonString()))) },
        { "truncated signature", body => StreamWebhook.Request(body, signature: StreamWebhook.Sign(Encoding.UTF8.GetBytes(body))[..40]) },
        { "signature not hex", body => StreamWebhook.Request(body, signature: new string('z', 64)) },
        { "another app's API key", body => StreamWebhook.Request(body, apiKey: "someone-elses-key") },
    };

    [Theory]
    [MemberData(nameof(Forgeries))]
    public async Task AForgedWebhookGets401AndNothingIsStored(string why, Func<string, HttpRequestMessage> forge)
    {
        var app = await fixture.StartAsync();
        var s = await WebhookTestData.SeedChatAsync(app);
        var before = (await WebhookTestData.InboxAsync(app)).Count;

        var response = await SendAsync(app, forge(StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "forged")));

        await response.ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
        Assert.True(before == (await WebhookTestData.InboxAsync(app)).Count, why);
    }

    [Fact]
    public async Task TheSignatureMayBeUpperCaseHexAndTheApiKeyMayBeAbsent()
    {
        var app = await fixture.StartAsync();
        var s = await WebhookTestData.SeedChatAsync(app);
        var body = StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "case");

        var response = await SendAsync(app, StreamWebhook.Request(body, signature: StreamWebhook.Sign(Encoding.UTF8.GetBytes(body)).ToUpperInvariant(), apiKey: null));

        await response.ShouldBeOkJsonAsync();
    }

    [Fact]
    public async Task AGzippedBodyIsVerifiedAfterDecompression()
    {
        var app = await fixture.StartAsync();
        var s = await WebhookTestData.SeedChatAsync(app);
        var body = Encoding.UTF8.GetBytes(StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "zipped"));
        var zipped = Gzip(body);

        var good = await SendAsync(app, Gzipped(zipped, StreamWebhook.Sign(body)));
        var signedOverCompressed = await SendAsync(app, Gzipped(zipped, StreamWebhook.Sign(zipped)));
        var notGzip = await SendAsync(app, Gzipped(body, StreamWebhook.Sign(body)));

        await good.ShouldBeOkJsonAsync();
        await signedOverCompressed.ShouldBeProblemAsync(HttpStatusCode.Unauthorized);
        await notGzip.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task AGzippedBodyIsRecognisedByItsMagicBytesWithoutContentEncoding()
    {
        var app = await fixture.StartAsync();
        var s = await WebhookTestData.SeedChatAsync(app);
        var body = Encoding.UTF8.GetBytes(StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "zipped, unsaid"));

        var response = await SendAsync(app, Gzipped(Gzip(body), StreamWebhook.Sign(body), saySo: false));

        await response.ShouldBeOkJsonAsync();
        await Eventually.TrueAsync(async () => await app.InDatabaseAsync(db => db.Chats.AnyAsync(c => c.AppointmentId == s.AppointmentId && c.LastMessageText == "zipped, unsaid")),
            "the compressed message to reach the chat list");
    }

    [Fact]
    public async Task ABodyOverTheLimitGets413CompressedOrNot()
    {
        var app = await fixture.StartAsync();
        var big = Encoding.UTF8.GetBytes(new JsonObject { ["type"] = "custom.event", ["padding"] = new string('x', WebhookFixture.BodyLimit) }.ToJsonString());

        var plain = await SendAsync(app, StreamWebhook.Request(Encoding.UTF8.GetString(big)));
        var bomb = await SendAsync(app, Gzipped(Gzip(big), StreamWebhook.Sign(big)));

        await plain.ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        await bomb.ShouldBeProblemAsync(HttpStatusCode.RequestEntityTooLarge);
    }

    [Theory]
    [InlineData("[1,2,3]")]
    [InlineData("\"message.new\"")]
    [InlineData("{\"type\": ")]
    public async Task ACorrectlySignedBodyThatIsNotAJsonObjectGets400(string body)
    {
        var app = await fixture.StartAsync();

        var response = await SendAsync(app, StreamWebhook.Request(body));

        await response.ShouldBeProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task TheSameWebhookIdDeliveredFiveTimesIsProcessedOnce()
    {
        var app = await fixture.StartAsync();
        var s = await WebhookTestData.SeedChatAsync(app);
        var token = "device-" + Guid.NewGuid().ToString("N");
        await WebhookTestData.RegisterDeviceAsync(app, s.VetId, token);
        var id = Guid.NewGuid().ToString();
        var body = StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "only once", members: [s.PetOwnerId, s.VetId]);

        for (var attempt = 1; attempt <= 5; attempt++)
        {
            var request = StreamWebhook.Request(body, id);
            request.Headers.Remove("X-Webhook-Attempt");
            request.Headers.Add("X-Webhook-Attempt", attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await (await SendAsync(app, request)).ShouldBeOkJsonAsync();
        }

        await WebhookTestData.ProcessedAsync(app, "id:" + id);
        await Eventually.TrueAsync(() => fixture.Fcm.DeliveredTo(token).Any(), "the push to the vet's device");
        await Task.Delay(500);
        Assert.Single(await WebhookTestData.InboxAsync(app, e => e.DedupKey == "id:" + id));
        Assert.Single(fixture.Fcm.DeliveredTo(token));
    }

    [Fact]
    public async Task WithoutAWebhookIdTheBodyHashDeduplicates()
    {
        var app = await fixture.StartAsync();
        var body = new JsonObject { ["type"] = "custom.event", ["nonce"] = Guid.NewGuid().ToString() }.ToJsonString();

        var first = await (await SendAsync(app, StreamWebhook.Request(body))).ShouldBeOkJsonAsync();
        var second = await (await SendAsync(app, StreamWebhook.Request(body))).ShouldBeOkJsonAsync();

        Assert.False(first.TryGetProperty("duplicate", out _));
        Assert.True(second.GetProperty("duplicate").GetBoolean());
        Assert.Single(await WebhookTestData.InboxAsync(app, e => e.Payload == body));
    }

    [Fact]
    public async Task UnknownEventTypesAndUnknownChannelsAreStoredAndIgnored()
    {
        var app = await fixture.StartAsync();
        var (typeId, channelId) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());

        await (await SendAsync(app, StreamWebhook.Request("""{"type":"reaction.new","cid":"messaging:x"}""", typeId))).ShouldBeOkJsonAsync();
        await (await SendAsync(app, StreamWebhook.Request(StreamWebhook.MessageNew("appointment-nobody", "someone", "hi"), channelId))).ShouldBeOkJsonAsync();

        var unknownType = await WebhookTestData.ProcessedAsync(app, "id:" + typeId);
        var unknownChannel = await WebhookTestData.ProcessedAsync(app, "id:" + channelId);
        Assert.Equal(InboxStatus.Ignored, unknownType.Status);
        Assert.Equal(InboxStatus.Ignored, unknownChannel.Status);
        Assert.Contains("does not know", unknownChannel.Note, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APoisonEventIsParkedWithItsErrorAndDoesNotHoldUpTheEventsBehindIt()
    {
        var app = await fixture.StartAsync();
        var s = await WebhookTestData.SeedChatAsync(app);
        var (poisonId, goodId) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        var poison = new JsonObject { ["type"] = "message.new", ["channel_id"] = s.ChannelId, ["channel_type"] = "messaging", ["message"] = "not an object" }.ToJsonString();

        await (await SendAsync(app, StreamWebhook.Request(poison, poisonId))).ShouldBeOkJsonAsync();
        await (await SendAsync(app, StreamWebhook.Request(StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "after the poison"), goodId))).ShouldBeOkJsonAsync();

        var good = await WebhookTestData.ProcessedAsync(app, "id:" + goodId);
        Assert.Equal(InboxStatus.Processed, good.Status);
        var dead = await WebhookTestData.ProcessedAsync(app, "id:" + poisonId);
        Assert.Equal(InboxStatus.Dead, dead.Status);
        Assert.Equal(3, dead.Attempts);
        Assert.Contains("message", dead.Note, StringComparison.Ordinal);

        // Operators see it, and can queue it again.
        var list = await (await app.ClientFor("pms", "service").GetAsync("/api/webhooks/dead")).ShouldBeOkJsonAsync();
        Assert.Contains(list.GetProperty("events").EnumerateArray(), e => e.GetProperty("dedupKey").GetString() == "id:" + poisonId && e.GetProperty("error").GetString()!.Length > 0);
        await (await app.ClientFor("vet-1", "vet").GetAsync("/api/webhooks/dead")).ShouldBeProblemAsync(HttpStatusCode.Forbidden);
        var retried = await (await app.ClientFor("pms", "service").PostAsync($"/api/webhooks/dead/{dead.Id}/retry", null)).ShouldBeOkJsonAsync();
        Assert.Equal(0, retried.GetProperty("attempts").GetInt32());
        await (await app.ClientFor("pms", "service").PostAsync("/api/webhooks/dead/999999999/retry", null)).ShouldBeProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ManyWebhooksAtOnceAreEachStoredOnceAndTheirRedeliveriesAreRecognised()
    {
        var app = await fixture.StartAsync();
        var client = app.AnonymousClient();
        var ids = Enumerable.Range(0, 60).Select(_ => Guid.NewGuid().ToString()).ToList();
        var body = new Func<string, string>(id => new JsonObject { ["type"] = "custom.burst", ["nonce"] = id }.ToJsonString());

        // Every event twice, all at once: stored in shared transactions, each exactly once.
        var responses = await Task.WhenAll(ids.Concat(ids).Select(async id =>
            await (await client.SendAsync(StreamWebhook.Request(body(id), id))).ShouldBeOkJsonAsync()));

        var duplicates = responses.Count(r => r.TryGetProperty("duplicate", out var d) && d.GetBoolean());
        Assert.Equal(ids.Count, duplicates);
        var stored = await WebhookTestData.InboxAsync(app, e => e.EventType == "custom.burst");
        foreach (var id in ids)
        {
            Assert.Single(stored, e => e.DedupKey == "id:" + id);
        }
    }

    [Fact]
    public async Task APoisonEventAmongEventsProcessedTogetherFailsAloneAndTheOthersKeepTheirOrder()
    {
        await using var fcm = await FakeFcm.StartAsync();
        var database = await TestDatabase.CreateAsync(fixture.Kind);
        var token = "device-" + Guid.NewGuid().ToString("N");
        var poisonId = Guid.NewGuid().ToString();
        var goodIds = new List<string>();
        Channels.Scenario s;

        // Stored while no processor runs, so that the next start claims them all in one batch.
        await using (var first = await ChatApp.StartAsync(fixture.Kind, WebhookFixture.Settings(fcm), WithoutWebhookProcessor, database))
        {
            first.KeepDatabase = true;
            s = await WebhookTestData.SeedChatAsync(first);
            await WebhookTestData.RegisterDeviceAsync(first, s.VetId, token);
            async Task SendAsync(string body, string id) => await (await first.AnonymousClient().SendAsync(StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync();
            for (var i = 0; i < 3; i++)
            {
                goodIds.Add(Guid.NewGuid().ToString());
                await SendAsync(StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, $"message {i}", members: [s.PetOwnerId, s.VetId]), goodIds[^1]);
            }

            await SendAsync(new JsonObject { ["type"] = "message.new", ["channel_id"] = s.ChannelId, ["channel_type"] = "messaging", ["message"] = "not an object" }.ToJsonString(), poisonId);

            // The pet owner is renamed, then writes again: that push must carry the new name.
            goodIds.Add(Guid.NewGuid().ToString());
            await SendAsync(new JsonObject { ["type"] = "user.updated", ["user"] = new JsonObject { ["id"] = s.PetOwnerId, ["name"] = "Renamed Owner" } }.ToJsonString(), goodIds[^1]);
            goodIds.Add(Guid.NewGuid().ToString());
            await SendAsync(StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "after the rename", members: [s.PetOwnerId, s.VetId]), goodIds[^1]);
        }

        await using var second = await ChatApp.StartAsync(fixture.Kind, WebhookFixture.Settings(fcm), database: database);
        foreach (var id in goodIds)
        {
            var good = await WebhookTestData.ProcessedAsync(second, "id:" + id);
            Assert.Equal(InboxStatus.Processed, good.Status);
            Assert.Equal(1, good.Attempts);
        }

        await Eventually.TrueAsync(async () => (await WebhookTestData.InboxAsync(second, e => e.DedupKey == "id:" + poisonId)).Single().Status == InboxStatus.Dead, "the poison event to be parked");
        var notifications = await second.InDatabaseAsync(db => db.Notifications.AsNoTracking().OrderBy(n => n.Id).ToListAsync());
        Assert.Equal(4, notifications.Count(n => n.ChannelId == s.ChannelId));
        Assert.Equal("Renamed Owner", notifications.Last(n => n.ChannelId == s.ChannelId).Title);
        Assert.Contains(second.Logs.Lines, l => l.Message.Contains("processed together failed", StringComparison.Ordinal));
        var lastMessage = await second.InDatabaseAsync(db => db.Chats.Where(a => a.ChannelId == s.ChannelId).Select(a => a.LastMessageText).SingleAsync());
        Assert.Equal("after the rename", lastMessage);
    }

    [Fact]
    public async Task EventsProcessedTogetherKeepTheNewestMessageAndApplyAnEditInOrder()
    {
        await using var fcm = await FakeFcm.StartAsync();
        var database = await TestDatabase.CreateAsync(fixture.Kind);
        var ids = new List<string>();
        var start = DateTimeOffset.UtcNow;
        Channels.Scenario s, other;

        // Stored while no processor runs, so that the next start claims them in one batch: two chats, deliveries out of order.
        await using (var first = await ChatApp.StartAsync(fixture.Kind, WebhookFixture.Settings(fcm), WithoutWebhookProcessor, database))
        {
            first.KeepDatabase = true;
            s = await WebhookTestData.SeedChatAsync(first);
            other = await WebhookTestData.SeedChatAsync(first);
            async Task SendAsync(string body)
            {
                ids.Add(Guid.NewGuid().ToString());
                await (await first.AnonymousClient().SendAsync(StreamWebhook.Request(body, ids[^1]))).ShouldBeOkJsonAsync();
            }

            await SendAsync(StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "second", messageId: "m-2", createdAt: start.AddSeconds(2)));
            await SendAsync(StreamWebhook.MessageNew(s.ChannelId, s.VetId, "third", messageId: "m-3", createdAt: start.AddSeconds(3)));
            await SendAsync(StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "first, delivered late", messageId: "m-1", createdAt: start.AddSeconds(1)));
            await SendAsync(new JsonObject
            {
                ["type"] = "message.updated",
                ["cid"] = "messaging:" + s.ChannelId,
                ["channel_id"] = s.ChannelId,
                ["channel_type"] = "messaging",
                ["message"] = new JsonObject { ["id"] = "m-3", ["text"] = "third, edited", ["user"] = new JsonObject { ["id"] = s.VetId } },
            }.ToJsonString());
            await SendAsync(StreamWebhook.MessageNew(other.ChannelId, other.PetOwnerId, "in the other chat", messageId: "m-x", createdAt: start.AddSeconds(1)));
            await SendAsync("""{"type":"reaction.new","cid":"messaging:x"}""");
        }

        var restarted = DateTimeOffset.UtcNow;
        await using var second = await ChatApp.StartAsync(fixture.Kind, WebhookFixture.Settings(fcm), database: database);
        foreach (var id in ids)
        {
            var processed = await WebhookTestData.ProcessedAsync(second, "id:" + id);
            Assert.Equal(id == ids[^1] ? InboxStatus.Ignored : InboxStatus.Processed, processed.Status);
            Assert.Equal(id == ids[^1] ? "'reaction.new' events are not used" : null, processed.Note);
            Assert.Equal(1, processed.Attempts); // all at the first attempt: no failed batch fell back to one by one
            Assert.InRange(processed.ProcessedAt!.Value, restarted.AddSeconds(-1), DateTimeOffset.UtcNow);
            Assert.Null(processed.LeaseUntil);
            Assert.Null(processed.LeaseOwner);
        }

        var chats = await second.InDatabaseAsync(db => db.Chats.AsNoTracking()
            .Where(a => a.ChannelId == s.ChannelId || a.ChannelId == other.ChannelId)
            .ToDictionaryAsync(a => a.ChannelId!, a => new { a.LastMessageId, a.LastMessageText, a.LastMessageAt }));
        Assert.Equal(("m-3", "third, edited"), (chats[s.ChannelId].LastMessageId, chats[s.ChannelId].LastMessageText));
        Assert.Equal(start.AddSeconds(3).ToUnixTimeMilliseconds(), chats[s.ChannelId].LastMessageAt!.Value.ToUnixTimeMilliseconds());
        Assert.Equal("in the other chat", chats[other.ChannelId].LastMessageText);
        Assert.DoesNotContain(second.Logs.Lines, l => l.Message.Contains("processed together failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OfTwoMessagesInOneMillisecondDeliveredOutOfOrderTheLaterStaysTheChatsLastMessage()
    {
        var app = await fixture.StartAsync();
        var s = await WebhookTestData.SeedChatAsync(app);
        // Stream's times have microseconds: two messages of a burst, 400 µs apart within one millisecond.
        var millisecond = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var later = millisecond.AddTicks(7_000);
        var earlier = millisecond.AddTicks(3_000);

        foreach (var (id, text, at) in new[] { ("m-later", "sent second", later), ("m-earlier", "sent first, delivered late", earlier) })
        {
            var webhookId = Guid.NewGuid().ToString();
            await (await SendAsync(app, StreamWebhook.Request(StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, text, messageId: id, createdAt: at), webhookId))).ShouldBeOkJsonAsync();
            await WebhookTestData.ProcessedAsync(app, "id:" + webhookId);
        }

        var chat = await app.InDatabaseAsync(db => db.Chats.AsNoTracking().SingleAsync(c => c.ChannelId == s.ChannelId));
        Assert.Equal(("m-later", "sent second"), (chat.LastMessageId, chat.LastMessageText));
        Assert.Equal(later, chat.LastMessageAt);
    }

    [Fact]
    public async Task OfTwoChannelUpdatesInOneMillisecondDeliveredOutOfOrderTheLaterIsMirrored()
    {
        var app = await fixture.StartAsync();
        var s = await WebhookTestData.SeedChatAsync(app);
        var millisecond = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var later = millisecond.AddTicks(7_000);

        foreach (var (frozen, at) in new[] { (true, later), (false, millisecond.AddTicks(3_000)) })
        {
            var webhookId = Guid.NewGuid().ToString();
            var body = new JsonObject
            {
                ["type"] = "channel.updated",
                ["cid"] = "messaging:" + s.ChannelId,
                ["channel_id"] = s.ChannelId,
                ["channel_type"] = "messaging",
                ["channel"] = new JsonObject { ["frozen"] = frozen, ["updated_at"] = at.ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
                ["created_at"] = at.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            }.ToJsonString();
            await (await SendAsync(app, StreamWebhook.Request(body, webhookId))).ShouldBeOkJsonAsync();
            Assert.Equal(InboxStatus.Processed, (await WebhookTestData.ProcessedAsync(app, "id:" + webhookId)).Status);
        }

        var chat = await app.InDatabaseAsync(db => db.Chats.AsNoTracking().SingleAsync(c => c.ChannelId == s.ChannelId));
        Assert.True(chat.Frozen, "the earlier update, delivered last, unfroze the chat");
        Assert.Equal(later, chat.ChannelUpdatedAt);
    }

    [Fact]
    public async Task ARedeliveryIsRecognisedWhileItsFirstDeliveryWaitsAndAfterItWasProcessed()
    {
        var app = await fixture.StartAsync();
        var id = Guid.NewGuid().ToString();
        var body = new JsonObject { ["type"] = "custom.redelivered", ["nonce"] = id }.ToJsonString();

        var first = await (await SendAsync(app, StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync();
        var whileWaiting = await (await SendAsync(app, StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync();
        await WebhookTestData.ProcessedAsync(app, "id:" + id);
        var afterProcessing = await (await SendAsync(app, StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync();

        Assert.False(first.TryGetProperty("duplicate", out _));
        Assert.True(whileWaiting.GetProperty("duplicate").GetBoolean());
        Assert.True(afterProcessing.GetProperty("duplicate").GetBoolean());
        var stored = Assert.Single(await WebhookTestData.InboxAsync(app, e => e.DedupKey == "id:" + id));
        Assert.Equal(1, stored.Attempts);
    }

    [Fact]
    public async Task AnEventAcknowledgedJustBeforeTheServiceStoppedIsProcessedExactlyOnceAfterItRestarts()
    {
        await using var fcm = await FakeFcm.StartAsync();
        var database = await TestDatabase.CreateAsync(fixture.Kind);
        var id = Guid.NewGuid().ToString();
        var token = "device-" + Guid.NewGuid().ToString("N");
        string body;
        Channels.Scenario s;

        // The first run acknowledges and stops before processing anything (as a crash right after the 200 would).
        await using (var first = await ChatApp.StartAsync(fixture.Kind, WebhookFixture.Settings(fcm), WithoutWebhookProcessor, database))
        {
            first.KeepDatabase = true;
            s = await WebhookTestData.SeedChatAsync(first);
            await WebhookTestData.RegisterDeviceAsync(first, s.VetId, token);
            body = StreamWebhook.MessageNew(s.ChannelId, s.PetOwnerId, "sent before the crash", members: [s.PetOwnerId, s.VetId]);
            await (await first.AnonymousClient().SendAsync(StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync();
            Assert.Equal(InboxStatus.Pending, (await WebhookTestData.InboxAsync(first, e => e.DedupKey == "id:" + id)).Single().Status);
        }

        await using var second = await ChatApp.StartAsync(fixture.Kind, WebhookFixture.Settings(fcm), database: database);
        await WebhookTestData.ProcessedAsync(second, "id:" + id);
        await (await second.AnonymousClient().SendAsync(StreamWebhook.Request(body, id))).ShouldBeOkJsonAsync(); // Stream's retry

        await Eventually.TrueAsync(() => fcm.DeliveredTo(token).Any(), "the push");
        await Task.Delay(500);
        Assert.Single(fcm.DeliveredTo(token));
        var messageId = JsonNode.Parse(body)!["message"]!["id"]!.GetValue<string>();
        Assert.Equal(1, await second.InDatabaseAsync(db => db.Notifications.CountAsync(n => n.MessageId == messageId)));
    }

    private static void WithoutWebhookProcessor(IServiceCollection services)
    {
        services.RemoveWorkers(typeof(WebhookProcessor));
    }

    private static HttpRequestMessage WithoutSignature(HttpRequestMessage request)
    {
        request.Headers.Remove("X-Signature");
        return request;
    }

    private static string Spaced(string json) => json.Replace(",", ", ", StringComparison.Ordinal).Replace(":", ": ", StringComparison.Ordinal);

    private static byte[] Gzip(byte[] body)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize))
        {
            gzip.Write(body);
        }

        return output.ToArray();
    }

    private static HttpRequestMessage Gzipped(byte[] content, string signature, bool saySo = true)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/stream") { Content = new ByteArrayContent(content) };
        request.Content.Headers.ContentType = new("application/json");
        if (saySo)
        {
            request.Content.Headers.ContentEncoding.Add("gzip");
        }

        request.Headers.Add("X-Signature", signature);
        request.Headers.Add("X-Webhook-Id", Guid.NewGuid().ToString());
        return request;
    }
}

public sealed class WebhookReceiverTestsOnSqlite(SqliteWebhookApp fixture) : WebhookReceiverTests(fixture), IClassFixture<SqliteWebhookApp>;

public sealed class WebhookReceiverTestsOnPostgres(PostgresWebhookApp fixture) : WebhookReceiverTests(fixture), IClassFixture<PostgresWebhookApp>;
