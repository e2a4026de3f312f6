// The guide's own frontend code (connectStreamUser, getAppointmentChannel from its "Frontend Usage"
// sections), run exactly as printed with stream-chat 9.25.0 — the apps' pinned version — through a whole
// appointment: the PMS books it, both apps connect and chat, the PMS lists and ends it. Only the base URL
// and the bearer header are added, by the fetch the app provides (support/guide-code.js).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamChat } from 'stream-chat-9-25';
import { guideFile, guideFrontendBlocks, guideStreamChatService, snippetsFile } from './support/guide-code.js';
import { nextEvent, startStack, waitFor } from './support/stack.js';

const clinic = 'clinic-guide';
const clinicTimeZone = 'Europe/Berlin'; // not UTC, so a wall-clock time read in the wrong zone is an hour off
const owner = { id: 'owner-guide', name: 'Alex', device: 'owner-phone' };
const vet = { id: 'vet-guide', name: 'Dr. Vet', device: 'vet-browser' };
const opensInSeconds = 12;

/** The appointment's start as the apps show it: the clinic's wall-clock time, no offset ("2026-12-05T14:30:00"). */
function wallClockTime(instant, timeZone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(instant).map((part) => [part.type, part.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
}

it('runs a byte-for-byte copy of the guide\'s Frontend Usage blocks', (t) => {
  const blocks = guideFrontendBlocks();
  if (blocks === undefined) {
    assert.notEqual(process.env.CI, 'true', `CI must have the guide beside the clone: ${guideFile} is missing`);
    t.skip(`the guide is not at ${guideFile}: the copy in guide/streamChatService.ts is not compared with it`);
    return;
  }

  assert.equal(blocks.length, 2);
  assert.match(blocks[0], /export const connectStreamUser = async/);
  assert.match(blocks[1], /export const getAppointmentChannel = async/);
  assert.equal(readFileSync(snippetsFile, 'utf8'), blocks.join('\n'));
});

describe('the guide\'s frontend code, as printed, through a whole appointment', () => {
  const appointmentId = `guide-${randomUUID().slice(0, 8)}`;
  const channelId = `appointment-${appointmentId}`;
  let startsAt;
  let stack, pms, ownerApi, vetApi, config;
  let ownerApp, vetApp, vetClient, ownerChannel, vetChannel, opened;
  const sent = {};
  const clients = [];

  /** A Stream client as the app's getChatClient() returns it: made once, then the same one. */
  const chatClientOfOneApp = () => {
    let client;
    return () => {
      if (!client) {
        client = new StreamChat(config.apiKey, { baseURL: config.baseUrl, allowServerSideConnect: true });
        clients.push(client);
      }
      return client;
    };
  };

  /** The later steps need the chat getAppointmentChannel opened; without it they say so instead of failing too. */
  const skippedWithoutChat = (t) => {
    if (!ownerChannel) {
      t.skip('needs the chat from the getAppointmentChannel step, which failed');
    }
    return !ownerChannel;
  };

  before(async () => {
    stack = await startStack({ name: 'guide', settings: { [`Chat__TimeZones__${clinic}`]: clinicTimeZone } });
    pms = stack.as('pms-guide', ['service']);
    ownerApi = stack.as(owner.id, ['pet-owner']);
    vetApi = stack.as(vet.id, ['vet'], clinic);
    config = await ownerApi.expect(200, 'GET', '/api/chat/config'); // what the apps are configured with
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.disconnectUser()));
    await stack?.stop();
  });

  it('takes the appointment from the PMS and both apps\' devices for push', async () => {
    // Its chat opens a few seconds from now; whole seconds, as the service compares appointmentTime to the second.
    startsAt = new Date(Math.floor((Date.now() + 60_000 + opensInSeconds * 1000) / 1000) * 1000);
    const appointment = await pms.expect(201, 'PUT', `/api/appointments/${appointmentId}`, {
      petOwnerId: owner.id, petOwnerName: owner.name, petName: 'Rex', vetId: vet.id, vetName: vet.name,
      organisationId: clinic, startsAt: startsAt.toISOString(), durationMinutes: 30, status: 'upcoming', chatActivationMinutes: 1,
    });
    await ownerApi.expect(201, 'POST', '/api/devices', { token: owner.device, platform: 'ios' });
    await vetApi.expect(201, 'POST', '/api/devices', { token: vet.device, platform: 'web' });

    assert.equal(Date.parse(appointment.startsAt), startsAt.getTime());
  });

  it('connects the pet owner and the vet with connectStreamUser', async () => {
    ownerApp = await guideStreamChatService({ getChatClient: chatClientOfOneApp(), caller: ownerApi });
    vetApp = await guideStreamChatService({ getChatClient: chatClientOfOneApp(), caller: vetApi });

    const ownerClient = await ownerApp.connectStreamUser(owner.id, owner.name);
    vetClient = await vetApp.connectStreamUser(vet.id, vet.name);
    const again = await ownerApp.connectStreamUser(owner.id, owner.name); // the guide's early return: no second token

    assert.match(ownerClient.getUserAgent(), /stream-chat-js-v9\.25\.0-/);
    assert.equal(ownerClient.userID, owner.id);
    assert.equal(vetClient.userID, vet.id);
    assert.equal(again, ownerClient);
    assert.equal(ownerClient.user.name, owner.name);
    assert.deepEqual(ownerApp.calls.map((c) => [c.url, c.status]), [['/api/chat/token', 200]]);
    assert.deepEqual(vetApp.calls.map((c) => [c.url, c.status]), [['/api/chat/token', 200]]);
  });

  it('opens the chat with getAppointmentChannel, appointmentData.dateTime the clinic\'s wall-clock time', async () => {
    const dateTime = wallClockTime(startsAt, clinicTimeZone);
    assert.match(dateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);

    const channel = await ownerApp.getAppointmentChannel(appointmentId, vet.id, { dateTime }).catch((error) => {
      const { status, body } = ownerApp.calls.at(-1);
      assert.fail(`getAppointmentChannel failed (${error.message}) after the service answered ${status} ${JSON.stringify(body)}`);
    });
    ownerChannel = channel;
    opened = nextEvent(ownerChannel, 'channel.updated', (e) => e.channel?.frozen === false, (opensInSeconds + 45) * 1000);

    const { url, status, body } = ownerApp.calls.at(-1);
    assert.deepEqual([url, status, body.channelId, body.status], ['/api/chat/channels', 200, channelId, 'pending']);
    assert.equal(channel.cid, `messaging:${channelId}`);
    assert.equal(channel.data.frozen, true, 'the chat is pending until activatesAt');
    assert.equal(Date.parse(channel.data.appointmentTime), startsAt.getTime());
    assert.deepEqual(Object.keys(channel.state.members).sort(), [owner.id, vet.id].sort());
  });

  it('lists the chat in the PMS chat list, in the guide\'s shape, and the vet watches it', async (t) => {
    if (skippedWithoutChat(t)) return;
    const { channels } = await vetApi.expect(200, 'GET', '/api/chat/channels?role=vet');
    const listed = channels.find((c) => c.id === channelId);
    vetChannel = vetClient.channel('messaging', listed.id);
    await vetChannel.watch();
    const openedForVet = nextEvent(vetChannel, 'channel.updated', (e) => e.channel?.frozen === false, (opensInSeconds + 45) * 1000);
    opened = Promise.all([opened, openedForVet]);

    assert.equal(listed.name, `Chat with ${owner.name}`);
    assert.deepEqual([...listed.members].sort(), [owner.id, vet.id].sort());
    assert.equal(listed.appointmentId, appointmentId);
    assert.equal(listed.status, 'pending');
    assert.equal(listed.lastMessage, undefined);
  });

  it('carries messages both ways once the chat opens, each pushed once to the other party', async (t) => {
    if (skippedWithoutChat(t)) return;
    await opened;

    const atVet = nextEvent(vetChannel, 'message.new', (e) => e.message?.text === 'Rex has been limping since Tuesday.');
    sent.byOwner = (await ownerChannel.sendMessage({ text: 'Rex has been limping since Tuesday.' })).message;
    await atVet;
    const atOwner = nextEvent(ownerChannel, 'message.new', (e) => e.message?.text === 'Is he putting weight on the leg?');
    sent.byVet = (await vetChannel.sendMessage({ text: 'Is he putting weight on the leg?' })).message;
    await atOwner;
    await waitFor(() => stack.fcm.deliveredTo(vet.device, sent.byOwner.id).length > 0 && stack.fcm.deliveredTo(owner.device, sent.byVet.id).length > 0,
      { timeout: 20_000, what: 'both pushes at the fake FCM' });
    await sleep(1000); // a second push of either message would show up by now

    assert.equal(sent.byOwner.type, 'regular');
    assert.equal(sent.byVet.type, 'regular');
    assert.equal(stack.fcm.deliveredTo(vet.device, sent.byOwner.id).length, 1);
    assert.equal(stack.fcm.deliveredTo(owner.device, sent.byVet.id).length, 1);
    assert.equal(stack.fcm.deliveredTo(owner.device, sent.byOwner.id).length, 0);
    assert.equal(stack.fcm.deliveredTo(vet.device, sent.byVet.id).length, 0);
  });

  it('shows the last message in the PMS chat list', async (t) => {
    if (skippedWithoutChat(t)) return;
    let listed;
    await waitFor(async () => {
      const { channels } = await vetApi.expect(200, 'GET', '/api/chat/channels?role=vet');
      listed = channels.find((c) => c.id === channelId);
      return listed?.lastMessage === 'Is he putting weight on the leg?';
    }, { what: 'the chat list to show the vet\'s reply' });

    assert.equal(listed.status, 'active');
    assert.equal(typeof listed.lastMessageAt, 'number');
    assert.equal(listed.lastMessageAt, Date.parse(sent.byVet.created_at));
  });

  it('ends when the PMS ends it, and refuses the pet owner\'s next message', async (t) => {
    if (skippedWithoutChat(t)) return;
    const ended = nextEvent(ownerChannel, 'channel.updated', (e) => e.channel?.frozen === true);

    const answer = await pms.expect(200, 'POST', `/api/chat/channels/${channelId}/end`);
    await ended;
    const late = await ownerChannel.sendMessage({ text: 'One more question…' });

    assert.deepEqual(answer, { success: true });
    assert.equal(ownerChannel.data.status, 'ended');
    assert.equal(late.message.type, 'error');
    assert.match(late.message.text, /frozen/);
  });

  // The guide's code never looks at response.ok: it destructures `token` or `channelId` from whatever came
  // back and carries on, so it fails later with the SDK's words. What a developer debugging it can read is
  // the body it parsed: every refusal carries a sentence in `error` (and a `code`).
  it('gives the guide\'s code a readable `error` in every refusal, though the code reads only token or channelId', async () => {
    const appOfTheWrongUser = await guideStreamChatService({ getChatClient: chatClientOfOneApp(), caller: ownerApi });
    await assert.rejects(appOfTheWrongUser.connectStreamUser(vet.id, vet.name), /User token can not be empty/);
    await assert.rejects(ownerApp.getAppointmentChannel(`unknown-${appointmentId}`, vet.id));

    const refusedToken = appOfTheWrongUser.calls.at(-1);
    const refusedChat = ownerApp.calls.at(-1);
    assert.deepEqual([refusedToken.url, refusedToken.status], ['/api/chat/token', 403]);
    assert.deepEqual([refusedChat.url, refusedChat.status], ['/api/chat/channels', 403], JSON.stringify(refusedChat.body));
    for (const refusal of [refusedToken, refusedChat]) {
      assert.match(String(refusal.body.code), /^[a-z]+(-[a-z]+)*$/, `the refusal ${JSON.stringify(refusal.body)} has no problem code`);
      assert.equal(typeof refusal.body.error, 'string', `the refusal ${JSON.stringify(refusal.body)} has no error sentence`);
      assert.ok(refusal.body.error.length > 0);
    }
    assert.equal(appOfTheWrongUser.logged[0][0], '[Stream] Failed to connect user:');
    assert.equal(ownerApp.logged.at(-1)[0], '[Stream] Failed to get channel:');
  });
});
