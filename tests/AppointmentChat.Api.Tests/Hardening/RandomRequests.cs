using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>One generated request: who calls, what, and with which bytes.</summary>
public sealed record GeneratedRequest(int Index, string Endpoint, string Caller, HttpMethod Method, string Path, byte[]? Body, string? ContentType, bool SignedByStream)
{
    public string Describe()
    {
        var body = Body is null ? "" : Encoding.UTF8.GetString(Body);
        return $"#{Index} {Caller} {Method} {Path} [{ContentType}] {(body.Length > 300 ? body[..300] + $"…({body.Length})" : body)}";
    }
}

/// <summary>
/// Generates requests for every endpoint from one seed: mostly well-formed ones for the world's people and
/// appointments (so that chats really are created, ended, listed and pushed), each with a fair chance of being
/// made wrong — a field dropped, added, doubled or given a random value of any type, the body truncated, a byte
/// flipped, garbage, the wrong content type, a hostile id in the path — and callers with valid, expired, forged
/// and missing tokens. The same seed gives the same requests.
/// </summary>
public sealed class RandomRequests(World world, int seed)
{
    public const int AppointmentPool = 30;

    private readonly Random _random = new(seed);

    /// <summary>The callers: the world's people, the generated appointments' people, and broken tokens.</summary>
    public static readonly string[] ValidCallers =
        ["owner-a", "vet-a", "admin-a", "admin-b", "service", "owner-b", "vet-b", "stranger", "rnd-owner-0", "rnd-owner-1", "rnd-owner-2", "rnd-vet-0", "rnd-vet-1", "rnd-vet-2"];

    public static readonly string[] BrokenCallers = ["anonymous", "expired", "wrong-key", "alg-none", "garbage"];

    private static readonly string[] Platforms = ["ios", "android", "web"];
    private static readonly string[] Statuses = ["upcoming", "upcoming", "upcoming", "requested", "checked-in", "in-progress", "completed", "cancelled", "no-show"];

