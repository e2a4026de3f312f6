// A whole appointment chat through the package, as the apps use it: the PMS pushes the appointment (service role),
// the pet owner (mobile app) and the vet (web app) connect with the service's tokens, open the chat, talk, see
// it in the chat list, the vet ends it and the next message is refused. The Stream tokens live one minute
// (Chat__TokenLifetime): one expires mid-conversation and the SDK gets a new one through the package by itself.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { StreamChat } from 'stream-chat';
import { createChatBackend, ChatBackendError } from '@appointment-chat/client';
import { nextEvent, startStack, waitFor } from '../../../tests/e2e/support/stack.js';

const clinic = 'clinic-js';
const tokenLifetimeSeconds = 60;
const suffix = randomUUID().slice(0, 8);
const owner = { id: `owner-${suffix}`, name: 'Alex' };
const vet = { id: `vet-${suffix}`, name: 'Dr. Vet' };

describe('an appointment chat through @appointment-chat/client', () => {
  const appointmentId = `js-${suffix}`;
  const startsAt = new Date(Date.now() + 2 * 60_000); // the chat opens 5 minutes before: now
  const tokenCalls = { [owner.id]: 0, [vet.id]: 0 };
  let stack, ownerBackend, vetBackend, ownerClient, vetClient, ownerChannel, vetChannel;

  // The app's own fetch, counting the package's token requests.
  const countingFetch = (userId) => (url, init) => {
    if (String(url).endsWith('/api/chat/token')) {
      tokenCalls[userId] += 1;
    }
    return fetch(url, init);
  };

  before(async () => {
    stack = await startStack({ name: 'client-js', settings: { Chat__TokenLifetime: '00:01:00' } });
    await stack.as('pms-js', ['service']).expect(201, 'PUT', `/api/appointments/${appointmentId}`, {
      petOwnerId: owner.id, petOwnerName: owner.name, petName: 'Rex', vetId: vet.id, vetName: vet.name,
      organisationId: clinic, startsAt: startsAt.toISOString(), durationMinutes: 30, status: 'upcoming',
    });
    // The mobile app: the package makes the SDK's singleton from GET /api/chat/config.
    ownerBackend = createChatBackend({
      baseUrl: stack.baseUrl,
      getAuthToken: () => stack.as(owner.id, ['pet-owner']).bearer,
      streamOptions: { allowServerSideConnect: true }, // Node is not a browser
      fetch: countingFetch(owner.id),
    });
    // The web app, here in the same process: its own client, given to the package.
    const config = await stack.as(vet.id, ['vet'], clinic).expect(200, 'GET', '/api/chat/config');
    vetBackend = createChatBackend({
      baseUrl: stack.baseUrl,
      getAuthToken: async () => stack.as(vet.id, ['vet'], clinic).bearer,
      client: new StreamChat(config.apiKey, { baseURL: config.baseUrl, allowServerSideConnect: true }),
      fetch: countingFetch(vet.id),
    });
  });

  after(async () => {
    await ownerBackend?.disconnectStreamUser();
    await vetBackend?.disconnectStreamUser();
    await stack?.stop();
  });

  it('connects both with a token from POST /api/chat/token, once per user', async () => {
    ownerClient = await ownerBackend.connectStreamUser(owner.id, owner.name);
    vetClient = await vetBackend.connectStreamUser(vet.id, vet.name, 'https://example.com/vet.png');
    const again = await ownerBackend.connectStreamUser(owner.id, owner.name);

    assert.equal(ownerClient, StreamChat.getInstance('ignored')); // the SDK's singleton, as in the mobile app
    assert.equal(again, ownerClient);
    assert.equal(ownerClient.userID, owner.id);
    assert.equal(vetClient.userID, vet.id);
    assert.equal(vetClient.user.image, 'https://example.com/vet.png');
    assert.deepEqual(tokenCalls, { [owner.id]: 1, [vet.id]: 1 });
  });

  it('opens the appointment\'s chat for both with getAppointmentChannel and watches it', async () => {
    ownerChannel = await ownerBackend.getAppointmentChannel(appointmentId, vet.id, { dateTime: startsAt });
    vetChannel = await vetBackend.getAppointmentChannel(appointmentId, vet.id, { petOwnerId: owner.id, dateTime: startsAt.toISOString() });

    assert.equal(ownerChannel.cid, `messaging:appointment-${appointmentId}`);
    assert.equal(vetChannel.cid, ownerChannel.cid);
    assert.equal(ownerChannel.initialized, true);
    assert.equal(ownerChannel.data.status, 'active');
    assert.deepEqual(Object.keys(ownerChannel.state.members).sort(), [owner.id, vet.id].sort());
  });

  it('carries messages both ways, and on after the tokens expire mid-conversation, refreshed by the package', { timeout: 240_000 }, async () => {
    const atVet = nextEvent(vetChannel, 'message.new', (e) => e.message?.text === 'Rex is limping.');
    await ownerChannel.sendMessage({ text: 'Rex is limping.' });
    await atVet;
    const atOwner = nextEvent(ownerChannel, 'message.new', (e) => e.message?.text === 'Since when?');
    await vetChannel.sendMessage({ text: 'Since when?' });
    await atOwner;

    // Stream drops the connection when a token expires; the SDK reconnects and asks the package's tokenProvider.
    const timeout = (tokenLifetimeSeconds + 90) * 1000;
    await Promise.all([nextEvent(ownerClient, 'connection.recovered', () => true, timeout), nextEvent(vetClient, 'connection.recovered', () => true, timeout)]);

    const later = nextEvent(vetChannel, 'message.new', (e) => e.message?.text === 'Since Tuesday.');
    await ownerChannel.sendMessage({ text: 'Since Tuesday.' });
    await later;
    const reply = await vetChannel.sendMessage({ text: 'Bring him in at 3 pm.' });
    assert.equal(reply.message.user.id, vet.id);
    assert.ok(tokenCalls[owner.id] >= 2, `the owner's token was refreshed (${tokenCalls[owner.id]} requests)`);
    assert.ok(tokenCalls[vet.id] >= 2, `the vet's token was refreshed (${tokenCalls[vet.id]} requests)`);
  });

  it('lists the chat for the PMS with getChatChannels, in the guide\'s shape', async () => {
    let chat;
    await waitFor(async () => {
      const { channels } = await vetBackend.getChatChannels({ role: 'vet' });
      chat = channels.find((c) => c.appointmentId === appointmentId);
      return chat?.lastMessage === 'Bring him in at 3 pm.';
    }, { what: 'the vet\'s chat list to show the last message' });

    assert.equal(chat.id, `appointment-${appointmentId}`);
    assert.equal(chat.name, 'Chat with Alex');
    assert.deepEqual([...chat.members].sort(), [owner.id, vet.id].sort());
    assert.equal(chat.status, 'active');
    assert.equal(typeof chat.lastMessageAt, 'number');
    assert.deepEqual((await ownerBackend.getChatChannels({ status: 'ended' })).channels, []);
  });

  it('ends the chat with endChat: the pet owner sees it frozen and the next message is refused', async () => {
    const ended = nextEvent(ownerChannel, 'channel.updated', (e) => e.channel?.frozen === true);

    const result = await vetBackend.endChat(ownerChannel.id);
    const update = await ended;
    const again = await vetBackend.endChat(ownerChannel.id);
    const late = await ownerChannel.sendMessage({ text: 'One more thing…' });

    assert.deepEqual(result, { success: true });
    assert.deepEqual(again, { success: true });
    assert.equal(update.channel.status, 'ended');
    assert.equal(late.message.type, 'error');
    await waitFor(async () => (await ownerBackend.getChatChannels()).channels.find((c) => c.id === ownerChannel.id)?.status === 'ended',
      { what: 'the pet owner\'s chat list to show the chat ended' });
  });
});
