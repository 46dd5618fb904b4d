// End to end: README.md as a newcomer follows it. Its shell tour runs, block after block, with
// bash against a fresh real node, and so do its ethers and viem snippets; what each block prints
// must agree with the sample shown under it (the same error codes and exit codes), and the
// snippets must sign exactly what the curl calls sign. The README links nothing outside the
// repository, and the files it shows are the repository's.
//
// Fence convention (the info string after the opening ```):
//   sh              run: every such block, in README order, in ONE bash process (set -euo
//                   pipefail, so variables carry from block to block and any failing command
//                   fails the test; expected failures are written `cmd || echo "exit $?"`). It
//                   runs in a fresh directory laid out like the checkout: node_modules, and
//                   .keymesh as the node's data dir; `keymesh` is on PATH (as after `npm link`)
//                   and KEYMESH_URL points at the node.
//   sh norun        shown, never run (npm install/start, npm link, apt-get, production commands).
//   sh cluster      the 3-node cluster walk-through: one bash of its own in an empty directory,
//                   run when etcd is installed (`etcd` on PATH), else skipped with the reason.
//   js file=NAME    a snippet, written to NAME in the tour directory before the tour runs; a sh
//                   block runs it with node (and the test checks that one does).
//   LANG repo=PATH  must equal the repository's file PATH (deploy/keymesh.service).
//   anything else   sample output: not run; the fence right after a run block is its sample.
// A ```sh fence with any other info string fails the test, so a typo cannot skip a block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CLI, REPO_ROOT, removeDir, startNode, tempDir } from '../helpers/node.js';

interface Fence {
  lang: string;
  attrs: Record<string, string>;
  words: string[];
  body: string;
  line: number;
}

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

function fences(md: string): Fence[] {
  const out: Fence[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [lang = '', ...rest] = open[1]!.trim().split(/\s+/).filter(Boolean);
    const attrs: Record<string, string> = {};
    const words: string[] = [];
    for (const w of rest) {
      const m = /^([a-z]+)=(.+)$/.exec(w);
      if (m) attrs[m[1]!] = m[2]!;
      else words.push(w);
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    assert.ok(i < lines.length, `README line ${start + 1}: unclosed fence`);
    out.push({ lang, attrs, words, body: body.join('\n') + '\n', line: start + 1 });
  }
  return out;
}

const ALL = fences(README);
const kind = (f: Fence): 'run' | 'norun' | 'cluster' | 'snippet' | 'other' => {
  if (f.lang === 'sh') {
    if (f.words.length === 0) return 'run';
    if (f.words.length === 1 && (f.words[0] === 'norun' || f.words[0] === 'cluster'))
      return f.words[0] as 'norun' | 'cluster';
    assert.fail(`README line ${f.line}: unknown sh fence info "${f.words.join(' ')}"`);
  }
  if (f.lang === 'js' || f.lang === 'ts') return 'snippet';
  return 'other';
};

/** The sample shown right after a run block, if any. */
function sampleAfter(i: number): Fence | undefined {
  const next = ALL[i + 1];
  return next && kind(next) === 'other' && !next.attrs.repo && next.lang !== 'ini' ? next : undefined;
}

/** What a script can rely on in a block's output: the error codes and exit codes, in order. */
function outcomes(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"code":"([A-Z_]+)"|^keymesh: (?:([A-Z_]+): |(--[a-z-]+) )|^exit (\d+)$/gm))
    out.push(m[1] ?? m[2] ?? m[3] ?? `exit ${m[4]}`);
  return out;
}

