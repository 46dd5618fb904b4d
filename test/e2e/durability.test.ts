// End to end: what a node acknowledged, it keeps. A clean SIGTERM and a restart on the same data
// dir keep keys (and their private material: the same deterministic signatures), tokens,
// revocations, the audit chain, the node id and the admin token file untouched. A `kill -9` in the
// middle of a burst of concurrent key creations, state changes and token creations loses nothing
// whose success was received (key, state change, token, audit entry read back), leaves no
// half-written key, and the audit chain verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { removeDir, runCli, startNode, type TestNode } from '../helpers/node.js';

interface Key {
  id: string;
  name: string;
  algorithm: 'secp256k1' | 'p256' | 'ed25519';
  publicKey: string;
  state: string;
}
interface Entry {
  seq: number;
  action: string;
  keyId?: string;
  outcome: string;
  details?: Record<string, unknown>;
  hash: string;
  prevHash: string;
}

const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));
const DIGEST = new Uint8Array(createHash('sha256').update('durability').digest());
const MESSAGE = new TextEncoder().encode('durability');

async function allEntries(node: TestNode): Promise<Entry[]> {
  const out: Entry[] = [];
  for (;;) {
    const r = await node.api<{ entries: Entry[] }>(
      'GET',
      `/v1/audit?after=${out.at(-1)?.seq ?? 0}&limit=1000`,
    );
    assert.equal(r.status, 200);
    if (r.body.entries.length === 0) return out;
    out.push(...r.body.entries);
  }
}

async function allKeys(node: TestNode): Promise<Key[]> {
  const r = await node.api<{ keys: Key[] }>('GET', '/v1/keys?limit=1000');
  assert.equal(r.status, 200);
  return r.body.keys;
}

/** Sign with the key and check the signature against its public key with noble. */
async function signsCorrectly(node: TestNode, k: Key): Promise<string> {
  const body = k.algorithm === 'ed25519' ? { message: hex(MESSAGE) } : { digest: hex(DIGEST) };
  const r = await node.api<{ signature: string }>('POST', `/v1/keys/${k.id}/sign`, body);
  assert.equal(r.status, 200, `${k.name}: ${JSON.stringify(r.body)}`);
  const sig = bytes(r.body.signature);
  const pub = bytes(k.publicKey);
  const valid =
    k.algorithm === 'ed25519'
      ? ed25519.verify(sig, MESSAGE, pub)
      : (k.algorithm === 'p256' ? p256 : secp256k1).verify(sig, DIGEST, pub, { prehash: false });
  assert.ok(valid, `${k.name}: the signature verifies against the stored public key`);
  return r.body.signature;
}

