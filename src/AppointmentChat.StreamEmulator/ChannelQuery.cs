using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

/// <summary>
/// The part of Stream's query language <c>POST /channels</c> takes: filters on <c>type</c>, <c>id</c>, <c>cid</c>,
/// <c>members</c>, <c>frozen</c> and custom fields (<c>$eq</c>, <c>$in</c>, <c>$ne</c>, <c>$nin</c>, <c>$and</c>), and sorts.
/// </summary>
internal static class ChannelQuery
{
    public static Func<IEnumerable<EmulatedChannel>, IOrderedEnumerable<EmulatedChannel>> Sorting(string op, JsonNode? sort)
    {
        var fields = new List<(string Field, int Direction)>();
        switch (sort)
        {
            case null:
                fields.Add(("last_updated", -1));
                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    var field = item?["field"]?.GetValue<string>() ?? throw StreamErrorException.Input(op, "sort field is required");
                    var direction = item["direction"] is JsonValue d && d.TryGetValue<int>(out var dir) ? dir : -1;
                    fields.Add((field, direction >= 0 ? 1 : -1));
                }

                break;
            case JsonObject obj:
                foreach (var (field, value) in obj)
                {
                    fields.Add((field, value is JsonValue d && d.TryGetValue<int>(out var dir) && dir >= 0 ? 1 : -1));
                }

                break;
            default:
                throw StreamErrorException.Input(op, "sort must be an array");
        }

        foreach (var (field, _) in fields)
        {
            if (field is not ("last_message_at" or "created_at" or "updated_at" or "last_updated" or "member_count"))
            {
                throw StreamErrorException.Input(op, $"sort field {field} is not supported");
            }
        }

        return channels =>
        {
            IOrderedEnumerable<EmulatedChannel>? ordered = null;
            foreach (var (field, direction) in fields.Append(("cid", 1)))
            {
                Func<EmulatedChannel, IComparable?> key = field switch
                {
                    "last_message_at" => c => c.LastMessageAt,
                    "created_at" => c => c.CreatedAt,
                    "updated_at" => c => c.UpdatedAt,
                    "member_count" => c => c.Members.Count,
                    "cid" => c => c.Cid,
                    _ => c => c.LastMessageAt ?? c.CreatedAt,
                };

                // Channels without the value (no message yet) come last either way, as in Stream.
                var comparer = Comparer<IComparable?>.Create((a, b) => (a, b) switch
                {
                    (null, null) => 0,
                    (null, _) => 1,
                    (_, null) => -1,
                    _ => direction * a.CompareTo(b),
                });
                ordered = ordered is null ? channels.OrderBy(key, comparer) : ordered.ThenBy(key, comparer);
            }

            return ordered!;
        };
    }

    public static bool Matches(string op, EmulatedChannel channel, JsonObject filter)
    {
        foreach (var (field, condition) in filter)
        {
            if (field == "$and")
            {
                if (condition is not JsonArray all || !all.All(f => f is JsonObject sub && Matches(op, channel, sub)))
                {
                    return false;
                }

                continue;
            }

            if (field.StartsWith('$'))
            {
                throw StreamErrorException.Input(op, $"operator {field} is not supported");
            }

            IEnumerable<JsonNode?> values = field switch
            {
                "type" => [channel.Type],
                "id" => [channel.Id],
                "cid" => [channel.Cid],
                "frozen" => [channel.Frozen],
                "disabled" => [channel.Disabled],
                "members" => channel.Members.Select(m => (JsonNode?)m.UserId),
                "created_by_id" => [channel.CreatedById],
                _ => [channel.Custom[field]],
            };
            if (!Satisfies(op, [.. values], condition))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when any of the field's values meets the condition (so <c>members</c> works as containment).</summary>
    private static bool Satisfies(string op, List<JsonNode?> values, JsonNode? condition)
    {
        if (condition is JsonObject operators)
        {
            foreach (var (name, operand) in operators)
            {
                var ok = name switch
                {
                    "$eq" => values.Exists(v => JsonNode.DeepEquals(v, operand)),
                    "$ne" => !values.Exists(v => JsonNode.DeepEquals(v, operand)),
                    "$in" when operand is JsonArray options => values.Exists(v => options.Any(o => JsonNode.DeepEquals(v, o))),
                    "$nin" when operand is JsonArray options => !values.Exists(v => options.Any(o => JsonNode.DeepEquals(v, o))),
                    _ => throw StreamErrorException.Input(op, $"operator {name} is not supported"),
                };
                if (!ok)
                {
                    return false;
                }
            }

            return true;
        }

        return values.Exists(v => JsonNode.DeepEquals(v, condition));
    }
}
