// The product on loopback: the service (built by `dotnet build`), hosting the Stream emulator under /stream,
// with push notifications going to a fake FCM. Each test file starts its own, on free ports, and stops it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFakeFcm } from './fake-fcm.js';
import { bearerToken } from './jwt.js';

export const repositoryRoot = path.resolve(import.meta.dirname, '../../..');
export const artifactsFolder = path.join(repositoryRoot, 'TestResults', 'artifacts');
const serviceProject = path.join(repositoryRoot, 'src', 'AppointmentChat.Api');

/**
 * Starts fake FCM and the service in Development (so /demo is served), with its own SQLite database and
 * JWT_SECRET, and no STREAM_API_KEY: the service is its own Stream. `settings` are extra environment variables.
 */
export async function startStack({ name, settings = {} }) {
  const serviceDll = process.env.E2E_SERVICE_DLL ?? path.join(serviceProject, 'bin', 'Debug', 'net10.0', 'AppointmentChat.Api.dll');
  if (!existsSync(serviceDll)) {
    throw new Error(`The service is not built (${serviceDll}): run "dotnet build src/AppointmentChat.Api", or tests/run.`);
  }

  const fcm = await startFakeFcm();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const jwtSecret = randomBytes(48).toString('base64url');
  const dataFolder = mkdtempSync(path.join(tmpdir(), `appointment-chat-e2e-${name}-`));
  const environment = { ...process.env };
  for (const inherited of ['STREAM_API_KEY', 'STREAM_API_SECRET', 'STREAM_CHAT_URL', 'DATABASE_URL', 'REDIS_URL', 'Auth__Authority', 'ASPNETCORE_URLS']) {
    delete environment[inherited];
  }
  Object.assign(environment, {
    ASPNETCORE_ENVIRONMENT: 'Development',
    ASPNETCORE_URLS: baseUrl,
    JWT_SECRET: jwtSecret,
    Storage__DataFolder: dataFolder,
    Push__Fcm__ProjectId: fcm.projectId,
    Push__Fcm__ServiceAccountFile: fcm.serviceAccountFile,
    Push__Fcm__BaseUrl: fcm.baseUrl,
    Push__FirstRetryDelay: '00:00:00.200',
    ...settings,
  });

  mkdirSync(artifactsFolder, { recursive: true });
  const log = createWriteStream(path.join(artifactsFolder, `e2e-service-${name}.log`));
  // The service's content root is its project folder, where the demo page lives.
  const service = spawn('dotnet', [serviceDll], { cwd: serviceProject, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
  service.stdout.pipe(log);
  service.stderr.pipe(log);
  const exited = new Promise((resolve) => service.once('exit', resolve));
  const killOnExit = () => service.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (service.exitCode === null) {
      service.kill('SIGTERM');
      if (await Promise.race([exited.then(() => true), sleep(15_000, false, { ref: false })]) === false) {
        service.kill('SIGKILL');
        await exited;
      }
    }
    await fcm.close();
    rmSync(dataFolder, { recursive: true, force: true });
  };

  try {
    await waitFor(async () => {
      if (service.exitCode !== null) {
        throw new Error(`The service exited with code ${service.exitCode} at start; see TestResults/artifacts/e2e-service-${name}.log`);
      }
      try {
        return (await fetch(`${baseUrl}/health/ready`)).ok;
      } catch {
        return false; // not listening yet
      }
    }, { timeout: 60_000, what: 'the service to be ready (/health/ready: migrated and started)' });
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    baseUrl,
    fcm,
    /** A caller of the service's API with a bearer JWT for this user. */
    as: (userId, roles = [], organisationId = undefined) => new Caller(baseUrl, bearerToken(jwtSecret, { userId, roles, organisationId })),
    stop,
  };
}

export class Caller {
  constructor(baseUrl, bearer) {
    this.baseUrl = baseUrl;
    this.bearer = bearer;
  }

  /** Calls the service; returns the status and the parsed JSON body. */
  async call(method, path, body = undefined) {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: {
        Authorization: `Bearer ${this.bearer}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  /** Calls the service and insists on one status. */
  async expect(status, method, path, body = undefined) {
    const result = await this.call(method, path, body);
    if (result.status !== status) {
      throw new Error(`${method} ${path} answered ${result.status}, expected ${status}: ${JSON.stringify(result.body)}`);
    }
    return result.body;
  }
}

/** Polls `condition` (sync or async) until it is true. */
export async function waitFor(condition, { timeout = 15_000, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    }
    await sleep(50);
  }
}

/**
 * The next event of `type` on an SDK client or channel that satisfies `accept`. Subscribe before the
 * action that causes it; a promise nobody awaits yet does not count as an unhandled rejection.
 */
export function nextEvent(target, type, accept = () => true, timeout = 15_000) {
  const promise = new Promise((resolve, reject) => {
    const subscription = target.on(type, (event) => {
      if (accept(event)) {
        clearTimeout(timer);
        subscription.unsubscribe();
        resolve(event);
      }
    });
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`No ${type} event within ${timeout} ms`));
    }, timeout);
  });
  promise.catch(() => {});
  return promise;
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}
