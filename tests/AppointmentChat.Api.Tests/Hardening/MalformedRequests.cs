using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// A malformed request, and the 4xx it must get: its status and, where a field is at fault, the field's name.
/// <paramref name="RefusedByKestrel"/>: the HTTP server itself refuses it (400, no body) before any code of ours runs.
/// </summary>
public sealed record MalformedCase(string Name, Caller Caller, Func<World, HttpRequestMessage> Request, int Status, string? Field = null, bool RefusedByKestrel = false);

/// <summary>
/// The table of malformed requests, for every endpoint that takes input: wrong content types, invalid and
/// truncated JSON, wrong types, nulls, missing and extra fields, empty, huge, control-character and invalid
/// UTF-8 strings, ids outside Stream's rules, deep nesting, bodies over the limit, numbers out of range,
/// dates without offsets, bad route and query values, malformed webhooks, wrong methods.
/// </summary>
public static class MalformedRequests
{
    /// <summary>Largest body the API endpoints accept (ServiceDefaults.MaxRequestBodyBytes).</summary>
    private const int BodyLimit = 1024 * 1024;
    private const string BadUtf8 = "@@invalid-utf8@@";

    public static IReadOnlyDictionary<string, MalformedCase> All { get; } = Build().ToDictionary(c => c.Name, StringComparer.Ordinal);

    public static TheoryData<string> Names() => [.. All.Keys];

    private enum Kind
    {
        UserId,
        AppointmentId,
        Text,
        Int,
        Date,

        /// <summary>A date-time that may also be a local wall-clock time (no offset).</summary>
        LocalOrOffsetDate,
        TimeZone,
        Enum,
        DeviceToken,
    }

    private sealed record Field(string Name, Kind Kind, bool Required, int Min = 0, int Max = 0);

    private sealed record BodyEndpoint(string Name, HttpMethod Method, Func<World, string> Path, Caller Caller, Func<World, JsonObject> Valid, bool BodyRequired, Field[] Fields);

    private static IEnumerable<MalformedCase> Build()
    {
        BodyEndpoint[] endpoints =
        [
            new("token", HttpMethod.Post, _ => "/api/chat/token", Caller.Owner, w => new JsonObject { ["userId"] = w.WithChat.PetOwnerId }, BodyRequired: false,
                [new("userId", Kind.UserId, Required: false)]),
            new("revoke", HttpMethod.Post, _ => "/api/chat/token/revoke", Caller.Owner, w => new JsonObject { ["userId"] = w.WithChat.PetOwnerId }, BodyRequired: false,
                [new("userId", Kind.UserId, Required: false)]),
            new("create chat", HttpMethod.Post, _ => "/api/chat/channels", Caller.Owner, w => new JsonObject { ["appointmentId"] = w.WithoutChat.AppointmentId }, BodyRequired: true,
                [
                    new("appointmentId", Kind.AppointmentId, Required: true),
                    new("petOwnerId", Kind.UserId, Required: false),
                    new("vetId", Kind.UserId, Required: false),
                    new("appointmentTime", Kind.LocalOrOffsetDate, Required: false),
                    new("activationMinutes", Kind.Int, Required: false, Min: 0, Max: 1440),
                ]),
            new("put appointment", HttpMethod.Put, w => $"/api/appointments/{w.WithoutChat.AppointmentId}", Caller.Service, w => w.WithoutChat.Facts(World.Start), BodyRequired: true,
                [
                    new("petOwnerId", Kind.UserId, Required: true),
                    new("vetId", Kind.UserId, Required: true),
                    new("organisationId", Kind.UserId, Required: true),
                    new("startsAt", Kind.Date, Required: true),
                    new("durationMinutes", Kind.Int, Required: true, Min: 1, Max: 1440),
                    new("chatActivationMinutes", Kind.Int, Required: false, Min: 0, Max: 1440),
                    new("petOwnerName", Kind.Text, Required: false, Max: 200),
                    new("petName", Kind.Text, Required: false, Max: 200),
                    new("vetName", Kind.Text, Required: false, Max: 200),
                    new("status", Kind.Enum, Required: false),
                    new("timeZone", Kind.TimeZone, Required: false),
                ]),
            new("register device", HttpMethod.Post, _ => "/api/devices", Caller.Owner, _ => new JsonObject { ["token"] = "fcm-token-1", ["platform"] = "android" }, BodyRequired: true,
                [
                    new("token", Kind.DeviceToken, Required: true),
                    new("platform", Kind.Enum, Required: true),
                ]),
        ];

        yield return new("put appointment: petOwnerId the system user", Caller.Service, w => new(HttpMethod.Put, $"/api/appointments/{w.WithoutChat.AppointmentId}")
        {
            Content = Json(With(w.WithoutChat.Facts(World.Start), "petOwnerId", "system")),
        }, 400, "petOwnerId");
        yield return new("put appointment: vetId the system user", Caller.Service, w => new(HttpMethod.Put, $"/api/appointments/{w.WithoutChat.AppointmentId}")
        {
            Content = Json(With(w.WithoutChat.Facts(World.Start), "vetId", "system")),
        }, 400, "vetId");

        foreach (var endpoint in endpoints)
        {
            foreach (var c in BodyCases(endpoint))
            {
                yield return c;
            }

            foreach (var field in endpoint.Fields)
            {
                foreach (var c in FieldCases(endpoint, field))
                {
                    yield return c;
                }
            }
        }

        foreach (var c in RouteCases().Concat(QueryCases()).Concat(WebhookCases()).Concat(MethodCases()))
        {
            yield return c;
        }
    }

