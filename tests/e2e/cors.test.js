// CORS as a browser enforces it: a page on the web app's own origin calls the service on another origin with
// fetch and a bearer token. The configured origin (Cors__AllowedOrigins__0) gets the answers and may read
// Retry-After; a page on any other origin is refused by the browser itself.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { startStack } from './support/stack.js';
import { startStaticSite } from './support/static-site.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const missing = existsSync(chromiumPath) ? null : `Chromium is not installed at ${chromiumPath} (Debian package "chromium"; .ci/run installs it)`;
const skip = missing && process.env.CI !== 'true' ? missing : false;

describe('CORS: the web app on its own origin calls the service from the browser', () => {
  let site, stack, browser, page;

  // Runs in the page: a fetch to the service, as the web app makes it; what the page can see of the answer.
  const callFromPage = (origin, { method = 'GET', path, bearer, body }) => page.evaluate(async ({ method, url, bearer, body }) => {
    try {
      const response = await fetch(url, {
        method,
        headers: { Authorization: `Bearer ${bearer}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: response.status, retryAfter: response.headers.get('Retry-After'), body: await response.json() };
    } catch (error) {
      return { blocked: `${error.name}: ${error.message}` };
    }
  }, { method, url: stack.baseUrl + path, bearer, body });

  before(async () => {
    if (skip) {
      return;
    }
    if (missing) {
      throw new Error(`CI=true requires Chromium: ${missing}`);
    }
    site = await startStaticSite({ '/': ['text/html', '<!doctype html><title>PMS</title><p>The web app</p>'] });
    stack = await startStack({
      name: 'cors',
      settings: { Cors__AllowedOrigins__0: site.origin, RateLimiting__Token__PermitLimit: '2' },
    });
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] });
    page = await (await browser.newContext()).newPage();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    await site?.close();
  });

  it('lets the configured origin call the API with a bearer token and a JSON body (preflighted)', { skip }, async () => {
    await page.goto(site.origin);
    const vet = stack.as('vet-cors', ['vet'], 'clinic-cors');

    const config = await callFromPage(site.origin, { path: '/api/chat/config', bearer: vet.bearer });
    const token = await callFromPage(site.origin, { method: 'POST', path: '/api/chat/token', bearer: vet.bearer, body: {} });

    assert.equal(config.status, 200, JSON.stringify(config));
    assert.ok(config.body.apiKey);
    assert.equal(token.status, 200, JSON.stringify(token));
    assert.equal(typeof token.body.token, 'string');
  });

  it('lets the configured origin read an error and its Retry-After', { skip }, async () => {
    await page.goto(site.origin);
    const owner = stack.as('owner-cors', ['pet-owner']);

    const answers = [];
    for (let i = 0; i < 3; i++) {
      answers.push(await callFromPage(site.origin, { method: 'POST', path: '/api/chat/token', bearer: owner.bearer, body: {} }));
    }

    const limited = answers.at(-1);
    assert.equal(limited.status, 429, JSON.stringify(answers));
    assert.match(limited.retryAfter, /^\d+$/);
    assert.equal(limited.body.status, 429);
  });

  it('is blocked by the browser on any other origin', { skip }, async () => {
    await page.goto(site.otherOrigin);
    const vet = stack.as('vet-cors-2', ['vet'], 'clinic-cors');

    const simple = await callFromPage(site.otherOrigin, { path: '/api/chat/config', bearer: vet.bearer });
    const preflighted = await callFromPage(site.otherOrigin, { method: 'POST', path: '/api/chat/token', bearer: vet.bearer, body: {} });

    assert.match(simple.blocked ?? '', /TypeError: Failed to fetch/, JSON.stringify(simple));
    assert.match(preflighted.blocked ?? '', /TypeError: Failed to fetch/, JSON.stringify(preflighted));
  });
});
