// Every refusal of the service reaches the app as a ChatBackendError: its HTTP status, the problem's code and
// detail, Retry-After in seconds; a service that cannot be reached too (status 0, code network-error).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { StreamChat } from 'stream-chat';
import { createChatBackend, ChatBackendError } from '@appointment-chat/client';
import { startStack } from '../../../tests/e2e/support/stack.js';

const clinic = 'clinic-js-errors';
const suffix = randomUUID().slice(0, 8);
const ownerId = `owner-${suffix}`;
const vetId = `vet-${suffix}`;

describe('@appointment-chat/client errors', () => {
  let stack, config;
  const clients = [];

  const backendFor = (bearer, baseUrl = stack.baseUrl) => {
    const client = new StreamChat(config.apiKey, { baseURL: config.baseUrl, allowServerSideConnect: true });
    clients.push(client);
    return createChatBackend({ baseUrl, getAuthToken: () => bearer, client });
  };

  const rejectsWith = (promise, expected) => assert.rejects(promise, (error) => {
    assert.ok(error instanceof ChatBackendError, `${error?.name}: ${error?.message}`);
    for (const [name, value] of Object.entries(expected)) {
      assert.deepEqual(error[name], value, `${name} of ${error.message}`);
    }
    return true;
  });

  const book = (appointmentId, status = 'upcoming') => stack.as('pms-js', ['service']).call('PUT', `/api/appointments/${appointmentId}`, {
    petOwnerId: ownerId, petOwnerName: 'Alex', petName: 'Rex', vetId, vetName: 'Dr. Vet', organisationId: clinic,
    startsAt: new Date(Date.now() + 2 * 60_000).toISOString(), durationMinutes: 30, status,
  });

  before(async () => {
    stack = await startStack({ name: 'client-js-errors', settings: { RateLimiting__Token__PermitLimit: '3' } });
    config = await stack.as(ownerId, ['pet-owner']).expect(200, 'GET', '/api/chat/config');
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.disconnectUser()));
    await stack?.stop();
  });

  it('says unauthorized (401) for a bearer token the service refuses', async () => {
    await rejectsWith(backendFor('not-a-jwt').getChatChannels(), { status: 401, code: 'unauthorized', retryAfter: undefined });
  });

  it('says cannot-end-chat (403) when a pet owner ends a chat', async () => {
    const appointmentId = `js-forbidden-${suffix}`;
    await book(appointmentId);
    const owner = backendFor(stack.as(ownerId, ['pet-owner']).bearer);
    await owner.connectStreamUser(ownerId, 'Alex');
    const channel = await owner.getAppointmentChannel(appointmentId, vetId);

    await rejectsWith(owner.endChat(channel.id), { status: 403, code: 'cannot-end-chat' });
    const error = await owner.endChat(channel.id).catch((e) => e);
    assert.match(error.detail, /./);
    assert.equal(error.problem.status, 403);
  });

  it('passes on the problem\'s own code: a cancelled appointment\'s chat (409)', async () => {
    const appointmentId = `js-cancelled-${suffix}`;
    await book(appointmentId, 'cancelled');
    const owner = backendFor(stack.as(ownerId, ['pet-owner']).bearer);
    await owner.connectStreamUser(ownerId, 'Alex');
    const asServed = await stack.as(ownerId, ['pet-owner']).call('POST', '/api/chat/channels', { appointmentId });

    await rejectsWith(owner.getAppointmentChannel(appointmentId, vetId), { status: 409, code: 'appointment-cancelled', detail: asServed.body.detail });
  });

  it('says rate-limited (429) with Retry-After in seconds past the token limit', async () => {
    const greedy = `greedy-${suffix}`;
    for (let i = 0; i < 3; i++) {
      await stack.as(greedy, ['pet-owner']).expect(200, 'POST', '/api/chat/token', {});
    }

    const error = await backendFor(stack.as(greedy, ['pet-owner']).bearer).connectStreamUser(greedy, 'Greedy').catch((e) => e);

    assert.ok(error instanceof ChatBackendError, `${error?.name}: ${error?.message}`);
    assert.equal(error.status, 429);
    assert.equal(error.code, 'rate-limited');
    assert.ok(Number.isInteger(error.retryAfter) && error.retryAfter > 0, `retryAfter ${error.retryAfter}`);
  });

  it('says network-error (status 0) when the service cannot be reached, with the cause', async () => {
    const error = await backendFor('any', 'http://127.0.0.1:9').getChatChannels().catch((e) => e);

    assert.ok(error instanceof ChatBackendError);
    assert.equal(error.status, 0);
    assert.equal(error.code, 'network-error');
    assert.ok(error.cause instanceof Error);
  });

  it('refuses to open a chat before the user is connected, as the guide does', async () => {
    await assert.rejects(backendFor(stack.as(ownerId, ['pet-owner']).bearer).getAppointmentChannel('any', vetId), /must be connected/);
  });
});
