// The package build: types from the committed OpenAPI snapshot (openapi-typescript), a type check and declarations
// (tsc), then ESM and CommonJS bundles (esbuild) with stream-chat left to the app.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: 'inherit' });

rmSync(path.join(root, 'dist'), { recursive: true, force: true });
run(bin('openapi-typescript'), ['openapi.json', '--output', 'src/generated/openapi.ts', '--silent']);
run(bin('tsc'), ['-p', 'tsconfig.json']);

const common = { entryPoints: [path.join(root, 'src', 'index.ts')], bundle: true, external: ['stream-chat'], platform: 'neutral', target: 'es2020', sourcemap: true, logLevel: 'warning' };
await build({ ...common, format: 'esm', outfile: path.join(root, 'dist', 'index.js') });
await build({ ...common, format: 'cjs', outfile: path.join(root, 'dist', 'cjs', 'index.js') });

// CommonJS consumers get the same declarations under a package.json that says what dist/cjs is.
const cjs = path.join(root, 'dist', 'cjs');
mkdirSync(cjs, { recursive: true });
writeFileSync(path.join(cjs, 'package.json'), '{ "type": "commonjs" }\n');
for (const entry of readdirSync(path.join(root, 'dist'), { recursive: true })) {
  if (String(entry).endsWith('.d.ts') && !String(entry).startsWith('cjs')) {
    cpSync(path.join(root, 'dist', entry), path.join(cjs, entry));
  }
}
