// The guide's "Frontend Usage" code, run as printed: guide/streamChatService.ts holds its two TypeScript
// blocks byte for byte; esbuild strips the type annotations (nothing else changes), and the code runs with
// the two names it expects to find around it: the app's getChatClient() and fetch. The guide's relative
// '/api/...' URLs and its missing Authorization header are the app's business, so the fetch given to it
// adds the service's base URL and the caller's bearer JWT — the snippet text itself is untouched.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { transform } from 'esbuild';
import { repositoryRoot } from './stack.js';

export const snippetsFile = path.join(import.meta.dirname, '..', 'guide', 'streamChatService.ts');
export const guideFile = path.resolve(repositoryRoot, '..', 'shared', 'reference', 'backend-chat-guide.md');

/** The guide's "Frontend Usage" TypeScript blocks, in order, as the committed copy holds them (joined by a blank line). */
export function guideFrontendBlocks() {
  if (!existsSync(guideFile)) {
    return undefined;
  }
  const guide = readFileSync(guideFile, 'utf8');
  return [...guide.matchAll(/\*\*Frontend Usage\*\*:\n```typescript\n([\s\S]*?)```\n/g)].map((match) => match[1]);
}

/**
 * One app's copy of the guide's streamChatService: `{ connectStreamUser, getAppointmentChannel }` bound to
 * this app's Stream client and caller. `calls` records what the guide's code got back from the service
 * (status and parsed body), and `logged` what it wrote with console.error.
 */
export async function guideStreamChatService({ getChatClient, caller }) {
  const { code } = await transform(readFileSync(snippetsFile, 'utf8'), { loader: 'ts', format: 'cjs', target: 'node20' });
  const calls = [];
  const logged = [];

  const appFetch = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('Authorization', `Bearer ${caller.bearer}`);
    const response = await fetch(url.startsWith('/') ? caller.baseUrl + url : url, { ...init, headers });
    const text = await response.clone().text();
    calls.push({ method: init.method ?? 'GET', url, status: response.status, body: text ? JSON.parse(text) : null });
    return response;
  };
  const appConsole = { ...console, error: (...args) => logged.push(args) };

  const module = { exports: {} };
  new Function('module', 'exports', 'getChatClient', 'fetch', 'console', code)(module, module.exports, getChatClient, appFetch, appConsole);
  return { ...module.exports, calls, logged };
}
