// The package in headless Chromium, as the web app runs it: the ESM build bundled for a page served on the web
// app's own origin, calling the service on another origin (CORS, Cors__AllowedOrigins__0) and the Stream emulator.
// The pet owner and the vet, each in their own browser context, go through a whole appointment chat.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { startStack } from '../../../tests/e2e/support/stack.js';
import { startStaticSite } from '../../../tests/e2e/support/static-site.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const missing = existsSync(chromiumPath) ? null : `Chromium is not installed at ${chromiumPath} (Debian package "chromium"; .ci/run installs it)`;
const skip = missing && process.env.CI !== 'true' ? missing : false;

// The page: the package and the SDK from one bundle, and what a chat screen does with a channel.
const page = `<!doctype html><title>Web app</title><script type="module">
import * as chat from '/app.js';
window.chat = chat;
window.nextMessage = (text) => new Promise((resolve) => {
  const subscription = window.channel.on('message.new', (event) => {
    if (event.message?.text === text) { subscription.unsubscribe(); resolve(event.user.id); }
  });
});
window.nextFrozen = () => new Promise((resolve) => {
  const subscription = window.channel.on('channel.updated', (event) => {
    if (event.channel?.frozen) { subscription.unsubscribe(); resolve(event.channel.status); }
  });
});
document.title = 'ready';
</script>`;

describe('@appointment-chat/client in headless Chromium, from the web app\'s own origin', () => {
  const suffix = randomUUID().slice(0, 8);
  const appointmentId = `web-${suffix}`;
  const owner = { id: `owner-${suffix}`, name: 'Alex' };
  const vet = { id: `vet-${suffix}`, name: 'Dr. Vet' };
  const startsAt = new Date(Date.now() + 2 * 60_000).toISOString();
  let site, stack, browser, ownerPage, vetPage;

  async function openPage(bearer) {
    const tab = await (await browser.newContext()).newPage();
    tab.on('pageerror', (error) => console.log(`page error: ${error.message}`));
    await tab.goto(site.origin);
    await tab.waitForFunction(() => document.title === 'ready');
    await tab.evaluate(({ baseUrl, bearer }) => {
      window.backend = window.chat.createChatBackend({ baseUrl, getAuthToken: () => bearer });
    }, { baseUrl: stack.baseUrl, bearer });
    return tab;
  }

  before(async () => {
    if (skip) {
      return;
    }
    if (missing) {
      throw new Error(`CI=true requires Chromium: ${missing}`);
    }
    const bundle = await build({
      stdin: { contents: "export * from '@appointment-chat/client';", resolveDir: path.resolve(import.meta.dirname, '..'), loader: 'js' },
      bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'warning',
    });
    site = await startStaticSite({ '/': ['text/html', page], '/app.js': ['text/javascript', bundle.outputFiles[0].contents] });
    stack = await startStack({ name: 'client-js-browser', settings: { Cors__AllowedOrigins__0: site.origin } });
    await stack.as('pms-web', ['service']).expect(201, 'PUT', `/api/appointments/${appointmentId}`, {
      petOwnerId: owner.id, petOwnerName: owner.name, petName: 'Rex', vetId: vet.id, vetName: vet.name,
      organisationId: 'clinic-web', startsAt, durationMinutes: 30, status: 'upcoming',
    });
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] });
    ownerPage = await openPage(stack.as(owner.id, ['pet-owner']).bearer);
    vetPage = await openPage(stack.as(vet.id, ['vet'], 'clinic-web').bearer);
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    await site?.close();
  });

  it('connects and opens the appointment\'s chat in both pages', { skip }, async () => {
    const open = (tab, user, appointmentData) => tab.evaluate(async ({ user, appointmentId, vetId, appointmentData }) => {
      const client = await window.backend.connectStreamUser(user.id, user.name);
      window.channel = await window.backend.getAppointmentChannel(appointmentId, vetId, appointmentData);
      return { userId: client.userID, cid: window.channel.cid, status: window.channel.data.status };
    }, { user, appointmentId, vetId: vet.id, appointmentData });

    const atOwner = await open(ownerPage, owner, { dateTime: startsAt });
    const atVet = await open(vetPage, vet, { petOwnerId: owner.id });

    assert.deepEqual(atOwner, { userId: owner.id, cid: `messaging:appointment-${appointmentId}`, status: 'active' });
    assert.deepEqual(atVet, { userId: vet.id, cid: `messaging:appointment-${appointmentId}`, status: 'active' });
  });

  it('carries messages both ways and lists the chat for the vet', { skip }, async () => {
    const atVet = vetPage.evaluate(() => window.nextMessage('Rex is limping.'));
    await ownerPage.evaluate(() => window.channel.sendMessage({ text: 'Rex is limping.' }));
    assert.equal(await atVet, owner.id);
    const atOwner = ownerPage.evaluate(() => window.nextMessage('Bring him in at 3 pm.'));
    await vetPage.evaluate(() => window.channel.sendMessage({ text: 'Bring him in at 3 pm.' }));
    assert.equal(await atOwner, vet.id);

    const chat = await vetPage.evaluate(async (appointmentId) => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const { channels } = await window.backend.getChatChannels({ role: 'vet' });
        const chat = channels.find((c) => c.appointmentId === appointmentId);
        if (chat?.lastMessage === 'Bring him in at 3 pm.') {
          return chat;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return null;
    }, appointmentId);
    assert.equal(chat?.name, 'Chat with Alex');
    assert.equal(chat.status, 'active');
  });

  it('reads the service\'s refusal as a ChatBackendError across origins', { skip }, async () => {
    const refusal = await ownerPage.evaluate(async () => {
      try {
        await window.backend.endChat(window.channel.id);
        return null;
      } catch (error) {
        return { typed: error instanceof window.chat.ChatBackendError, status: error.status, code: error.code, detail: error.detail };
      }
    });

    assert.equal(refusal?.typed, true);
    assert.equal(refusal.status, 403);
    assert.equal(refusal.code, 'cannot-end-chat');
    assert.match(refusal.detail, /./);
  });

  it('ends the chat from the vet\'s page: the pet owner\'s page sees it frozen and its next message is refused', { skip }, async () => {
    const frozen = ownerPage.evaluate(() => window.nextFrozen());
    const result = await vetPage.evaluate(() => window.backend.endChat(window.channel.id));
    const status = await frozen;
    const late = await ownerPage.evaluate(async () => (await window.channel.sendMessage({ text: 'One more thing…' })).message.type);

    assert.deepEqual(result, { success: true });
    assert.equal(status, 'ended');
    assert.equal(late, 'error');
  });
});
