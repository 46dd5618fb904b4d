// Routing as a step of the core's dispatcher (core.ts perform, core/pipeline/route.ts), against an
// in-process core on real parts (SQLite, software enclave, audit log): it runs only after the
// caller is authenticated and authorised, only for operations the table says need key material,
// a refusal it causes is audited on this node, a peer's answer is this call's answer (audited as a
// forward), and a call a peer sent on is declined rather than sent again. The "peer" is a second
// in-process core that the executor calls, so the answer is a real one.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { KeymeshError } from '../../src/errors.js';
import type { Credential } from '../../src/core/context.js';
import { OPERATIONS, needsKeyMaterial, type OperationName } from '../../src/core/operations/table.js';
import { type KeyRouter, type PeerCall, wasDeclined } from '../../src/core/pipeline/route.js';
import { PEER_OPERATIONS } from '../../src/core/operations/codec.js';
import { parseToken } from '../../src/core/tokens/record.js';
import { openTestCore, type TestCore } from '../helpers/core.js';

const DIGEST = '0x' + '11'.repeat(32);
const TARGET = { nodeId: 'n2', endpoint: 'https://127.0.0.1:1' };

let here: TestCore;
let peer: TestCore;
let admin: Credential;
let peerAdmin: Credential;
/** A credential's token id: what crosses the peer channel instead of the token. */
const tokenIdOf = (c: Credential) => parseToken((c.principal as { token: string }).token)!.id;

/** A router that sends every call to `peer` (or throws), recording what it was asked. */
function router(mode: 'peer' | 'local' | 'none') {
  const seen = { routed: 0, executed: [] as PeerCall[] };
  const r: KeyRouter = {
    selfId: 'n1',
    route: () => {
      seen.routed++;
      if (mode === 'none')
        return Promise.reject(
          new KeymeshError('NO_LIVE_REPLICA', 'No live node holds a replica of this key.'),
        );
      return Promise.resolve(mode === 'local' ? { local: true } : { local: false, targets: [TARGET] });
    },
    execute: async (_targets, call) => {
      seen.executed.push(call);
      try {
        // The peer's own admin token stands in for the caller's: the stores are separate.
        const cred: Credential = {
          principal: { kind: 'peer', nodeId: 'n1', tokenId: tokenIdOf(peerAdmin) },
          requestId: call.requestId,
        };
        const value = await peer.core.sign(cred, call.keyId, call.input as { digest: string });
        return { nodeId: 'n2', ok: true, value };
      } catch (e) {
        return { nodeId: 'n2', ok: false, error: e as KeymeshError };
      }
    },
  };
  return { r, seen };
}

const entries = (c: TestCore, requestId: string) =>
  c.audit.list(0, 1000).filter((e) => e.requestId === requestId);

before(async () => {
  here = await openTestCore();
  peer = await openTestCore();
  admin = await here.adminCredential();
  peerAdmin = await peer.adminCredential();
});
after(async () => {
  await here.close();
  await peer.close();
});

test('the table: every operation needing key material can run on a peer; verify only with a path', () => {
  const material = (Object.keys(OPERATIONS) as OperationName[]).filter(
    (op) => OPERATIONS[op].material !== 'never',
  );
  assert.deepEqual([...PEER_OPERATIONS].sort(), material.sort());
  assert.equal(needsKeyMaterial(OPERATIONS['key.verify'], { signature: '0x' }), false);
  assert.equal(needsKeyMaterial(OPERATIONS['key.verify'], { path: 'm/0' }), true);
  assert.equal(needsKeyMaterial(OPERATIONS['key.get'], { path: 'm/0' }), false);
  for (const op of material) assert.ok(OPERATIONS[op].errors.includes('NO_LIVE_REPLICA'), op);
});

test('no valid token or no scope: refused before routing, no peer call', async () => {
  const key = await here.core.createKey(admin, { name: 'k-auth', algorithm: 'secp256k1' });
  const { r, seen } = router('peer');
  here.core.useRouter(r);
  await assert.rejects(
    here.core.sign({ principal: { kind: 'anonymous' }, requestId: 'r-none' }, key.id, { digest: DIGEST }),
    {
      code: 'UNAUTHENTICATED',
    },
  );
  const reader = await here.core.createToken(admin, { name: 'reader', scopes: ['keys:read'] });
  await assert.rejects(
    here.core.sign({ principal: { kind: 'token', token: reader.token }, requestId: 'r-scope' }, key.id, {
      digest: DIGEST,
    }),
    {
      code: 'FORBIDDEN',
    },
  );
  assert.equal(seen.routed, 0);
  assert.equal(seen.executed.length, 0);
  assert.deepEqual(
    entries(here, 'r-scope').map((e) => [e.action, e.outcome]),
    [['key.sign', 'denied']],
  );
});

