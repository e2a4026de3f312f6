using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

/// <summary>
/// The part of Stream's query language <c>POST /channels</c> takes: filters on <c>type</c>, <c>id</c>, <c>cid</c>,
/// <c>members</c>, <c>frozen</c>, the times <c>last_message_at</c>, <c>created_at</c>, <c>updated_at</c> and custom fields
/// (<c>$eq</c>, <c>$in</c>, <c>$ne</c>, <c>$nin</c>, <c>$gt</c>, <c>$gte</c>, <c>$lt</c>, <c>$lte</c>, <c>$exists</c>, <c>$and</c>:
/// stream-chat-go docs/channels/query_channels.md lists them), and sorts.
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
                "last_message_at" => [channel.LastMessageAt is { } at ? Wire.Time(at) : null],
                "created_at" => [Wire.Time(channel.CreatedAt)],
                "updated_at" => [Wire.Time(channel.UpdatedAt)],
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
                    "$gt" => values.Exists(v => Compare(op, v, operand) > 0),
                    "$gte" => values.Exists(v => Compare(op, v, operand) >= 0),
                    "$lt" => values.Exists(v => Compare(op, v, operand) < 0),
                    "$lte" => values.Exists(v => Compare(op, v, operand) <= 0),
                    "$exists" when operand is JsonValue exists && exists.TryGetValue<bool>(out var wanted) => values.Exists(v => v is not null) == wanted,
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

    /// <summary>
    /// Orders a field's value against an operand: times as instants (an RFC 3339 string), numbers as numbers, text
    /// ordinally. A field with no value matches no comparison; an operand of another kind is an input error.
    /// </summary>
    private static int? Compare(string op, JsonNode? value, JsonNode? operand)
    {
        if (value is not JsonValue left)
        {
            return null;
        }

        if (operand is not JsonValue right)
        {
            throw StreamErrorException.Input(op, "comparison operands must be a string or a number");
        }

        if (left.TryGetValue<string>(out var leftText) && right.TryGetValue<string>(out var rightText))
        {
            return DateTimeOffset.TryParse(leftText, System.Globalization.CultureInfo.InvariantCulture, out var leftTime)
                && DateTimeOffset.TryParse(rightText, System.Globalization.CultureInfo.InvariantCulture, out var rightTime)
                ? leftTime.CompareTo(rightTime)
                : string.CompareOrdinal(leftText, rightText);
        }

        if (left.TryGetValue<double>(out var leftNumber) && right.TryGetValue<double>(out var rightNumber))
        {
            return leftNumber.CompareTo(rightNumber);
        }

        throw StreamErrorException.Input(op, "comparison operands must be of the field's kind");
    }
}
