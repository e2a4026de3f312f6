using System.Text.Json.Nodes;
using AppointmentChat.Api.Appointments;
using AppointmentChat.Api.Stream;

namespace AppointmentChat.Api.Channels;

/// <summary>The chat's members in Stream: the appointment's two people, changed as Stream's SDKs change them.</summary>
internal sealed partial class AppointmentChats
{
    /// <summary>
    /// Makes the channel's members the appointment's two people. The change is worked out from the members Stream
    /// has, not from those recorded (a change applied to Stream whose record then lost to a concurrent update left the
    /// record behind), and what Stream then has is recorded at once, whatever else happens to the appointment.
    /// </summary>
    private async Task SyncMembersAsync(Appointment appointment, string channelId, string[] wanted, CancellationToken cancellationToken)
    {
        var filter = new JsonObject { ["cid"] = new JsonObject { ["$in"] = new JsonArray($"{ChatLimits.ChannelType}:{channelId}") } };
        var found = await stream.QueryChannelsAsync(new QueryChannelsRequest(filter, Limit: 1), cancellationToken);
        var actual = found.FirstOrDefault(c => c.Channel.Id == channelId)?.Members?.Select(m => m.UserId).ToList() ?? [];
        var add = wanted.Except(actual).ToList();
        var remove = actual.Except(wanted).ToList();
        if (add.Count > 0 || remove.Count > 0)
        {
            var updated = await ChangeMembersAsync(channelId, add, remove, cancellationToken);
            actual = updated?.Members?.Select(m => m.UserId).ToList() ?? [.. actual.Except(remove).Concat(add)];
        }

        await record.RecordMembersAsync(appointment.Id, MemberSlots(actual, appointment), cancellationToken);
    }

    /// <summary>
    /// Adds, then removes, in two requests (see <see cref="StreamChatClient.AddMembersAsync"/>): a replaced vet leaves only
    /// once the new one is in, so the channel never has fewer people than it should. Stream's answer to the last request.
    /// </summary>
    private async Task<StreamChannelResponse?> ChangeMembersAsync(string channelId, List<string> add, List<string> remove, CancellationToken cancellationToken)
    {
        StreamChannelResponse? last = null;
        if (add.Count > 0)
        {
            last = await stream.AddMembersAsync(ChatLimits.ChannelType, channelId, add, cancellationToken);
        }

        if (remove.Count > 0)
        {
            last = await stream.RemoveMembersAsync(ChatLimits.ChannelType, channelId, remove, cancellationToken);
        }

        return last;
    }

    /// <summary>Stream's members as the two people the record keeps: the pet owner's place and the vet's.</summary>
    private static (string? PetOwner, string? Vet) MemberSlots(IReadOnlyList<string> members, Appointment appointment)
    {
        var petOwner = members.Contains(appointment.PetOwnerId) ? appointment.PetOwnerId : members.FirstOrDefault(m => m != appointment.VetId);
        var vet = members.Contains(appointment.VetId) ? appointment.VetId : members.FirstOrDefault(m => m != petOwner);
        return (petOwner, vet);
    }
}