    /// <summary>What is wrong with the body as a whole, whatever the endpoint.</summary>
    private static IEnumerable<MalformedCase> BodyCases(BodyEndpoint e)
    {
        string Valid(World w) => e.Valid(w).ToJsonString();
        MalformedCase Case(string what, Func<World, HttpContent> content, int status, string? field = null) =>
            new($"{e.Name}: {what}", e.Caller, w => new HttpRequestMessage(e.Method, e.Path(w)) { Content = content(w) }, status, field);

        yield return Case("text/plain body", w => Text(Valid(w), "text/plain"), 415);
        yield return Case("form-encoded body", w => new FormUrlEncodedContent(e.Valid(w).Select(p => KeyValuePair.Create(p.Key, p.Value?.ToString() ?? ""))), 415);
        yield return Case("xml body", _ => Text("<request/>", "application/xml"), 415);
        yield return Case("JSON without a content type", w => Raw(Encoding.UTF8.GetBytes(Valid(w)), null), 415);
        yield return Case("invalid JSON", _ => Json("{\"x\": }"), 400);
        yield return Case("truncated JSON", w => Json(Valid(w)[..(Valid(w).Length / 2)]), 400);
        yield return Case("JSON with a comment", w => Json("/* hi */" + Valid(w)), 400);
        yield return Case("JSON with a trailing comma", w => Json(Valid(w)[..^1] + ",}"), 400);
        yield return Case("single-quoted JSON", w => Json(Valid(w).Replace('"', '\'')), 400);
        yield return Case("invalid UTF-8 between tokens", w => Raw([.. Encoding.UTF8.GetBytes("{"), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes(Valid(w)[1..])], "application/json"), 400);
        yield return Case("a top-level array", _ => Json("[]"), 400);
        yield return Case("a top-level string", _ => Json("\"hello\""), 400);
        yield return Case("a top-level number", _ => Json("42"), 400);
        yield return Case("JSON nested 1000 deep at the top", _ => Json(new string('[', 1000) + new string(']', 1000)), 400);
        yield return Case("JSON nested 1000 deep in a field", w => Json(Valid(w)[..^1] + ",\"" + e.Fields[0].Name + "x\":" + new string('[', 1000) + new string(']', 1000) + "}"), 400);
        yield return Case("an extra field", w => Json(With(e.Valid(w), "extra", 1)), 400, "extra");
        yield return Case("an extra object field", w => Json(With(e.Valid(w), "isAdmin", new JsonObject { ["value"] = true })), 400, "isAdmin");
        yield return Case("a field given twice", w => Json(Valid(w)[..^1] + $",\"{e.Fields[0].Name}\":\"other-value\"}}"), 400, e.Fields[0].Name);
        yield return new($"{e.Name}: a body over the 1 MiB limit", e.Caller, w => OverLimit(new HttpRequestMessage(e.Method, e.Path(w)) { Content = Json(Valid(w) + new string(' ', BodyLimit)) }), 413);
        if (e.BodyRequired)
        {
            yield return Case("an empty body", _ => Json(""), 400);
            yield return Case("a null body", _ => Json("null"), 400);
            yield return Case("an empty object", _ => Json("{}"), 400, e.Fields.First(f => f.Required).Name);
        }
    }

