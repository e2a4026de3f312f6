// The service's Stream tokens as the SDK lives with them: they expire (Chat__TokenLifetime, here one
// minute, the shortest allowed) and are refreshed through tokenProvider; revoked ones are refused.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamChat } from 'stream-chat';
import { nextEvent, startStack, waitFor } from './support/stack.js';

const clinic = 'clinic-e2e';
const tokenLifetimeSeconds = 60;

describe('Stream tokens from the service, used by the official SDK', () => {
  const ownerId = `owner-${randomUUID().slice(0, 8)}`;
  const vetId = `vet-${randomUUID().slice(0, 8)}`;
  let stack, ownerApi, vetApi, config, chat;
  const clients = [];

  const newClient = () => {
    const client = new StreamChat(config.apiKey, { baseURL: config.baseUrl, allowServerSideConnect: true });
    clients.push(client);
    return client;
  };

  before(async () => {
    stack = await startStack({ name: 'tokens', settings: { Chat__TokenLifetime: '00:01:00' } });
    ownerApi = stack.as(ownerId, ['pet-owner']);
    vetApi = stack.as(vetId, ['vet'], clinic);
    const appointmentId = `e2e-${randomUUID().slice(0, 8)}`;
    await stack.as('reception-e2e', ['admin'], clinic).expect(201, 'PUT', `/api/appointments/${appointmentId}`, {
      petOwnerId: ownerId, petOwnerName: 'Alex', petName: 'Rex', vetId, vetName: 'Dr. Vet', organisationId: clinic,
      startsAt: new Date(Date.now() + 2 * 60_000).toISOString(), durationMinutes: 30, status: 'upcoming', // open now
    });
    chat = await ownerApi.expect(200, 'POST', '/api/chat/channels', { appointmentId });
    assert.equal(chat.status, 'active');
    config = await ownerApi.expect(200, 'GET', '/api/chat/config');
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.disconnectUser()));
    await stack?.stop();
  });

  it('keeps a client connected through tokenProvider refresh when its token expires', { timeout: 180_000 }, async () => {
    const issued = [];
    const tokenProvider = async () => {
      const response = await ownerApi.expect(200, 'POST', '/api/chat/token', {});
      issued.push(response);
      return response.token;
    };
    const client = newClient();
    const hello = await client.connectUser({ id: ownerId, name: 'Alex' }, tokenProvider);
    const channel = client.channel(chat.channelType, chat.channelId);
    await channel.watch();
    assert.ok(issued[0].expiresAt - Date.now() <= tokenLifetimeSeconds * 1000, 'the token lives one minute');

    // Stream ends the connection when the token expires; the SDK reconnects, is told code 40, asks
    // tokenProvider for a new token and reconnects, then re-watches its channels.
    const recovered = nextEvent(client, 'connection.recovered', () => true, (tokenLifetimeSeconds + 60) * 1000);
    await recovered;

    assert.equal(issued.length, 2);
    assert.ok(issued[1].expiresAt > issued[0].expiresAt);
    assert.ok(client.wsConnection.isHealthy);
    assert.notEqual(client.wsConnection.connectionID, hello.connection_id);

    // The refreshed connection still gets the channel's events, and REST calls carry the new token.
    const vetClient = newClient();
    await vetClient.connectUser({ id: vetId, name: 'Dr. Vet' }, async () => (await vetApi.expect(200, 'POST', '/api/chat/token', {})).token);
    const vetChannel = vetClient.channel(chat.channelType, chat.channelId);
    await vetChannel.watch();
    const arrives = nextEvent(channel, 'message.new', (e) => e.message?.text === 'Still there, Alex?');
    await vetChannel.sendMessage({ text: 'Still there, Alex?' });
    await arrives;
    const reply = await channel.sendMessage({ text: 'Yes!' });
    assert.equal(reply.message.user.id, ownerId);
  });

  it('refuses a revoked token on the WebSocket and on REST, and accepts one issued after', async () => {
    const { token: old } = await ownerApi.expect(200, 'POST', '/api/chat/token', {});
    const { revokedBefore } = await ownerApi.expect(200, 'POST', '/api/chat/token/revoke', {});

    // A static token: the SDK cannot refresh it, so connectUser fails with Stream's code 40.
    await assert.rejects(newClient().connectUser({ id: ownerId }, old), (error) => JSON.parse(error.message).code === 40);
    const rest = await fetch(`${config.baseUrl}/channels?api_key=${config.apiKey}`, {
      method: 'POST',
      headers: { Authorization: old, 'Stream-Auth-Type': 'jwt', 'Content-Type': 'application/json' },
      body: JSON.stringify({ filter_conditions: {} }),
    });
    assert.equal(rest.status, 401);
    assert.equal((await rest.json()).code, 40);

    // Stream compares whole seconds: a token issued from revokedBefore on is valid.
    await waitFor(() => Date.now() >= Date.parse(revokedBefore), { what: 'the revocation second to pass' });
    await sleep(10);
    const { token: fresh } = await ownerApi.expect(200, 'POST', '/api/chat/token', {});
    const hello = await newClient().connectUser({ id: ownerId }, fresh);
    assert.equal(hello.me.id, ownerId);
  });
});