/** A directory laid out like the checkout, with `keymesh` on PATH as `npm link` would put it. */
function checkoutLike(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tempDir('keymesh-readme-');
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  const bin = join(dir, '.bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'keymesh'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'keymesh'), 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('KEYMESH_')) delete env[k];
  env.PATH = `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  return { dir, env };
}

/** Run blocks in one bash; markers split the combined stdout+stderr by block. */
function runBlocks(
  blocks: { fence: Fence; index: number }[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; output: string; byBlock: Map<number, string> }> {
  const script =
    'set -euo pipefail\nexec 2>&1\n' +
    blocks.map((b) => `printf '\\n@@block ${b.index}@@\\n'\n${b.fence.body}`).join('\n') +
    "printf '\\n@@end@@\\n'\n";
  const file = join(cwd, '.tour.sh');
  writeFileSync(file, script);
  return new Promise((res) => {
    // Its own process group, so whatever the blocks start in the background (etcd, nodes) is
    // killed with it if the run fails or times out.
    const p = spawn('bash', [file], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const killGroup = () => {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(killGroup, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      killGroup();
      const byBlock = new Map<number, string>();
      const parts = output.split(/\n@@block (\d+)@@\n/);
      for (let i = 1; i < parts.length; i += 2)
        byBlock.set(Number(parts[i]), parts[i + 1]!.replace(/\n@@end@@\n$/, ''));
      res({ code, output, byBlock });
    });
  });
}

function checkSamples(blocks: { fence: Fence; index: number }[], byBlock: Map<number, string>): void {
  for (const b of blocks) {
    const got = byBlock.get(b.index);
    assert.ok(got !== undefined, `README line ${b.fence.line}: the block did not run`);
    const sample = sampleAfter(b.index);
    if (!sample) continue;
    assert.deepEqual(
      outcomes(got),
      outcomes(sample.body),
      `README line ${b.fence.line}: errors and exit codes differ from the sample at line ${sample.line}\n${got}`,
    );
  }
}

test('the README names no file outside the repository, and the files it shows are the repository’s', () => {
  for (const m of README.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (/^[a-z]+:/.test(target) || target.startsWith('#')) continue;
    const path = resolve(REPO_ROOT, target.split('#')[0]!);
    assert.ok(path.startsWith(REPO_ROOT + '/'), `link outside the repository: ${target}`);
    assert.ok(existsSync(path), `link to a missing file: ${target}`);
  }
  assert.doesNotMatch(README, /\.\.\/shared/);
  // A body with any content type but JSON is refused (415): every curl body says it is JSON.
  for (const f of ALL.filter((x) => x.lang === 'sh'))
    for (const line of f.body.split('\n'))
      if (/\bcurl\b.* -d /.test(line)) assert.match(line, /-H "\$JSON"/, `README line ${f.line}: ${line}`);
  const shown = ALL.filter((f) => f.attrs.repo);
  assert.ok(shown.length >= 1, 'the systemd unit is shown');
  for (const f of shown)
    assert.equal(f.body, readFileSync(join(REPO_ROOT, f.attrs.repo!), 'utf8'), `${f.attrs.repo} drifted`);
  assert.ok(existsSync(join(REPO_ROOT, 'deploy/Dockerfile')));
  assert.match(readFileSync(join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8'), /^FROM node:/m);
});

test('the README tour, the CLI tour and the ethers and viem snippets run as written on a fresh node', async () => {
  const { dir, env } = checkoutLike();
  const node = await startNode({ dataDir: join(dir, '.keymesh') });
  try {
    env.KEYMESH_URL = node.url;
    const blocks = ALL.map((fence, index) => ({ fence, index })).filter((b) => kind(b.fence) === 'run');
    assert.ok(blocks.length >= 10, 'the tour has its blocks');
    for (const s of ALL.filter((f) => kind(f) === 'snippet')) {
      const name = s.attrs.file;
      assert.ok(name, `README line ${s.line}: a snippet needs file=NAME`);
      assert.ok(
        blocks.some((b) => b.fence.body.includes(`node ${name}`)),
        `README line ${s.line}: no tour block runs ${name}`,
      );
      writeFileSync(join(dir, name), s.body);
    }
    const r = await runBlocks(blocks, dir, env, 240_000);
    assert.equal(r.code, 0, `the tour failed (exit ${r.code}):\n${r.output.slice(-4000)}`);
    checkSamples(blocks, r.byBlock);

    // The snippets sign exactly what the curl calls signed (RFC 6979: deterministic).
    const outOf = (needle: string) => {
      const b = blocks.find((x) => x.fence.body.includes(needle));
      assert.ok(b, needle);
      return r.byBlock.get(b.index)!;
    };
    const curl = outOf('/ethereum/message').trim().split('\n');
    const tx = JSON.parse(curl[0]!) as { rawTransaction: string };
    const msg = JSON.parse(curl[1]!) as { signature: string };
    const lines = outOf('node ethers-sign.mjs').trim().split('\n');
    assert.deepEqual(lines, [msg.signature, tx.rawTransaction, msg.signature, tx.rawTransaction]);
  } finally {
    await node.stop();
    removeDir(dir);
  }
});

test('the README cluster walk-through runs as written (needs etcd)', async (t) => {
  const etcd = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  if (etcd.status !== 0) {
    t.skip('etcd is not installed (apt-get install -y etcd-server): the cluster walk-through is not run');
    return;
  }
  const blocks = ALL.map((fence, index) => ({ fence, index })).filter((b) => kind(b.fence) === 'cluster');
  assert.ok(blocks.length >= 5);
  const { dir, env } = checkoutLike();
  try {
    const r = await runBlocks(blocks, dir, env, 240_000);
    assert.equal(r.code, 0, `the cluster walk-through failed (exit ${r.code}):\n${r.output.slice(-4000)}`);
    checkSamples(blocks, r.byBlock);
    const sign = blocks.find((b) => b.fence.body.includes('x-keymesh-node'))!;
    assert.match(r.byBlock.get(sign.index)!, /^x-keymesh-node: n3\r?$/m, 'the us key was signed on n3');
  } finally {
    removeDir(dir);
  }
});

/** scripts/build-if-stale.mjs on a small project of its own: tsc runs only when a source changed. */
test('npm start builds only when sources changed (scripts/build-if-stale.mjs); npm test always builds', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  assert.match(
    pkg.scripts.start!,
    /^node scripts\/build-if-stale\.mjs && node dist\/src\/cli\/main\.js start --dev$/,
  );
  assert.equal(pkg.scripts.build, 'node scripts/build-if-stale.mjs --force');
  assert.match(pkg.scripts.test!, /^npm run --silent build && /);

  const root = tempDir('keymesh-stale-');
  mkdirSync(join(root, 'src/cli'), { recursive: true });
  writeFileSync(
    join(root, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        outDir: 'dist',
        rootDir: '.',
        types: [],
        strict: true,
      },
      include: ['src/**/*.ts'],
    }),
  );
  writeFileSync(join(root, 'package-lock.json'), '{}\n');
  const main = join(root, 'src/cli/main.ts');
  const out = join(root, 'dist/src/cli/main.js');
  writeFileSync(main, 'export const v: number = 1;\n');
  const script = join(REPO_ROOT, 'scripts/build-if-stale.mjs');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [script, '--root', root, ...args], { encoding: 'utf8' });
  const later = (file: string) => {
    const t = new Date(Date.now() + 5_000);
    utimesSync(file, t, t);
  };

  const check0 = run('--check');
  assert.equal(check0.status, 1);
  assert.match(check0.stderr, /stale: no build stamp/);
  assert.equal(run().status, 0);
  assert.match(readFileSync(out, 'utf8'), /v = 1/);
  assert.equal(run('--check').status, 0, 'fresh after a build');

  // Up to date: nothing is compiled (the output is not rewritten).
  const before = statSync(out).mtimeMs;
  const again = run();
  assert.equal(again.status, 0);
  assert.equal(again.stderr, '', 'silent when up to date');
  assert.equal(statSync(out).mtimeMs, before);

  // A changed source: stale, and the build brings the output up to date.
  writeFileSync(main, 'export const v: number = 2;\n');
  later(main);
  assert.match(run('--check').stderr, /stale: src\/cli\/main\.ts changed/);
  assert.equal(run().status, 0);
  assert.match(readFileSync(out, 'utf8'), /v = 2/);

  // A file added; tsconfig.json or package-lock.json changed: stale.
  writeFileSync(join(root, 'src/extra.ts'), 'export const w = 3;\n');
  assert.match(run('--check').stderr, /added or removed/);
  assert.equal(run().status, 0);
  later(join(root, 'package-lock.json'));
  assert.match(run('--check').stderr, /package-lock\.json changed/);
  assert.equal(run().status, 0);

  // A failed compile leaves it stale, so the next start tries again; --force always builds.
  writeFileSync(main, 'export const v: number = "not a number";\n');
  later(main);
  assert.notEqual(run().status, 0);
  assert.equal(run('--check').status, 1);
  writeFileSync(main, 'export const v: number = 4;\n');
  later(main);
  assert.equal(run('--force').status, 0);
  assert.equal(run('--check').status, 0);
  removeDir(root);
});