test('a peer runs the call: its answer is the answer, audited here as a forward', async () => {
  const pk = await peer.core.createKey(peerAdmin, { name: 'k-peer', algorithm: 'secp256k1' });
  const { r, seen } = router('peer');
  here.core.useRouter(r);
  const trace: { executedBy?: string } = {};
  const res = await here.core.sign({ ...admin, requestId: 'r-peer', trace }, pk.id, { digest: DIGEST });
  assert.match(res.signature, /^0x[0-9a-f]{128}$/);
  assert.equal(trace.executedBy, 'n2');
  assert.deepEqual(seen.executed, [
    {
      operation: 'key.sign',
      keyId: pk.id,
      input: { digest: DIGEST },
      tokenId: tokenIdOf(admin),
      requestId: 'r-peer',
    },
  ]);
  assert.deepEqual(
    entries(here, 'r-peer').map((e) => [e.action, e.outcome, e.details?.to]),
    [['key.forward', 'success', 'n2']],
  );
  assert.deepEqual(
    entries(peer, 'r-peer').map((e) => [e.action, e.outcome]),
    [['key.sign', 'allowed']],
  );
  // The peer's audit names the principal: the caller, and the node it came through.
  assert.match(entries(peer, 'r-peer')[0]!.actor, /^token:\S+ via node:n1$/);
  // A peer's refusal is this call's refusal, with its code; audited once here, as the forward.
  await peer.core.setKeyState(peerAdmin, pk.id, 'deactivated');
  await assert.rejects(here.core.sign({ ...admin, requestId: 'r-peer2' }, pk.id, { digest: DIGEST }), {
    code: 'INVALID_STATE',
  });
  assert.deepEqual(
    entries(here, 'r-peer2').map((e) => [e.action, e.outcome, e.details?.code]),
    [['key.forward', 'error', 'INVALID_STATE']],
  );
});

test('no live holder: the refusal is audited on this node under the caller', async () => {
  const key = await here.core.createKey(admin, { name: 'k-none', algorithm: 'secp256k1' });
  here.core.useRouter(router('none').r);
  await assert.rejects(here.core.sign({ ...admin, requestId: 'r-down' }, key.id, { digest: DIGEST }), {
    code: 'NO_LIVE_REPLICA',
  });
  const a = entries(here, 'r-down');
  assert.deepEqual(
    a.map((e) => [e.action, e.outcome, e.keyId, e.details?.code]),
    [['key.sign', 'error', key.id, 'NO_LIVE_REPLICA']],
  );
  assert.match(a[0]!.actor, /^token:/);
});

test('principals: each kind has its authenticator; a peer acts only for a live token', async () => {
  const key = await here.core.createKey(admin, { name: 'k-principals', algorithm: 'secp256k1' });
  here.core.useRouter(router('local').r);
  const refused: [Credential['principal'], string][] = [
    [{ kind: 'anonymous' }, 'UNAUTHENTICATED'],
    [{ kind: 'token', token: 'kmt_nonsense' }, 'UNAUTHENTICATED'],
    [{ kind: 'session', sessionId: 's' }, 'UNAUTHENTICATED'],
    [{ kind: 'client-cert', subject: 'CN=x', fingerprint: '00' }, 'UNAUTHENTICATED'],
    [{ kind: 'peer', nodeId: 'n2', tokenId: 'not-an-id' }, 'UNAUTHENTICATED'],
    [{ kind: 'peer', nodeId: 'n2', tokenId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' }, 'UNAUTHENTICATED'],
  ];
  for (const [principal, code] of refused)
    await assert.rejects(here.core.getKey({ principal, requestId: 'r-p' }, key.id), { code }, principal.kind);
  assert.equal((await here.core.getKey(admin, key.id)).id, key.id);
});

test('a call a peer sent on runs here or is declined, never sent on again', async () => {
  const key = await here.core.createKey(admin, { name: 'k-fwd', algorithm: 'secp256k1' });
  const { r, seen } = router('peer');
  here.core.useRouter(r);
  const err = await here.core
    .sign(
      { principal: { kind: 'peer', nodeId: 'n3', tokenId: tokenIdOf(admin) }, requestId: 'r-fwd' },
      key.id,
      { digest: DIGEST },
    )
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err instanceof KeymeshError && err.code === 'NO_LIVE_REPLICA');
  assert.ok(wasDeclined(err));
  assert.equal(seen.executed.length, 0);
  // Local: runs here, and says so.
  here.core.useRouter(router('local').r);
  const trace: { executedBy?: string } = {};
  await here.core.sign(
    { principal: { kind: 'peer', nodeId: 'n3', tokenId: tokenIdOf(admin) }, requestId: 'r-local', trace },
    key.id,
    {
      digest: DIGEST,
    },
  );
  assert.equal(trace.executedBy, 'n1');
  assert.match(entries(here, 'r-local')[0]!.actor, /^token:\S+ via node:n3$/);
  // verify without a path needs no material: never routed.
  const { r: r2, seen: seen2 } = router('none');
  here.core.useRouter(r2);
  const sig = await here.core
    .sign({ ...admin, requestId: 'r-l2' }, key.id, { digest: DIGEST })
    .catch(() => undefined);
  assert.equal(sig, undefined);
  const v = await here.core.verify({ ...admin, requestId: 'r-v' }, key.id, {
    digest: DIGEST,
    signature: '0x' + '00'.repeat(64),
  });
  assert.equal(v.valid, false);
  assert.equal(seen2.routed, 1, 'only the signature was routed');
});
