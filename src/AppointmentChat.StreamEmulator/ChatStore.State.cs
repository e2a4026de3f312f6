using System.Text.Json.Nodes;

namespace AppointmentChat.StreamEmulator;

// The whole state as StateFile keeps it: exported under the lock, imported in place of it.
public sealed partial class ChatStore
{
    /// <summary>A consistent copy of the whole state, with the <see cref="Version"/> it was taken at.</summary>
    public (StoredState State, long Version) Export()
    {
        lock (_gate)
        {
            var users = _users.Values
                .Select(u => new StoredUser(u.Id, u.Role, (JsonObject)u.Custom.DeepClone(), u.CreatedAt, u.UpdatedAt, u.RevokeTokensIssuedBefore, u.LastActive))
                .ToList();
            var channels = _channels.Values.Select(c => new StoredChannel(
                c.Type, c.Id, c.CreatedById, (JsonObject)c.Custom.DeepClone(), c.Frozen, c.Disabled, c.CreatedAt, c.UpdatedAt, c.LastMessageAt,
                [.. c.Members.Select(m => new StoredMember(m.UserId, m.ChannelRole, m.CreatedAt, m.UpdatedAt))],
                [.. c.Messages.Select(m => new StoredMessage(
                    m.Id, m.UserId, m.Text, m.Type, (JsonArray)m.Attachments.DeepClone(), (JsonObject)m.Custom.DeepClone(), m.Silent, m.CreatedAt, m.UpdatedAt, m.DeletedAt))],
                [.. c.Reads.Select(r => new StoredRead(r.Key, r.Value.At, r.Value.MessageId))])).ToList();
            return (new StoredState(StoredState.CurrentFormat, users, channels), Version);
        }
    }

    /// <summary>Replaces the whole state with <paramref name="state"/> (a kept <see cref="Export"/>).</summary>
    public void Import(StoredState state)
    {
        if (state.Format != StoredState.CurrentFormat)
        {
            throw new InvalidDataException($"format {state.Format} is not {StoredState.CurrentFormat}");
        }

        lock (_gate)
        {
            _users.Clear();
            _channels.Clear();
            _messages.Clear();
            foreach (var u in state.Users)
            {
                _users[u.Id] = new EmulatedUser
                {
                    Id = u.Id, Role = u.Role, Custom = u.Custom, CreatedAt = u.CreatedAt, UpdatedAt = u.UpdatedAt,
                    RevokeTokensIssuedBefore = u.RevokeTokensIssuedBefore, LastActive = u.LastActive,
                };
            }

            foreach (var c in state.Channels)
            {
                var channel = new EmulatedChannel
                {
                    Type = c.Type, Id = c.Id, CreatedById = c.CreatedById, Custom = c.Custom, Frozen = c.Frozen, Disabled = c.Disabled,
                    CreatedAt = c.CreatedAt, UpdatedAt = c.UpdatedAt, LastMessageAt = c.LastMessageAt,
                };
                channel.Members.AddRange(c.Members.Select(m => new EmulatedMember { UserId = m.UserId, ChannelRole = m.ChannelRole, CreatedAt = m.CreatedAt, UpdatedAt = m.UpdatedAt }));
                foreach (var m in c.Messages)
                {
                    var message = new EmulatedMessage
                    {
                        Id = m.Id, UserId = m.UserId, Text = m.Text, Type = m.Type, Attachments = m.Attachments, Custom = m.Custom, Silent = m.Silent,
                        CreatedAt = m.CreatedAt, UpdatedAt = m.UpdatedAt, DeletedAt = m.DeletedAt,
                    };
                    channel.Messages.Add(message);
                    _messages[message.Id] = (channel, message);
                }

                foreach (var r in c.Reads)
                {
                    channel.Reads[r.UserId] = (r.At, r.MessageId);
                }

                _channels[channel.Cid] = channel;
            }
        }

        Changed();
    }
}
