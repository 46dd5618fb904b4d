// The peer channel's wire format (src/cluster/peer-channel.ts) and the per-operation codec table
// (src/core/operations/codec.ts), without a network: every operation that needs key material has
// a codec; a call survives encode and decode unchanged and carries no secret; hostile bodies and
// answers are refused with typed errors (INVALID_REQUEST from a call, UNAVAILABLE for an answer
// the sender cannot use), never an exception of another kind; the tables cannot be changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeymeshError } from '../../src/errors.js';
import { OPERATIONS, type OperationName } from '../../src/core/operations/table.js';
import { codeInput, PEER_CODECS, PEER_OPERATIONS } from '../../src/core/operations/codec.js';
import {
  decodePeerAnswer,
  decodePeerCall,
  encodePeerCall,
  encodePeerValue,
} from '../../src/cluster/peer-channel.js';
import type { PeerCall } from '../../src/core/pipeline/route.js';

const KEY = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const TOKEN = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c';
const DIGEST = '0x' + '11'.repeat(32);
const SIG = '0x' + 'ab'.repeat(65);

const INPUTS: Record<(typeof PEER_OPERATIONS)[number], unknown> = {
  'key.sign': { digest: DIGEST, path: "m/44'/60'/0'/0/0" },
  'key.verify': { message: '0x68656c6c6f', signature: '0x' + 'cd'.repeat(64) },
  'key.derive': { path: 'm/0' },
  'ethereum.transaction': { transaction: { to: '0x' + '00'.repeat(20), value: '0x1', chainId: 1 } },
  'ethereum.message': { message: 'hello' },
  'ethereum.typed-data': { typedData: { types: {}, primaryType: 'X', domain: {}, message: {} } },
  'bitcoin.psbt': { psbt: 'cHNidP8BAA==', network: 'testnet' },
};

const res = (status: number, body: unknown, raw?: string) => ({
  nodeId: 'n3',
  status,
  contentType: 'application/json',
  body: Buffer.from(raw ?? JSON.stringify(body)),
});

function refused(fn: () => unknown, code: string, what: string): void {
  assert.throws(fn, (e: unknown) => e instanceof KeymeshError && e.code === code, what);
}

test('every operation needing key material has a codec, and the tables are frozen', () => {
  const material = (Object.keys(OPERATIONS) as OperationName[]).filter(
    (op) => OPERATIONS[op].material !== 'never',
  );
  assert.deepEqual([...PEER_OPERATIONS].sort(), material.sort());
  assert.ok(Object.isFrozen(PEER_CODECS) && Object.isFrozen(PEER_CODECS['key.sign'].input.digest));
  assert.ok(Object.isFrozen(PEER_OPERATIONS));
});

test('a call survives encode and decode unchanged, and carries the token id, not a secret', () => {
  for (const op of PEER_OPERATIONS) {
    const call: PeerCall = { operation: op, keyId: KEY, input: INPUTS[op], tokenId: TOKEN, requestId: 'r1' };
    const wire = encodePeerCall(call);
    assert.doesNotMatch(wire, /kmt_|secret|r1/);
    assert.deepEqual(decodePeerCall(JSON.parse(wire)), {
      operation: op,
      keyId: KEY,
      input: INPUTS[op],
      tokenId: TOKEN,
    });
  }
  // An input that does not fit its codec is refused on the sending node, before anything is sent.
  refused(
    () =>
      encodePeerCall({
        operation: 'key.sign',
        keyId: KEY,
        input: { digest: 5 },
        tokenId: TOKEN,
        requestId: 'r',
      }),
    'INVALID_REQUEST',
    'digest a number',
  );
  refused(() => codeInput('ethereum.typed-data', { typedData: { n: 1n } }), 'INVALID_REQUEST', 'a bigint');
});

