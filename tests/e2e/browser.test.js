// The demo page (/demo, Development only) in two headless Chromium pages: the vet and the pet owner talk
// through the official SDK in the browser, then the vet ends the chat. Screenshots go to TestResults/artifacts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { artifactsFolder, startStack } from './support/stack.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const missing = existsSync(chromiumPath) ? null : `Chromium is not installed at ${chromiumPath} (Debian package "chromium"; .ci/run installs it)`;
if (missing && process.env.CI !== 'true') {
  console.log(`Skipping the browser tests: ${missing}.`);
}
// Under CI=true a missing browser is a failure, not a skip.
const skip = missing && process.env.CI !== 'true' ? missing : false;
// The version these tests pin; the demo's own npm project must bundle the same one.
const sdkVersion = JSON.parse(readFileSync(path.join(import.meta.dirname, 'package.json'), 'utf8')).dependencies['stream-chat'];

/** A PNG of one colour: signature, IHDR, one zlib-compressed IDAT of filter-0 rows, IEND. */
function solidPng(width, height, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => (bytes.reduce((c, byte) => crcTable[(c ^ byte) & 0xff] ^ (c >>> 8), 0xffffffff) ^ 0xffffffff) >>> 0;
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const check = Buffer.alloc(4);
    check.writeUInt32BE(crc(body));
    return Buffer.concat([length, body, check]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => [r, g, b]).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

describe('the demo page, in two headless Chromium pages', () => {
  const appointmentId = `demo-${randomUUID().slice(0, 8)}`;
  let stack, browser, vetPage, ownerPage;

  const screenshot = (page, name) => page.screenshot({ path: path.join(artifactsFolder, `demo-${name}.png`), fullPage: true });
  const notice = (page) => page.textContent('#notice');
  const waitForNotice = (page, prefix) =>
    page.waitForFunction((text) => document.querySelector('#notice').textContent.startsWith(text), prefix, { timeout: 20_000 });
  const waitForStatus = (page, status, timeout = 20_000) => page.waitForSelector(`#status[data-status="${status}"]`, { timeout });
  const message = (page, text) => page.waitForSelector(`#messages li:has-text(${JSON.stringify(text)})`, { timeout: 15_000 });

  async function openAs(page, person) {
    await page.goto(`${stack.baseUrl}/demo`);
    await waitForNotice(page, 'Ready');
    await page.fill('#appointment', appointmentId);
    await page.selectOption('#person', person);
  }

  before(async () => {
    if (skip) {
      return;
    }
    if (missing) {
      throw new Error(`CI=true requires Chromium: ${missing}`);
    }
    stack = await startStack({ name: 'browser' });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking'],
    });
    // Two contexts: two people on two devices, each with its own SDK singleton.
    vetPage = await (await browser.newContext({ viewport: { width: 900, height: 900 } })).newPage();
    ownerPage = await (await browser.newContext({ viewport: { width: 900, height: 900 } })).newPage();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('serves the page and the official SDK from the service itself', { skip }, async () => {
    const page = await fetch(`${stack.baseUrl}/demo`);
    const sdk = await fetch(`${stack.baseUrl}/demo/stream-chat.js`);

    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script type="module" src="\/demo\/demo.js">/);
    assert.equal(sdk.status, 200, 'the SDK bundle is built by npm ci in src/AppointmentChat.Api/Demo');
    assert.match(sdk.headers.get('content-type'), /javascript/);
  });

  it('books the appointment as the practice; both open the chat, pending, and a message is refused', { skip }, async () => {
    await openAs(vetPage, 'vet');
    await vetPage.fill('#opens-in', '20');
    await vetPage.click('#book');
    await waitForNotice(vetPage, 'Booked');
    await vetPage.click('#open');
    await openAs(ownerPage, 'owner');
    await ownerPage.click('#open');
    await waitForStatus(vetPage, 'pending');
    await waitForStatus(ownerPage, 'pending');

    await ownerPage.fill('#text', 'Hello, is anyone there?');
    await ownerPage.click('#send');
    await waitForNotice(ownerPage, 'Not sent');
    await screenshot(ownerPage, '1-owner-pending');

    assert.match(await notice(ownerPage), /not open yet/);
    assert.match(await ownerPage.textContent('#sdk'), new RegExp(`^stream-chat-js-v${sdkVersion.replaceAll('.', '\\.')}-browser`));
    assert.equal(await ownerPage.locator('#messages li').count(), 0);
  });

  it('opens at activatesAt in both pages; messages and typing go both ways', { skip }, async () => {
    await waitForStatus(ownerPage, 'active', 60_000);
    await waitForStatus(vetPage, 'active', 10_000);

    await ownerPage.fill('#text', 'Rex is limping on his front left leg.');
    await vetPage.waitForFunction(() => document.querySelector('#typing').textContent.includes('Alex is typing'), null, { timeout: 10_000 });
    await ownerPage.click('#send');
    const atVet = await message(vetPage, 'Rex is limping on his front left leg.');
    await vetPage.fill('#text', 'Thanks, Alex. Bring him in at 3 pm.');
    await vetPage.click('#send');
    const atOwner = await message(ownerPage, 'Thanks, Alex. Bring him in at 3 pm.');
    await screenshot(vetPage, '2-vet-conversation');
    await screenshot(ownerPage, '2-owner-conversation');

    assert.equal(await atVet.getAttribute('class'), 'theirs');
    assert.equal(await atOwner.getAttribute('class'), 'theirs');
    assert.equal(await (await message(ownerPage, 'Rex is limping on his front left leg.')).getAttribute('class'), 'mine');
  });

  it('sends a photo: uploaded through the SDK, shown in both pages from its URL', { skip }, async () => {
    // A real PNG, so the browser decodes what the emulator serves back (and the screenshot shows it).
    const png = solidPng(160, 100, [0xd9, 0x8c, 0x3f]);
    await ownerPage.fill('#text', 'His paw this morning');
    await ownerPage.setInputFiles('#photo', { name: 'paw.png', mimeType: 'image/png', buffer: png });
    await ownerPage.click('#send');
    await waitForNotice(ownerPage, 'Sent');
    const photo = vetPage.locator('#messages li:has-text("His paw this morning") img');
    await photo.waitFor({ timeout: 15_000 });
    await vetPage.waitForFunction(() => document.querySelector('#messages li img')?.naturalWidth > 0, null, { timeout: 10_000 });
    await screenshot(vetPage, '3-vet-photo');

    assert.equal(await photo.getAttribute('alt'), 'paw.png');
    assert.match(await photo.getAttribute('src'), /\/uploads\/[0-9a-f]{32}\/paw\.png$/);
    assert.equal(await ownerPage.locator('#messages li:has-text("His paw this morning") img').count(), 1);
  });

  it('ends when the vet ends it: the pet owner\'s page shows it ended and Stream refuses the next message', { skip }, async () => {
    await vetPage.click('#end');
    await waitForStatus(ownerPage, 'ended');
    await message(ownerPage, 'ended by the veterinary practice');

    await ownerPage.fill('#text', 'Wait, one more thing!');
    await ownerPage.click('#send');
    await waitForNotice(ownerPage, 'Not sent');
    await screenshot(ownerPage, '4-owner-ended');
    await screenshot(vetPage, '4-vet-ended');

    assert.match(await notice(ownerPage), /ended by the practice/);
    assert.equal(await ownerPage.locator('#messages li:has-text("Wait, one more thing!")').count(), 0);
  });
});
