using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

/// <summary>
/// The <c>messages</c> pagination of a channel query (<c>POST /channels/{type}/{id}/query</c>), as Stream's spec has it
/// (GetStream/protocol openapi, MessagePaginationParams: <c>limit</c>, <c>id_lt</c>, <c>id_lte</c>, <c>id_gt</c>,
/// <c>id_gte</c>; getstream.io/chat/docs "Channel Pagination"): ids, not offsets, so a page stays right while messages
/// arrive. Without an id the page is the latest <c>limit</c> messages; <c>id_lt</c>/<c>id_lte</c> the latest before the
/// message, <c>id_gt</c>/<c>id_gte</c> the earliest after it; every page oldest first. At most 300 a page.
/// </summary>
public sealed record MessagePage(int Limit, string? IdLt = null, string? IdLte = null, string? IdGt = null, string? IdGte = null)
{
    public static readonly MessagePage Latest = new(ChatStore.MessagesPerState);

    private static readonly HashSet<string> Known = ["limit", "id_lt", "id_lte", "id_gt", "id_gte"];

    /// <summary>The page a query asks for; what Stream refuses (a limit over 300, an id that is not a string) is refused.</summary>
    public static MessagePage Parse(string op, JsonNode? messages)
    {
        if (messages is null)
        {
            return Latest;
        }

        if (messages is not JsonObject fields)
        {
            throw StreamErrorException.Input(op, "messages must be an object");
        }

        foreach (var (name, _) in fields)
        {
            if (!Known.Contains(name))
            {
                // id_around and the created_at_* bounds are Stream's too; the emulator refuses rather than answer them wrongly.
                throw StreamErrorException.Input(op, $"messages.{name} is not supported by the emulator");
            }
        }

        var limit = StreamRules.Int(op, fields["limit"], "messages.limit") ?? ChatStore.MessagesPerState;
        if (limit is < 0 or > ChatStore.MaxMessagesPerState)
        {
            throw StreamErrorException.Input(op, $"messages.limit must be between 0 and {ChatStore.MaxMessagesPerState}");
        }

        return new MessagePage(limit, Id(op, fields, "id_lt"), Id(op, fields, "id_lte"), Id(op, fields, "id_gt"), Id(op, fields, "id_gte"));
    }

    /// <summary>The page of <paramref name="messages"/> (in the order they were sent), oldest first.</summary>
    public IEnumerable<EmulatedMessage> Of(List<EmulatedMessage> messages)
    {
        int Position(string id) => messages.FindIndex(m => m.Id == id);

        // Bounds as positions in the channel; an id the channel does not have bounds nothing from that side away.
        var upper = messages.Count; // exclusive
        var lower = 0; // inclusive
        if (IdLt is not null)
        {
            upper = Math.Min(upper, Position(IdLt) is var at and >= 0 ? at : 0);
        }

        if (IdLte is not null)
        {
            upper = Math.Min(upper, Position(IdLte) is var at and >= 0 ? at + 1 : 0);
        }

        if (IdGt is not null)
        {
            lower = Math.Max(lower, Position(IdGt) is var at and >= 0 ? at + 1 : messages.Count);
        }

        if (IdGte is not null)
        {
            lower = Math.Max(lower, Position(IdGte) is var at and >= 0 ? at : messages.Count);
        }

        if (lower >= upper)
        {
            return [];
        }

        var range = messages.Skip(lower).Take(upper - lower);

        // After an id the page runs forward from it; otherwise it is the latest of the range.
        return IdGt is not null || IdGte is not null ? range.Take(Limit) : range.TakeLast(Limit);
    }

    private static string? Id(string op, JsonObject fields, string name) => fields[name] switch
    {
        null => null,
        JsonValue value when value.TryGetValue<string>(out var id) && id.Length > 0 => id,
        _ => throw StreamErrorException.Input(op, $"messages.{name} must be a message id"),
    };
}