test('hostile calls: typed INVALID_REQUEST for each', () => {
  const good = JSON.parse(
    encodePeerCall({
      operation: 'key.sign',
      keyId: KEY,
      input: { digest: DIGEST },
      tokenId: TOKEN,
      requestId: 'r',
    }),
  ) as Record<string, unknown>;
  const deep: unknown = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
  const bodies: [string, unknown][] = [
    ['null', null],
    ['a string', 'x'],
    ['an array', [good]],
    ['no version', { ...good, v: undefined }],
    ['version 2', { ...good, v: 2 }],
    ['version "1"', { ...good, v: '1' }],
    ['unknown operation', { ...good, operation: 'key.create' }],
    ['operation from the prototype', { ...good, operation: 'toString' }],
    ['key id not a uuid', { ...good, keyId: 'k1' }],
    ['key id an object', { ...good, keyId: {} }],
    ['input null', { ...good, input: null }],
    ['input an array', { ...good, input: [] }],
    ['unknown input field', { ...good, input: { digest: DIGEST, x: 1 } }],
    ['digest odd hex', { ...good, input: { digest: '0x123' } }],
    ['digest without 0x', { ...good, input: { digest: '11'.repeat(32) } }],
    ['path a number', { ...good, input: { digest: DIGEST, path: 0 } }],
    ['path too long', { ...good, input: { digest: DIGEST, path: 'm/' + '1/'.repeat(1000) } }],
    ['principal a bearer', { ...good, principal: { kind: 'token', token: 'kmt_x' } }],
    ['principal with more', { ...good, principal: { kind: 'token', tokenId: TOKEN, scopes: ['admin'] } }],
    ['principal a peer', { ...good, principal: { kind: 'peer', nodeId: 'n1', tokenId: TOKEN } }],
    ['principal token id not a uuid', { ...good, principal: { kind: 'token', tokenId: 'x' } }],
    ['an extra field', { ...good, requestId: 'r' }],
    [
      'typed data too deep to write',
      { ...good, operation: 'ethereum.typed-data', input: { typedData: deep } },
    ],
    ['psbt not a string', { ...good, operation: 'bitcoin.psbt', input: { psbt: 1, network: 'bitcoin' } }],
    ['psbt without network', { ...good, operation: 'bitcoin.psbt', input: { psbt: 'cHNidP8BAA==' } }],
  ];
  for (const [what, body] of bodies) refused(() => decodePeerCall(body), 'INVALID_REQUEST', what);
});

test('answers: the value through the codec, a typed error as sent, anything else UNAVAILABLE', () => {
  const ok = decodePeerAnswer(
    'key.sign',
    res(200, encodePeerValue('key.sign', { signature: SIG, recoveryId: 1 })),
  );
  assert.deepEqual(ok, { nodeId: 'n3', ok: true, value: { signature: SIG, recoveryId: 1 } });
  const err = decodePeerAnswer(
    'key.sign',
    res(409, { error: { code: 'INVALID_STATE', message: 'deactivated' } }),
  );
  assert.ok(!err.ok && err.error.code === 'INVALID_STATE' && err.error.shortMessage === 'deactivated');
  const unusable: [string, ReturnType<typeof res>][] = [
    ['not JSON', res(200, undefined, 'nope')],
    ['no version', res(200, { value: { signature: SIG } })],
    ['an extra answer field', res(200, { v: 1, value: { signature: SIG, privateKey: '0x00' } })],
    ['a wrong answer type', res(200, { v: 1, value: { signature: 5 } })],
    ['an unknown error code', res(500, { error: { code: 'NOPE', message: 'x' } })],
    ['an error code from the prototype', res(500, { error: { code: 'constructor', message: 'x' } })],
    ['an error without a message', res(400, { error: { code: 'INVALID_REQUEST' } })],
    [
      'an error message too long',
      res(400, { error: { code: 'INVALID_REQUEST', message: 'x'.repeat(5000) } }),
    ],
    ['an error with status 200', res(200, { error: { code: 'INVALID_REQUEST', message: 'x' } })],
    ['a redirect', res(302, { error: { code: 'INVALID_REQUEST', message: 'x' } })],
  ];
  for (const [what, r] of unusable) {
    const a = decodePeerAnswer('key.sign', r);
    assert.ok(!a.ok && a.error.code === 'UNAVAILABLE', what);
  }
  // The executing node refuses to send what its codec does not describe: its own fault.
  refused(() => encodePeerValue('key.sign', { signature: SIG, extra: 1 }), 'INTERNAL', 'extra');
});
