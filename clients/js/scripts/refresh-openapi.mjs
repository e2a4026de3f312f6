// Refreshes openapi.json, the snapshot of the service's /openapi/v1.json the package's types are generated from:
// builds the service, starts it on its defaults (Development, its own Stream emulator, a throwaway data folder) on a
// free loopback port, saves the document without its `servers` (the address it happened to run on), and stops it.
// Run: npm run openapi --prefix clients/js
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const root = path.resolve(import.meta.dirname, '..');
const project = path.resolve(root, '..', '..', 'src', 'AppointmentChat.Api');
const snapshot = path.join(root, 'openapi.json');

execFileSync('dotnet', ['build', project, '--nologo', '-v', 'q'], { stdio: 'inherit' });

const port = await new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});
const dataFolder = mkdtempSync(path.join(tmpdir(), 'appointment-chat-openapi-'));
const environment = { ...process.env, ASPNETCORE_ENVIRONMENT: 'Development', ASPNETCORE_URLS: `http://127.0.0.1:${port}`, Storage__DataFolder: dataFolder, Docs__Enabled: 'true' };
for (const inherited of ['STREAM_API_KEY', 'STREAM_API_SECRET', 'STREAM_CHAT_URL', 'DATABASE_URL', 'REDIS_URL', 'Auth__Authority']) {
  delete environment[inherited];
}
const service = spawn('dotnet', [path.join(project, 'bin', 'Debug', 'net10.0', 'AppointmentChat.Api.dll')], { cwd: project, env: environment, stdio: ['ignore', 'ignore', 'inherit'] });

try {
  let document;
  for (const deadline = Date.now() + 60_000; document === undefined; await sleep(200)) {
    if (service.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the service did not serve /openapi/v1.json (exit code ${service.exitCode})`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/openapi/v1.json`);
      if (response.ok) {
        document = await response.json();
      }
    } catch {
      // not listening yet
    }
  }

  delete document.servers;
  writeFileSync(snapshot, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`Wrote ${path.relative(process.cwd(), snapshot)}; npm run build --prefix clients/js regenerates the package's types from it.`);
} finally {
  service.kill('SIGTERM');
  await new Promise((resolve) => (service.exitCode !== null ? resolve() : service.once('exit', resolve)));
  rmSync(dataFolder, { recursive: true, force: true });
}