async function auditVerifies(dataDir: string): Promise<void> {
  const r = await runCli(['audit', 'verify', '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^audit log intact: \d+ entries\n$/);
}

test('SIGTERM and restart: keys, tokens, audit, node id and admin.token survive unchanged', async () => {
  const node = await startNode();
  const dir = node.dataDir;
  try {
    assert.match(node.stdout(), /admin token written to /);
    const priv = new Uint8Array(32).fill(0x77);
    const imported = (
      await node.api<Key>('POST', '/v1/keys/import', {
        name: 'imported',
        algorithm: 'secp256k1',
        privateKey: hex(priv),
      })
    ).body;
    const made: Key[] = [imported];
    for (const algorithm of ['secp256k1', 'p256', 'ed25519'] as const)
      made.push((await node.api<Key>('POST', '/v1/keys', { name: `made-${algorithm}`, algorithm })).body);
    const signatures = new Map<string, string>();
    for (const k of made) signatures.set(k.id, await signsCorrectly(node, k));
    const deactivated = (
      await node.api<Key>('POST', '/v1/keys', { name: 'to-deactivate', algorithm: 'p256' })
    ).body;
    assert.equal(
      (await node.api('POST', `/v1/keys/${deactivated.id}/state`, { state: 'deactivated' })).status,
      200,
    );
    const destroyed = (await node.api<Key>('POST', '/v1/keys', { name: 'to-destroy', algorithm: 'ed25519' }))
      .body;
    assert.equal((await node.api('DELETE', `/v1/keys/${destroyed.id}`)).status, 200);

    const scoped = (
      await node.api<{ id: string; token: string }>('POST', '/v1/tokens', {
        name: 'signer',
        scopes: ['keys:sign'],
        keyIds: [imported.id],
      })
    ).body;
    const revoked = (
      await node.api<{ id: string; token: string }>('POST', '/v1/tokens', {
        name: 'gone',
        scopes: ['keys:read'],
      })
    ).body;
    assert.equal((await node.api('DELETE', `/v1/tokens/${revoked.id}`)).status, 204);

    const keysBefore = await allKeys(node);
    const tokensBefore = (await node.api<{ tokens: unknown[] }>('GET', '/v1/tokens')).body.tokens;
    const auditBefore = await allEntries(node);
    const tokenFile = join(dir, 'admin.token');
    const adminBefore = { text: readFileSync(tokenFile, 'utf8'), stat: statSync(tokenFile) };
    const nodeJsonBefore = readFileSync(join(dir, 'node.json'), 'utf8');

    assert.equal(await node.stop('SIGTERM'), 0);
    await auditVerifies(dir);

    const again = await startNode({ dataDir: dir });
    try {
      assert.equal(again.nodeId, node.nodeId, 'the same node id');
      assert.equal(
        (await again.api<{ nodeId: string }>('GET', '/v1/health', undefined, null)).body.nodeId,
        node.nodeId,
      );
      assert.ok(!again.stdout().includes('admin token written'), 'no new admin token on restart');
      const statAfter = statSync(tokenFile);
      assert.equal(readFileSync(tokenFile, 'utf8'), adminBefore.text, 'admin.token not rewritten');
      assert.equal(statAfter.mtimeMs, adminBefore.stat.mtimeMs);
      assert.equal(statAfter.ino, adminBefore.stat.ino);
      assert.equal(readFileSync(join(dir, 'node.json'), 'utf8'), nodeJsonBefore);
      assert.equal(again.adminToken, node.adminToken);

      assert.deepEqual(await allKeys(again), keysBefore);
      for (const k of made)
        assert.equal(
          await signsCorrectly(again, k),
          signatures.get(k.id),
          `${k.name}: the same deterministic signature`,
        );
      assert.equal(
        (await again.api('POST', `/v1/keys/${deactivated.id}/sign`, { digest: hex(DIGEST) })).status,
        409,
      );
      assert.equal((await again.api<Key>('GET', `/v1/keys/${destroyed.id}`)).body.state, 'destroyed');
      assert.equal(
        (await again.api('POST', `/v1/keys/${destroyed.id}/sign`, { message: hex(MESSAGE) })).status,
        409,
      );
      assert.equal(
        (await again.api('POST', '/v1/keys', { name: 'imported', algorithm: 'p256' })).status,
        409,
        'names stay taken',
      );

      assert.deepEqual(
        (await again.api<{ tokens: unknown[] }>('GET', '/v1/tokens')).body.tokens,
        tokensBefore,
      );
      assert.equal(
        (await again.api('POST', `/v1/keys/${imported.id}/sign`, { digest: hex(DIGEST) }, scoped.token))
          .status,
        200,
      );
      assert.equal(
        (await again.api('POST', `/v1/keys/${made[1]!.id}/sign`, { digest: hex(DIGEST) }, scoped.token))
          .status,
        403,
      );
      assert.equal(
        (await again.api('GET', '/v1/keys', undefined, revoked.token)).status,
        401,
        'a revocation survives',
      );

      const auditAfter = await allEntries(again);
      assert.deepEqual(auditAfter.slice(0, auditBefore.length), auditBefore, 'every entry kept, unchanged');
      const next = auditAfter[auditBefore.length];
      assert.ok(next, 'the restarted node keeps auditing');
      assert.equal(next.seq, auditBefore.length + 1);
      assert.equal(next.prevHash, auditBefore.at(-1)!.hash, 'the chain continues where it stopped');
      assert.equal(await again.stop('SIGTERM'), 0);
      await auditVerifies(dir);
    } finally {
      await again.kill9();
    }
  } finally {
    await node.kill9();
    removeDir(dir);
  }
});

test('kill -9 during a burst of concurrent creations and state changes: everything acknowledged is there', async () => {
  const node = await startNode();
  const dir = node.dataDir;
  const TOTAL = 200;
  const CONCURRENCY = 16;
  const KILL_AFTER = 50;
  const algorithms = ['secp256k1', 'ed25519', 'p256'] as const;
  try {
    const ackedKeys: Key[] = [];
    const ackedTokens: { id: string; token: string }[] = [];
    /** Acknowledged state changes: key id → the state its 200 reported. */
    const ackedStates = new Map<string, string>();
    /** Keys a state change was sent for (acknowledged or not): their final state is either. */
    const targeted = new Set<string>();
    const available: Key[] = []; // acknowledged keys no state change has been sent for yet
    const attemptedNames: string[] = [];
    let failed = 0;
    let killed = false;
    let next = 0;
    const kill = () => {
      if (!killed) {
        killed = true;
        node.proc.kill('SIGKILL');
      }
    };
    const acked = () => ackedKeys.length + ackedTokens.length + ackedStates.size;

    // Audit entries read back while the burst runs: acknowledged, so they must survive too.
    const readBack = new Map<number, Entry>();
    const reader = (async () => {
      let after = 0;
      while (!killed) {
        try {
          const r = await node.api<{ entries: Entry[] }>('GET', `/v1/audit?after=${after}&limit=1000`);
          if (r.status !== 200) continue;
          for (const e of r.body.entries) readBack.set(e.seq, e);
          after = r.body.entries.at(-1)?.seq ?? after;
        } catch {
          // the node died under us
        }
      }
    })();

    // Of every ten operations: one token, one deactivation, one destruction, seven creations.
    const operation = async (i: number): Promise<boolean> => {
      if (i % 10 === 9) {
        const r = await node.api<{ id: string; token: string }>('POST', '/v1/tokens', {
          name: `burst-${i}`,
          scopes: ['keys:read'],
        });
        if (r.status === 201) ackedTokens.push(r.body);
        return r.status === 201;
      }
      const target = i % 10 === 4 || i % 10 === 7 ? available.shift() : undefined;
      if (target) {
        targeted.add(target.id);
        const r =
          i % 10 === 4
            ? await node.api<Key>('POST', `/v1/keys/${target.id}/state`, { state: 'deactivated' })
            : await node.api<Key>('DELETE', `/v1/keys/${target.id}`);
        if (r.status === 200) ackedStates.set(target.id, r.body.state);
        return r.status === 200;
      }
      const name = `burst-${i}`;
      attemptedNames.push(name);
      const r = await node.api<Key>('POST', '/v1/keys', { name, algorithm: algorithms[i % 3]! });
      if (r.status === 201) {
        ackedKeys.push(r.body);
        available.push(r.body);
      }
      return r.status === 201;
    };
    const worker = async () => {
      while (!killed && next < TOTAL) {
        try {
          if (!(await operation(next++))) failed++;
        } catch {
          failed++; // connection reset by the kill: not acknowledged
        }
        if (acked() >= KILL_AFTER) kill();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await reader;
    await node.kill9();

    assert.ok(acked() >= KILL_AFTER);
    assert.ok(ackedTokens.length > 0 && ackedKeys.length > 0);
    assert.ok(
      [...ackedStates.values()].includes('deactivated') && [...ackedStates.values()].includes('destroyed'),
    );
    assert.ok(next < TOTAL, 'the node was killed in the middle of the burst');
    assert.equal(acked() + failed, next, 'every request started was answered or cut off');
    assert.ok(readBack.size > 0, 'audit entries were read back before the kill');

    // Straight after the crash, before any restart, the chain is whole and reaches its anchor
    // (verify checks both): the anchor is written only after the entries it names are durable,
    // so a crash never leaves it ahead of the log, and the restart below accepts it.
    const anchor = JSON.parse(readFileSync(join(dir, 'audit.head'), 'utf8')) as { seq: number };
    assert.ok(anchor.seq > 0, 'the anchor moved during the burst');
    await auditVerifies(dir);

    const again = await startNode({ dataDir: dir });
    try {
      assert.equal(again.nodeId, node.nodeId);
      const keys = await allKeys(again);
      const byId = new Map(keys.map((k) => [k.id, k]));
      for (const k of ackedKeys) {
        const got = byId.get(k.id);
        assert.ok(got, `acknowledged key ${k.name} survived`);
        assert.equal(got.publicKey, k.publicKey);
        assert.equal(got.name, k.name);
        assert.equal(got.algorithm, k.algorithm);
        const expected = ackedStates.get(k.id);
        if (expected) assert.equal(got.state, expected, `${k.name}: its acknowledged state change survived`);
        else if (!targeted.has(k.id)) assert.equal(got.state, 'active', k.name);
      }
      // Every key that exists (acknowledged or caught mid-flight) is whole: an active one signs,
      // a deactivated or destroyed one refuses.
      await Promise.all(
        keys.map(async (k) => {
          if (k.state === 'active') return signsCorrectly(again, k);
          const body = k.algorithm === 'ed25519' ? { message: hex(MESSAGE) } : { digest: hex(DIGEST) };
          assert.equal(
            (await again.api('POST', `/v1/keys/${k.id}/sign`, body)).status,
            409,
            `${k.name} (${k.state})`,
          );
        }),
      );
      // The name index agrees with the keys: an attempted name is taken exactly when its key exists.
      for (const name of attemptedNames) {
        const exists = keys.some((k) => k.name === name);
        const byName = await again.api<{ keys: Key[] }>('GET', `/v1/keys?name=${name}`);
        assert.equal(byName.body.keys.length, exists ? 1 : 0, name);
        const retry = await again.api('POST', '/v1/keys', { name, algorithm: 'ed25519' });
        assert.equal(retry.status, exists ? 409 : 201, `${name}: creating it again`);
      }
      for (const t of ackedTokens)
        assert.equal(
          (await again.api('GET', '/v1/keys?limit=1', undefined, t.token)).status,
          200,
          `token ${t.id} survived`,
        );

      const entries = await allEntries(again);
      for (const [seq, e] of readBack)
        assert.deepEqual(entries[seq - 1], e, `audit entry ${seq} read before the crash is unchanged`);
      const audited = (action: string, keyId: string) =>
        entries.some((e) => e.action === action && e.keyId === keyId && e.outcome === 'allowed');
      for (const k of ackedKeys) assert.ok(audited('key.create', k.id), `audit of ${k.name}`);
      for (const [id, state] of ackedStates)
        assert.ok(
          audited(state === 'destroyed' ? 'key.destroy' : 'key.state', id),
          `audit of ${id} becoming ${state}`,
        );
      for (const t of ackedTokens)
        assert.ok(
          entries.some((e) => e.action === 'token.create' && e.details?.tokenId === t.id),
          `audit of token ${t.id}`,
        );
      entries.forEach((e, i) => {
        assert.equal(e.seq, i + 1);
        assert.equal(e.prevHash, i === 0 ? '0'.repeat(64) : entries[i - 1]!.hash);
      });
      assert.equal(await again.stop('SIGTERM'), 0);
      await auditVerifies(dir);
    } finally {
      await again.kill9();
    }
  } finally {
    await node.kill9();
    removeDir(dir);
  }
});
