// An appointment chat from booking to ending, with the official Stream SDK on both sides, exactly as the
// apps use it: tokens and the chat from the service, everything else through Stream (here the emulator).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamChat } from 'stream-chat';
import { nextEvent, startStack, waitFor } from './support/stack.js';

const clinic = 'clinic-e2e';
const owner = { id: 'owner-e2e', name: 'Alex', device: 'owner-phone' };
const vet = { id: 'vet-e2e', name: 'Dr. Vet', device: 'vet-browser' };
const opensInSeconds = 15;

describe('an appointment chat through the official Stream SDK', () => {
  const appointmentId = `e2e-${randomUUID().slice(0, 8)}`;
  let stack, practiceApi, ownerApi, vetApi;
  let config, ownerClient, vetClient, chat, ownerChannel, vetChannel, opened;
  const tokensIssued = { [owner.id]: 0, [vet.id]: 0 };
  const sent = {};

  // What the apps pass to connectUser: the service's token endpoint, called again whenever Stream says the token expired.
  const tokenProvider = (api, userId) => async () => {
    const { token } = await api.expect(200, 'POST', '/api/chat/token', {});
    tokensIssued[userId] += 1;
    return token;
  };

  before(async () => {
    stack = await startStack({ name: 'chat' });
    practiceApi = stack.as('reception-e2e', ['admin'], clinic);
    ownerApi = stack.as(owner.id, ['pet-owner']);
    vetApi = stack.as(vet.id, ['vet'], clinic);

    // The practice books an appointment whose chat opens a few seconds from now.
    const startsAt = new Date(Date.now() + 60_000 + opensInSeconds * 1000);
    await practiceApi.expect(201, 'PUT', `/api/appointments/${appointmentId}`, {
      petOwnerId: owner.id, petOwnerName: owner.name, petName: 'Rex', vetId: vet.id, vetName: vet.name,
      organisationId: clinic, startsAt: startsAt.toISOString(), durationMinutes: 30, status: 'upcoming', chatActivationMinutes: 1,
    });
    await ownerApi.expect(201, 'POST', '/api/devices', { token: owner.device, platform: 'ios' });
    await vetApi.expect(201, 'POST', '/api/devices', { token: vet.device, platform: 'web' });
    config = await ownerApi.expect(200, 'GET', '/api/chat/config');
  });

  after(async () => {
    await ownerClient?.disconnectUser();
    await vetClient?.disconnectUser();
    await stack?.stop();
  });

  it('connects the vet and the pet owner with tokens from POST /api/chat/token', async () => {
    // getInstance is the SDK's per-process singleton, as in each app; the pet owner's phone is a second client here.
    vetClient = StreamChat.getInstance(config.apiKey, { baseURL: config.baseUrl, allowServerSideConnect: true });
    ownerClient = new StreamChat(config.apiKey, { baseURL: config.baseUrl, allowServerSideConnect: true });

    const vetHello = await vetClient.connectUser({ id: vet.id, name: vet.name }, tokenProvider(vetApi, vet.id));
    const ownerHello = await ownerClient.connectUser({ id: owner.id, name: owner.name }, tokenProvider(ownerApi, owner.id));

    assert.equal(vetHello.type, 'health.check');
    assert.equal(vetHello.me.id, vet.id);
    assert.equal(ownerHello.me.id, owner.id);
    assert.notEqual(ownerHello.connection_id, vetHello.connection_id);
    assert.deepEqual(tokensIssued, { [owner.id]: 1, [vet.id]: 1 });
  });

  it('lets the pet owner open the chat with POST /api/chat/channels and watch it, frozen until it opens', async () => {
    chat = await ownerApi.expect(200, 'POST', '/api/chat/channels', { appointmentId });
    ownerChannel = ownerClient.channel(chat.channelType, chat.channelId);
    const state = await ownerChannel.watch();
    opened = {
      owner: nextEvent(ownerChannel, 'channel.updated', (e) => e.channel?.frozen === false, (opensInSeconds + 45) * 1000),
    };

    assert.equal(chat.status, 'pending');
    assert.equal(state.channel.frozen, true);
    assert.deepEqual(state.members.map((m) => m.user_id).sort(), [owner.id, vet.id].sort());
    assert.equal(state.membership.user_id, owner.id);
  });

  it('lists the chat for the vet in GET /api/chat/channels, and the vet watches it too', async () => {
    const { channels } = await vetApi.expect(200, 'GET', '/api/chat/channels');
    vetChannel = vetClient.channel(chat.channelType, chat.channelId);
    const state = await vetChannel.watch();
    opened.vet = nextEvent(vetChannel, 'channel.updated', (e) => e.channel?.frozen === false, (opensInSeconds + 45) * 1000);

    const listed = channels.find((c) => c.id === chat.channelId);
    assert.ok(listed, `the vet's list has ${JSON.stringify(channels)}`);
    assert.equal(listed.status, 'pending');
    assert.equal(state.watcher_count, 2);
  });

  it('refuses a message before activatesAt with Stream\'s error', async () => {
    assert.ok(Date.now() < Date.parse(chat.activatesAt), 'the steps before took longer than the time until the chat opens');

    // Stream answers a message to a frozen channel with an error message (type "error"), not an HTTP error.
    const early = await ownerChannel.sendMessage({ text: 'Is anyone there?' });
    assert.equal(early.message.type, 'error');
    assert.match(early.message.text, /frozen/);
  });

  it('opens at activatesAt: both clients get channel.updated with the channel unfrozen', async () => {
    const [atOwner, atVet] = await Promise.all([opened.owner, opened.vet]);

    assert.ok(Date.now() >= Date.parse(chat.activatesAt) - 1000, 'opened before activatesAt');
    assert.equal(atOwner.channel.status, 'active');
    assert.equal(atVet.channel.status, 'active');
    assert.equal(ownerChannel.data.frozen, false);
    assert.equal(vetChannel.data.frozen, false);
  });

  it('carries messages both ways as message.new events, with typing and read receipts', async () => {
    const typing = nextEvent(vetChannel, 'typing.start', (e) => e.user?.id === owner.id);
    await ownerChannel.keystroke();
    await typing;

    const atVet = nextEvent(vetChannel, 'message.new', (e) => e.message?.text === 'Rex has been limping since Tuesday.');
    sent.byOwner = (await ownerChannel.sendMessage({ text: 'Rex has been limping since Tuesday.' })).message;
    const received = await atVet;

    const atOwner = nextEvent(ownerChannel, 'message.new', (e) => e.message?.text === 'Thanks, Alex. Is he putting weight on the leg?');
    sent.byVet = (await vetChannel.sendMessage({ text: 'Thanks, Alex. Is he putting weight on the leg?' })).message;
    const reply = await atOwner;

    const read = nextEvent(vetChannel, 'message.read', (e) => e.user?.id === owner.id);
    await ownerChannel.markRead();
    const receipt = await read;

    assert.equal(received.message.id, sent.byOwner.id);
    assert.equal(received.user.id, owner.id);
    assert.equal(reply.message.id, sent.byVet.id);
    assert.equal(receipt.last_read_message_id, sent.byVet.id);
    for (const channel of [ownerChannel, vetChannel]) {
      assert.deepEqual(channel.state.messages.map((m) => m.id), [sent.byOwner.id, sent.byVet.id]);
    }
  });

  it('pushes each message exactly once, to the other party\'s device only', async () => {
    await waitFor(
      () => stack.fcm.deliveredTo(vet.device, sent.byOwner.id).length > 0 && stack.fcm.deliveredTo(owner.device, sent.byVet.id).length > 0,
      { timeout: 30_000, what: 'both pushes at the fake FCM' });
    await sleep(2000); // a duplicate (a retried webhook, a second dispatch) would show up by now

    const toVet = stack.fcm.deliveredTo(vet.device, sent.byOwner.id);
    const toOwner = stack.fcm.deliveredTo(owner.device, sent.byVet.id);
    assert.equal(toVet.length, 1);
    assert.equal(toOwner.length, 1);
    assert.equal(toVet[0].notification.body, 'Rex has been limping since Tuesday.');
    assert.equal(toVet[0].data.channelId, chat.channelId);
    assert.equal(stack.fcm.deliveredTo(owner.device, sent.byOwner.id).length, 0);
    assert.equal(stack.fcm.deliveredTo(vet.device, sent.byVet.id).length, 0);
  });

  it('sends a photo and a file: uploaded with channel.sendImage and sendFile, served by URL, pushed as what was sent', async () => {
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    const photo = await ownerChannel.sendImage(png, 'paw.png', 'image/png');
    const report = await ownerChannel.sendFile(Buffer.from('%PDF-1.7 lab report'), 'lab-report.pdf', 'application/pdf');
    const atVet = nextEvent(vetChannel, 'message.new', (e) => e.message?.text === 'His paw, and the lab report');
    sent.withPhoto = (await ownerChannel.sendMessage({
      text: 'His paw, and the lab report',
      attachments: [
        { type: 'image', image_url: photo.file, thumb_url: photo.thumb_url, fallback: 'paw.png' },
        { type: 'file', asset_url: report.file, title: 'lab-report.pdf', mime_type: 'application/pdf' },
      ],
    })).message;
    const received = await atVet;
    const served = await fetch(received.message.attachments[0].image_url);

    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), png);
    assert.equal(received.message.attachments[1].asset_url, report.file);
    await waitFor(() => stack.fcm.deliveredTo(vet.device, sent.withPhoto.id).length > 0, { timeout: 30_000, what: 'the push for the photo' });
    assert.equal(stack.fcm.deliveredTo(vet.device, sent.withPhoto.id)[0].notification.body, 'Sent 2 attachments: His paw, and the lab report');
  });

  it('ends when the vet ends it: the pet owner\'s client sees the channel frozen and its next message refused', async () => {
    const ended = nextEvent(ownerChannel, 'channel.updated', (e) => e.channel?.frozen === true);
    const notice = nextEvent(ownerChannel, 'message.new', (e) => e.user?.id === 'system'); // the practice's system user (Chat__SystemUserId)

    await vetApi.expect(200, 'POST', `/api/chat/channels/${chat.channelId}/end`);
    const update = await ended;
    const systemMessage = await notice;

    assert.equal(update.channel.status, 'ended');
    assert.equal(ownerChannel.data.frozen, true);
    assert.match(systemMessage.message.text, /ended/);
    assert.equal(systemMessage.message.type, 'system'); // Stream's system message type, sent server-side
    const late = await ownerChannel.sendMessage({ text: 'One more question…' });
    assert.equal(late.message.type, 'error');
    await waitFor(async () => (await ownerApi.expect(200, 'GET', '/api/chat/channels')).channels.find((c) => c.id === chat.channelId)?.status === 'ended',
      { what: 'the pet owner\'s chat list to show the chat ended' });
  });
});