    /// <summary>Every way one field can be wrong, by what the field is.</summary>
    private static IEnumerable<MalformedCase> FieldCases(BodyEndpoint e, Field f)
    {
        MalformedCase Case(string what, JsonNode? value, int status = 400, bool named = true) =>
            new($"{e.Name}: {f.Name} {what}", e.Caller, w => new HttpRequestMessage(e.Method, e.Path(w)) { Content = Json(With(e.Valid(w), f.Name, value?.DeepClone())) }, status, named ? f.Name : null);
        MalformedCase RawValue(string what, string rawJsonValue, bool named = true) =>
            new($"{e.Name}: {f.Name} {what}", e.Caller, w => new HttpRequestMessage(e.Method, e.Path(w)) { Content = JsonWithRawValue(e.Valid(w), f.Name, rawJsonValue) }, 400, named ? f.Name : null);

        if (f.Required)
        {
            yield return Case("null", null);
            yield return new($"{e.Name}: {f.Name} missing", e.Caller, w => new HttpRequestMessage(e.Method, e.Path(w)) { Content = Json(Without(e.Valid(w), f.Name)) }, 400, f.Name);
        }

        switch (f.Kind)
        {
            case Kind.UserId or Kind.AppointmentId or Kind.DeviceToken or Kind.Text:
                yield return Case("as a number", 5);
                yield return Case("as a boolean", true);
                yield return Case("as an object", new JsonObject { ["id"] = "x" });
                yield return Case("as an array", new JsonArray("x"));
                yield return Case("with a NUL character", "a\u0000b");
                yield return Case("with a line break", "a\nb");
                yield return Case("of 100,000 characters", new string('x', 100_000));
                yield return RawValue("with invalid UTF-8", "\"" + BadUtf8 + "\"", named: false);
                yield return RawValue("with a lone surrogate", "\"a\\ud800b\"", named: false);
                if (f.Kind != Kind.Text)
                {
                    yield return Case("empty", "");
                    yield return Case("with a space", "has space");
                    yield return Case("with non-ASCII letters", "tök");
                }

                if (f.Kind is Kind.UserId or Kind.AppointmentId)
                {
                    yield return Case("with a colon", "a:b");
                    yield return Case("with a slash", "a/b");
                    yield return Case("over 64 characters", new string('x', 65));
                }

                if (f.Kind == Kind.AppointmentId)
                {
                    yield return Case("with an @", "a@b");
                    yield return Case("over 52 characters", new string('x', 53));
                }

                if (f.Kind == Kind.DeviceToken)
                {
                    yield return Case("over 4096 characters", new string('x', 4097));
                }

                if (f.Kind == Kind.Text)
                {
                    yield return Case($"over {f.Max} characters", new string('x', f.Max + 1));
                    yield return Case("with a control character", "a\u0007b");
                }

                break;

            case Kind.Int:
                yield return Case("as a string", "30");
                yield return Case("as a boolean", true);
                yield return Case("as a fraction", 30.5);
                yield return RawValue("in exponent form", "1e2");
                yield return RawValue("past the 32-bit range", "2147483648");
                yield return RawValue("far below the 32-bit range", "-99999999999999999999");
                yield return Case($"below {f.Min}", f.Min - 1);
                yield return Case($"above {f.Max}", f.Max + 1);
                yield return RawValue("as NaN", "NaN");
                break;

            case Kind.Date or Kind.LocalOrOffsetDate:
                if (f.Kind == Kind.Date)
                {
                    yield return Case("without an offset", "2030-01-15T14:00:00");
                }

                yield return Case("with a space for the T", "2030-01-15 14:00:00");
                yield return Case("without minutes", "2030-01-15T14");
                yield return Case("as a date only", "2030-01-15");
                yield return Case("in words", "tomorrow at two");
                yield return Case("as a Unix time", 1_894_716_000);
                yield return Case("on 30 February", "2030-02-30T14:00:00Z");
                yield return Case("with an impossible offset", "2030-01-15T14:00:00+25:00");
                yield return Case("in another date format", "15/01/2030 14:00 +01:00");
                if (f.Required)
                {
                    yield return Case("before the year 2000", "1999-12-31T14:00:00Z");
                }

                break;

            case Kind.TimeZone:
                yield return Case("as a number", 1);
                yield return Case("empty", "");
                yield return Case("unknown", "Europe/Lundon");
                yield return Case("in lower case", "europe/london");
                yield return Case("as a Windows name", "GMT Standard Time");
                yield return Case("as an offset", "+01:00");
                yield return Case("as a path", "../../../etc/passwd");
                yield return Case("with a NUL character", "Europe/London\u0000");
                yield return Case("of 100,000 characters", new string('x', 100_000));
                break;

            case Kind.Enum:
                yield return Case("in upper case", f.Name == "status" ? "UPCOMING" : "IOS");
                yield return Case("with another spelling", f.Name == "status" ? "checked_in" : "i-os");
                yield return Case("unknown", f.Name == "status" ? "postponed" : "windows");
                yield return Case("as a number", 1);
                yield return Case("empty", "");
                break;
        }
    }

