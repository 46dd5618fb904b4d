// Build (tsc, then the native addon: build-native.mjs) only when something tsc reads has changed since the last build through this script,
// so `npm start` is ready in about two seconds instead of recompiling every time.
//
//   node scripts/build-if-stale.mjs            build if stale, else nothing (silently)
//   node scripts/build-if-stale.mjs --force    always build (`npm run build`, hence `npm test`)
//   node scripts/build-if-stale.mjs --check    exit 1 and say why if stale, 0 if not; build nothing
//   --root DIR                                 the project (default: this script's repository)
//
// Stale means: no stamp (dist/.build-stamp) or no dist/src/cli/main.js; or a file tsc reads
// (src/, test/, bench/ *.ts, tsconfig.json, package-lock.json) is newer than the newest of them
// when the last build started; or the set of those files differs from the one the stamp recorded
// (a file added, removed or renamed). The stamp records mtimes, not the clock, so files dated in
// the future (an unpacked archive, a skewed clock) do not make every start rebuild. It is written
// only after tsc succeeded.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative } from './build-native.mjs';

const SOURCE_DIRS = ['src', 'test', 'bench'];
const SOURCE_FILES = ['tsconfig.json', 'package-lock.json'];
const STAMP = join('dist', '.build-stamp');
const ENTRY = join('dist', 'src', 'cli', 'main.js');

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function inputs(root) {
  const files = [];
  for (const d of SOURCE_DIRS) walk(join(root, d), files);
  for (const f of SOURCE_FILES) if (existsSync(join(root, f))) files.push(join(root, f));
  return files.map((f) => relative(root, f)).sort();
}

/** Why a build is needed, or undefined when dist is up to date. */
export function staleReason(root) {
  const stampFile = join(root, STAMP);
  if (!existsSync(stampFile)) return 'no build stamp';
  if (!existsSync(join(root, ENTRY))) return `no ${ENTRY}`;
  let recorded;
  try {
    recorded = JSON.parse(readFileSync(stampFile, 'utf8'));
  } catch {
    return 'unreadable build stamp';
  }
  if (typeof recorded?.newest !== 'number') return 'unreadable build stamp';
  const now = inputs(root);
  if (JSON.stringify(recorded.files) !== JSON.stringify(now)) return 'source files added or removed';
  for (const f of now) if (statSync(join(root, f)).mtimeMs > recorded.newest) return `${f} changed`;
  return undefined;
}

export function build(root) {
  // Taken before tsc runs: a file edited during the build is newer than this, so still stale.
  const files = inputs(root);
  const newest = Math.max(0, ...files.map((f) => statSync(join(root, f)).mtimeMs));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) return r.status ?? 1;
  mkdirSync(dirname(join(root, STAMP)), { recursive: true });
  writeFileSync(join(root, STAMP), JSON.stringify({ newest, files }) + '\n');
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--root');
  const root =
    at >= 0 ? resolve(args[at + 1] ?? '.') : resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const reason = args.includes('--force') ? 'forced' : staleReason(root);
  if (args.includes('--check')) {
    if (reason) process.stderr.write(`stale: ${reason}\n`);
    process.exit(reason ? 1 : 0);
  }
  // Silent when up to date: `npm run keymesh` goes through here before every command. The native
  // addon is checked either way (it has its own staleness: its source, not tsc's inputs).
  const status = reason
    ? (reason !== 'forced' && process.stderr.write(`building: ${reason}\n`), build(root))
    : 0;
  if (status === 0) buildNative(root);
  process.exit(status);
}