    public IEnumerable<GeneratedRequest> Generate(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var caller = _random.Next(100) < 80 ? Pick(ValidCallers) : Pick(BrokenCallers);
            var request = _random.Next(100) switch
            {
                < 8 => Json(i, "token", caller, HttpMethod.Post, "/api/chat/token", TokenBody(caller)),
                < 12 => Json(i, "revoke", caller, HttpMethod.Post, "/api/chat/token/revoke", TokenBody(caller)),
                < 15 => Get(i, "config", caller, "/api/chat/config"),
                < 29 => Json(i, "create chat", caller, HttpMethod.Post, "/api/chat/channels", CreateBody()),
                < 36 => Empty(i, "end chat", caller, HttpMethod.Post, $"/api/chat/channels/{ChannelIdInPath()}/end"),
                < 46 => Get(i, "list chats", caller, "/api/chat/channels" + ListQuery()),
                < 60 => Json(i, "put appointment", _random.Next(3) == 0 ? caller : Pick(["service", "admin-a", "admin-b"]), HttpMethod.Put, $"/api/appointments/{AppointmentIdInPath()}", AppointmentBody()),
                < 66 => Get(i, "get appointment", caller, $"/api/appointments/{AppointmentIdInPath()}"),
                < 72 => Json(i, "register device", caller, HttpMethod.Post, "/api/devices", DeviceBody()),
                < 75 => Empty(i, "delete device", caller, HttpMethod.Delete, $"/api/devices/{DeviceTokenInPath()}"),
                < 91 => Webhook(i),
                < 94 => Get(i, "dead events", caller, "/api/webhooks/dead" + (_random.Next(2) == 0 ? "" : "?limit=" + Pick(["1", "50", "500", "0", "x", "-1", "999999999999"]))),
                < 96 => Empty(i, "retry dead event", caller, HttpMethod.Post, $"/api/webhooks/dead/{Pick(["1", "2", "999", "-1", "x", "99999999999999999999"])}/retry"),
                < 98 => Get(i, "health", "anonymous", Pick(["/health/live", "/health/ready"])),
                _ => Get(i, "metrics", "anonymous", "/metrics"),
            };
            yield return request;
        }
    }

    // ---------------------------------------------------------------- bodies, mostly right

    private JsonObject TokenBody(string caller) => _random.Next(4) switch
    {
        0 => [],
        1 => new JsonObject { ["userId"] = UserIdOf(caller) },
        2 => new JsonObject { ["userId"] = PersonId() },
        _ => new JsonObject { ["userId"] = RandomValue() },
    };

    private JsonObject CreateBody()
    {
        var body = new JsonObject { ["appointmentId"] = AppointmentId() };
        if (_random.Next(5) == 0)
        {
            body["petOwnerId"] = PersonId();
            body["vetId"] = PersonId();
        }

        if (_random.Next(8) == 0)
        {
            body["appointmentTime"] = Time();
            body["activationMinutes"] = _random.Next(-5, 100);
        }

        return body;
    }

    private JsonObject AppointmentBody()
    {
        var k = _random.Next(3);
        return new JsonObject
        {
            ["petOwnerId"] = _random.Next(4) == 0 ? PersonId() : $"rnd-owner-{k}",
            ["petOwnerName"] = _random.Next(3) == 0 ? RandomString() : "Owner " + k,
            ["petName"] = Pick(["Rex", "Mia", "Bo", "Pip"]),
            ["vetId"] = _random.Next(4) == 0 ? PersonId() : $"rnd-vet-{_random.Next(3)}",
            ["vetName"] = "Dr. " + k,
            ["organisationId"] = Pick([World.ClinicA, World.ClinicA, World.ClinicB]),
            ["startsAt"] = Time(),
            ["durationMinutes"] = Pick([15, 30, 45, 60]),
            ["status"] = Pick(Statuses),
            ["chatActivationMinutes"] = Pick([0, 5, 15, 60]),
        };
    }

    private JsonObject DeviceBody() => new()
    {
        ["token"] = _random.Next(5) == 0 ? RandomString() : "rnd-device-" + _random.Next(12),
        ["platform"] = _random.Next(6) == 0 ? RandomValue() : Pick(Platforms),
    };

    private string ListQuery()
    {
        var parts = new List<string>();
        if (_random.Next(3) == 0)
        {
            parts.Add("role=" + Pick(["pet-owner", "vet", "admin", "", "VET"]));
        }

        if (_random.Next(3) == 0)
        {
            parts.Add("status=" + Pick(["pending", "active", "ended", "closed"]));
        }

        if (_random.Next(3) == 0)
        {
            parts.Add("limit=" + Pick(["1", "5", "30", "100", "0", "101", "-1", "x", "1.5"]));
        }

        if (_random.Next(4) == 0)
        {
            parts.Add("organisationId=" + Pick([World.ClinicA, World.ClinicB, "a%20b", ""]));
        }

        if (_random.Next(8) == 0)
        {
            parts.Add("cursor=" + Pick(["x", "!!!", "MTIzfGFwdC0x", Uri.EscapeDataString(RandomString())]));
        }

        return parts.Count == 0 ? "" : "?" + string.Join("&", parts);
    }

    private string Time() => _random.Next(10) switch
    {
        0 => DateTimeOffset.UtcNow.AddHours(-_random.Next(1, 48)).ToString("O", CultureInfo.InvariantCulture), // in the past
        1 => DateTimeOffset.UtcNow.AddMinutes(_random.Next(-30, 30)).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture), // around now
        2 => Pick(["2030-01-15T14:00:00", "2030-01-15", "tomorrow", "2030-02-30T10:00:00Z", "1999-01-01T00:00:00Z"]),
        _ => DateTimeOffset.UtcNow.AddHours(_random.Next(1, 72)).ToString("O", CultureInfo.InvariantCulture),
    };

    // ---------------------------------------------------------------- ids: the world's, the pool's, and hostile ones

    private string AppointmentId() => _random.Next(10) switch
    {
        0 => world.WithChat.AppointmentId,
        1 => world.WithoutChat.AppointmentId,
        2 => world.OtherClinic.AppointmentId,
        3 => RandomString(),
        _ => $"rnd-apt-{_random.Next(AppointmentPool)}",
    };

    private string AppointmentIdInPath() => _random.Next(12) == 0 ? HostilePathSegment() : Uri.EscapeDataString(AppointmentId());

    private string ChannelIdInPath() => _random.Next(12) == 0 ? HostilePathSegment() : "appointment-" + Uri.EscapeDataString(AppointmentId());

    private string DeviceTokenInPath() => _random.Next(6) == 0 ? HostilePathSegment() : "rnd-device-" + _random.Next(12);

    private string HostilePathSegment() => Pick(["%00", "%FF", "a%20b", "..%2F..%2Fetc%2Fpasswd", "%E2%80%AE", new string('x', 300), "appointment-", "%27%3B--", "%3Cscript%3E"]);

    private string PersonId() => Pick([world.WithChat.PetOwnerId, world.WithChat.VetId, world.OtherClinic.PetOwnerId, "rnd-owner-0", "rnd-vet-1", "system", "nobody", "has space", ""]);

    public string UserIdOf(string caller) => caller switch
    {
        "owner-a" => world.WithChat.PetOwnerId,
        "vet-a" => world.WithChat.VetId,
        "admin-a" => world.AdminA,
        "admin-b" => world.AdminB,
        "service" => "pms",
        "owner-b" => world.OtherClinic.PetOwnerId,
        "vet-b" => world.OtherClinic.VetId,
        "stranger" => "stranger",
        _ when caller.StartsWith("rnd-", StringComparison.Ordinal) => caller,
        _ => "nobody",
    };

    // ---------------------------------------------------------------- webhooks

    private GeneratedRequest Webhook(int i)
    {
        var channelId = _random.Next(4) == 0 ? "appointment-unknown-" + _random.Next(5) : "appointment-" + AppointmentId();
        var (owner, vet) = (world.WithChat.PetOwnerId, world.WithChat.VetId);
        var type = Pick(["message.new", "message.new", "message.new", "message.updated", "message.deleted", "user.updated", "custom.event", "channel.updated", "channel.deleted"]);

        // Only Stream may sign, and it never lies about a channel: events about a real channel's state stay unknown-channel ones.
        if (type.StartsWith("channel.", StringComparison.Ordinal))
        {
            channelId = "appointment-unknown-" + _random.Next(5);
        }

        var body = new JsonObject
        {
            ["type"] = type,
            ["cid"] = "messaging:" + channelId,
            ["channel_id"] = channelId,
            ["channel_type"] = "messaging",
            ["created_at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["message"] = new JsonObject
            {
                ["id"] = _random.Next(50) == 0 ? RandomString() : "rnd-msg-" + _random.Next(200),
                ["text"] = _random.Next(4) == 0 ? RandomString() : "hello " + i,
                ["user"] = new JsonObject { ["id"] = Pick([owner, vet, "system", "rnd-owner-0", "stranger-" + _random.Next(3)]), ["name"] = _random.Next(3) == 0 ? RandomString() : "Someone" },
                ["created_at"] = DateTimeOffset.UtcNow.AddSeconds(-_random.Next(100)).ToString("O", CultureInfo.InvariantCulture),
                ["silent"] = _random.Next(10) == 0,
            },
            ["user"] = new JsonObject { ["id"] = Pick([owner, vet, "rnd-vet-0"]), ["name"] = _random.Next(3) == 0 ? RandomString() : "Name" },
            ["members"] = _random.Next(3) == 0 ? new JsonArray([.. Enumerable.Range(0, _random.Next(4)).Select(_ => (JsonNode)new JsonObject { ["user_id"] = _random.Next(3) == 0 ? RandomString() : PersonId() })]) : null,
            ["channel"] = new JsonObject { ["frozen"] = _random.Next(2) == 0, ["status"] = Pick(["active", "ended", "pending"]), ["updated_at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture) },
        };

        var bytes = Mutate(body, out var contentType);
        var signed = _random.Next(100) < 80;
        return new GeneratedRequest(i, "webhook", "stream", HttpMethod.Post, "/api/webhooks/stream", bytes, contentType, signed);
    }

    // ---------------------------------------------------------------- making requests wrong

    private GeneratedRequest Json(int i, string endpoint, string caller, HttpMethod method, string path, JsonObject body)
    {
        var bytes = Mutate(body, out var contentType);
        return new GeneratedRequest(i, endpoint, caller, method, path, bytes, contentType, false);
    }

    private static GeneratedRequest Get(int i, string endpoint, string caller, string path) => new(i, endpoint, caller, HttpMethod.Get, path, null, null, false);

    private GeneratedRequest Empty(int i, string endpoint, string caller, HttpMethod method, string path) =>
        _random.Next(10) == 0
            ? new(i, endpoint, caller, method, path, Encoding.UTF8.GetBytes(RandomString()), "application/json", false)
            : new(i, endpoint, caller, method, path, null, null, false);

    /// <summary>The body as bytes, left alone two times in three, otherwise made wrong in one of many ways.</summary>
    private byte[] Mutate(JsonObject body, out string? contentType)
    {
        contentType = "application/json";
        if (_random.Next(3) != 0)
        {
            return Encoding.UTF8.GetBytes(body.ToJsonString());
        }

        var keys = body.Select(p => p.Key).ToList();
        switch (_random.Next(12))
        {
            case 0 when keys.Count > 0:
                body.Remove(Pick(keys));
                break;
            case 1:
                body[Pick(["extra", "isAdmin", "role", "__proto__", "$type", "members"])] = RandomValue();
                break;
            case 2 when keys.Count > 0:
                body[Pick(keys)] = RandomValue();
                break;
            case 3 when keys.Count > 0:
                var text = body.ToJsonString();
                var key = Pick(keys);
                return Encoding.UTF8.GetBytes(text[..^1] + $",\"{key}\":{RandomValue()?.ToJsonString() ?? "null"}}}");
            case 4:
                var whole = Encoding.UTF8.GetBytes(body.ToJsonString());
                return whole[..(_random.Next(whole.Length))];
            case 5:
                var flipped = Encoding.UTF8.GetBytes(body.ToJsonString());
                flipped[_random.Next(flipped.Length)] = (byte)_random.Next(256);
                return flipped;
            case 6:
                var garbage = new byte[_random.Next(1, 200)];
                _random.NextBytes(garbage);
                return garbage;
            case 7:
                contentType = Pick(["text/plain", "application/xml", "application/x-www-form-urlencoded", null, "application/json; charset=utf-16"]);
                break;
            case 8:
                var depth = _random.Next(10, 2000);
                return Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth));
            case 9:
                return Encoding.UTF8.GetBytes(Pick(["", "null", "[]", "\"text\"", "42", "true", "{}"]));
            case 10 when _random.Next(20) == 0:
                // A body over the 1 MiB limit, now and then.
                return Encoding.UTF8.GetBytes(body.ToJsonString() + new string(' ', 1024 * 1024 + 10));
            default:
                body[Pick(keys.Count > 0 ? keys : ["x"])] = RandomString();
                break;
        }

        return Encoding.UTF8.GetBytes(body.ToJsonString());
    }

    private JsonNode? RandomValue(int depth = 0) => _random.Next(depth > 3 ? 8 : 11) switch
    {
        0 => null,
        1 => JsonValue.Create(_random.Next(2) == 0),
        2 => JsonValue.Create(_random.Next(-1000, 100000)),
        3 => JsonValue.Create(Pick([long.MaxValue, long.MinValue, 2147483648L, -1L, 0L])),
        4 => JsonValue.Create(Pick([0.5, -1e308, 1e308, 3.14159])),
        5 or 6 or 7 => JsonValue.Create(RandomString()),
        8 => new JsonArray([.. Enumerable.Range(0, _random.Next(4)).Select(_ => RandomValue(depth + 1))]),
        9 => new JsonObject(Enumerable.Range(0, _random.Next(4)).Select(n => KeyValuePair.Create("k" + n, RandomValue(depth + 1)))),
        _ => JsonValue.Create(PersonId()),
    };

    private string RandomString()
    {
        switch (_random.Next(14))
        {
            case 0:
                return "";
            case 1:
                return new string('x', Pick([65, 201, 5000, 100_000]));
            case 2:
                return Pick(["a\u0000b", "line\nbreak", "tab\there", "\u007f", "\u0085", "bell\u0007"]);
            case 3:
                return Pick(["tök", "😀", "\u202eevil", "zero\u200bwidth", "日本語", "\ud800", "\udc00x"]);
            case 4:
                return Pick(["'; DROP TABLE appointments; --", "<script>alert(1)</script>", "${jndi:ldap://x}", "../../etc/passwd", "%00", "{{7*7}}"]);
            case 5:
                return Pick(["a:b", "a/b", "a@b", "has space", "UPPER", "-", "_"]);
            default:
                var length = _random.Next(1, 40);
                var chars = new char[length];
                for (var c = 0; c < length; c++)
                {
                    chars[c] = (char)_random.Next(0x20, 0x7f);
                }

                return new string(chars);
        }
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];
}