    private static IEnumerable<MalformedCase> RouteCases()
    {
        string[] badAppointmentIds = ["has%20space", "t%C3%B6k", new string('x', 53), "a%40b", "a%3Ab", "a%2Fb", "%FF%FE", "line%0Abreak", "%00"];
        foreach (var id in badAppointmentIds)
        {
            // Kestrel refuses a NUL in the path before routing.
            var kestrel = id == "%00";
            yield return new($"get appointment: id '{Short(id)}'", Caller.Service, _ => new(HttpMethod.Get, $"/api/appointments/{id}"), 400, "appointmentId", kestrel);
            yield return new($"put appointment: id '{Short(id)}'", Caller.Service, w => new(HttpMethod.Put, $"/api/appointments/{id}") { Content = Json(w.WithoutChat.Facts(World.Start)) }, 400, "appointmentId", kestrel);
            yield return new($"end chat: id 'appointment-{Short(id)}'", Caller.Vet, _ => new(HttpMethod.Post, $"/api/chat/channels/appointment-{id}/end"), 400, "channelId", kestrel);
            yield return new($"operator retries chat: id '{Short(id)}'", Caller.Service, _ => new(HttpMethod.Post, $"/api/operator/chats/{id}/retry"), 400, "appointmentId", kestrel);
        }

        yield return new("get appointment: a request line over 8 KiB", Caller.Service, _ => new(HttpMethod.Get, $"/api/appointments/{new string('x', 9000)}"), 414, RefusedByKestrel: true);

        foreach (var id in new[] { "foo", "appointment-", "messaging%3Aappointment-x", new string('x', 65) })
        {
            yield return new($"end chat: id '{Short(id)}'", Caller.Vet, _ => new(HttpMethod.Post, $"/api/chat/channels/{id}/end"), 400, "channelId");
        }

        foreach (var token in new[] { "has%20space", "t%C3%B6k", new string('x', 4097), "%7F", "line%0Abreak", "%00" })
        {
            yield return new($"delete device: token '{Short(token)}'", Caller.Owner, _ => new(HttpMethod.Delete, $"/api/devices/{token}"), 400, "token", token == "%00");
        }

        foreach (var id in new[] { "abc", "1.5", "99999999999999999999" })
        {
            yield return new($"retry dead event: id '{id}'", Caller.Service, _ => new(HttpMethod.Post, $"/api/webhooks/dead/{id}/retry"), 404);
            yield return new($"operator discards push: id '{id}'", Caller.Service, _ => new(HttpMethod.Post, $"/api/operator/pushes/{id}/discard"), 404);
            yield return new($"operator retries transcript: id '{id}'", Caller.Service, _ => new(HttpMethod.Post, $"/api/operator/transcripts/{id}/retry"), 404);
        }
    }

    private static IEnumerable<MalformedCase> QueryCases()
    {
        (string Query, string Field)[] list =
        [
            ("limit=abc", "limit"), ("limit=0", "limit"), ("limit=101", "limit"), ("limit=-1", "limit"), ("limit=1.5", "limit"),
            ("limit=1e2", "limit"), ("limit=99999999999", "limit"), ("limit=", "limit"), ("limit=%00", "limit"), ("limit=1&limit=2", "limit"),
            ("role=admin", "role"), ("role=", "role"), ("role=PET-OWNER", "role"), ("status=closed", "status"), ("status=ACTIVE", "status"),
            ("cursor=!!!", "cursor"), ("cursor=eHx5", "cursor"), ("cursor=" + new string('A', 300), "cursor"), ("cursor=%00", "cursor"),
        ];
        foreach (var (query, field) in list)
        {
            yield return new($"list chats: ?{Short(query)}", Caller.Owner, _ => new(HttpMethod.Get, "/api/chat/channels?" + query), 400, field);
        }

        yield return new("list chats: service without organisationId", Caller.Service, _ => new(HttpMethod.Get, "/api/chat/channels"), 400, "organisationId");
        yield return new("list chats: service with organisationId 'a b'", Caller.Service, _ => new(HttpMethod.Get, "/api/chat/channels?organisationId=a%20b"), 400, "organisationId");
        foreach (var limit in new[] { "abc", "1.5", "99999999999", "0", "-3", "501" })
        {
            yield return new($"list dead events: ?limit={limit}", Caller.Service, _ => new(HttpMethod.Get, "/api/webhooks/dead?limit=" + limit), 400, "limit");
            yield return new($"operator lists chats: ?limit={limit}", Caller.Service, _ => new(HttpMethod.Get, "/api/operator/chats?limit=" + limit), 400, "limit");
        }
    }

    private static IEnumerable<MalformedCase> WebhookCases()
    {
        MalformedCase Signed(string what, byte[] body, int status, string contentType = "application/json") =>
            new($"webhook: {what}", Caller.Anonymous, _ => StreamWebhook(body, Sign(body), contentType), status);

        var valid = Encoding.UTF8.GetBytes("""{"type":"custom.event","channel_id":"appointment-x","channel_type":"messaging"}""");
        yield return new("webhook: valid JSON without a signature", Caller.Anonymous, _ => StreamWebhook(valid, null), 401);
        yield return new("webhook: a signature of the wrong length", Caller.Anonymous, _ => StreamWebhook(valid, Sign(valid)[..63]), 401);
        yield return Signed("signed text/plain", valid, 415, "text/plain");
        yield return Signed("signed form-encoded", valid, 415, "application/x-www-form-urlencoded");
        yield return Signed("signed invalid JSON", "{\"type\": }"u8.ToArray(), 400);
        yield return Signed("signed truncated JSON", valid[..(valid.Length / 2)], 400);
        yield return Signed("signed empty body", [], 400);
        yield return Signed("signed top-level array", "[]"u8.ToArray(), 400);
        yield return Signed("signed null", "null"u8.ToArray(), 400);
        yield return Signed("signed JSON nested 1000 deep", Encoding.UTF8.GetBytes("{\"type\":" + new string('[', 1000) + new string(']', 1000) + "}"), 400);
        yield return Signed("signed invalid UTF-8", [.. "{\"type\":\"message.new\",\"text\":\""u8, 0xC3, 0x28, .. "\"}"u8], 400);
        yield return Signed("signed JSON with a comment", Encoding.UTF8.GetBytes("/* hi */" + Encoding.UTF8.GetString(valid)), 400);
        byte[] big = [.. valid, .. Enumerable.Repeat((byte)' ', BodyLimit)];
        yield return new("webhook: signed body over the limit", Caller.Anonymous, _ => OverLimit(StreamWebhook(big, Sign(big))), 413);
        yield return new("webhook: signed body marked gzip that is not", Caller.Anonymous, _ =>
        {
            var request = StreamWebhook(valid, Sign(valid));
            request.Content!.Headers.ContentEncoding.Add("gzip");
            return request;
        }, 400);
        yield return new("webhook: signed body in an unknown encoding", Caller.Anonymous, _ =>
        {
            var request = StreamWebhook(valid, Sign(valid));
            request.Content!.Headers.ContentEncoding.Add("br");
            return request;
        }, 415);
    }

    private static IEnumerable<MalformedCase> MethodCases()
    {
        (HttpMethod Method, string Path, Caller Caller)[] wrong =
        [
            (HttpMethod.Get, "/api/chat/token", Caller.Owner),
            (HttpMethod.Delete, "/api/chat/token", Caller.Owner),
            (HttpMethod.Post, "/api/chat/config", Caller.Owner),
            (HttpMethod.Put, "/api/chat/channels", Caller.Owner),
            (HttpMethod.Patch, "/api/appointments/apt-1", Caller.Service),
            (HttpMethod.Get, "/api/webhooks/stream", Caller.Anonymous),
            (HttpMethod.Get, "/api/devices", Caller.Owner),
            (HttpMethod.Post, "/health/live", Caller.Anonymous),
        ];
        foreach (var (method, path, caller) in wrong)
        {
            yield return new($"wrong method: {method} {path}", caller, _ => new(method, path), 405);
        }
    }

    /// <summary>Sends the headers first and the body only if the server wants it, so a refusal is read rather than cut off mid-upload.</summary>
    private static HttpRequestMessage OverLimit(HttpRequestMessage request)
    {
        request.Headers.ExpectContinue = true;
        return request;
    }

    private static HttpRequestMessage StreamWebhook(byte[] body, string? signature, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/webhooks/stream") { Content = Raw(body, contentType) };
        if (signature is not null)
        {
            request.Headers.Add("X-Signature", signature);
        }

        request.Headers.Add("X-Webhook-Id", Guid.NewGuid().ToString());
        request.Headers.Add("X-Api-Key", ChatApp.StreamApiKey);
        return request;
    }

    private static string Sign(byte[] body) => Infrastructure.StreamWebhook.Sign(body);

    private static string With(JsonObject body, string field, JsonNode? value)
    {
        body[field] = value;
        return body.ToJsonString();
    }

    private static string Without(JsonObject body, string field)
    {
        body.Remove(field);
        return body.ToJsonString();
    }

    /// <summary>The valid body with one field's value replaced by raw JSON text (or bytes, for invalid UTF-8).</summary>
    private static ByteArrayContent JsonWithRawValue(JsonObject body, string field, string rawJsonValue)
    {
        const string marker = "\"@@raw@@\"";
        body[field] = "@@raw@@";
        var text = body.ToJsonString().Replace(marker, rawJsonValue, StringComparison.Ordinal);
        var at = text.IndexOf(BadUtf8, StringComparison.Ordinal);
        if (at < 0)
        {
            return Json(text);
        }

        byte[] bytes = [.. Encoding.UTF8.GetBytes(text[..at]), 0xC3, 0x28, 0xFF, .. Encoding.UTF8.GetBytes(text[(at + BadUtf8.Length)..])];
        return Raw(bytes, "application/json");
    }

    private static ByteArrayContent Json(string json) => Text(json, "application/json");

    private static ByteArrayContent Json(JsonObject json) => Json(json.ToJsonString());

    private static ByteArrayContent Text(string text, string mediaType) => Raw(Encoding.UTF8.GetBytes(text), mediaType);

    private static ByteArrayContent Raw(byte[] bytes, string? mediaType)
    {
        var content = new ByteArrayContent(bytes);
        if (mediaType is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        }

        return content;
    }

    private static string Short(string text) => text.Length > 24 ? $"{text[..12]}…({text.Length} chars)" : text;
}
