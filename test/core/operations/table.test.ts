// Every row of the operations table (src/core/operations/table.ts) has its test through the
// dispatcher: a file mirroring the operation's source file (src/core/X.ts → test/core/X.test.ts)
// with a suite named after the operation, a FORBIDDEN check (assertForbidden), and at least one
// provoked error code besides FORBIDDEN; every code those files provoke is one the row declares.
// The provoking helpers (test/core/_ops.ts `refuses`) also refuse an undeclared code at run time;
// this file reads the tests' text, so it also catches a test that was never run.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPERATIONS, type OperationName } from '../../../src/core/operations/table.js';
import { type ErrorCode, ErrorCodes } from '../../../src/errors.js';
import { REPO_ROOT } from '../../helpers/node.js';

/** Where each operation lives. rpc.call has no body of its own: it is the dispatcher's gate. */
const SOURCES: Record<OperationName, string> = {
  'cluster.describe': 'src/core/cluster/describe.ts',
  'cluster.remove-node': 'src/core/cluster/remove-node.ts',
  'key.create': 'src/core/keys/create.ts',
  'key.import': 'src/core/keys/create.ts',
  'key.list': 'src/core/keys/list.ts',
  'key.get': 'src/core/keys/get.ts',
  'key.sign': 'src/core/keys/sign.ts',
  'key.derive': 'src/core/keys/derive.ts',
  'key.verify': 'src/core/keys/verify.ts',
  'key.state': 'src/core/keys/state.ts',
  'key.destroy': 'src/core/keys/state.ts',
  'ethereum.transaction': 'src/core/chains/ethereum-transaction.ts',
  'ethereum.message': 'src/core/chains/ethereum-message.ts',
  'ethereum.typed-data': 'src/core/chains/ethereum-typed-data.ts',
  'bitcoin.psbt': 'src/core/chains/bitcoin-psbt.ts',
  'ethereum.accounts': 'src/core/keys/accounts.ts',
  'ethereum.account': 'src/core/keys/accounts.ts',
  'rpc.call': 'src/core/core.ts',
  'token.create': 'src/core/tokens/create.ts',
  'token.list': 'src/core/tokens/list.ts',
  'token.revoke': 'src/core/tokens/revoke.ts',
  'audit.list': 'src/core/audit/list.ts',
};

/** The test file of an operation: its source file's mirror under test/ (rpc.call: rpc/call). */
function testFile(op: OperationName): string {
  if (op === 'rpc.call') return 'test/core/rpc/call.test.ts';
  return SOURCES[op].replace(/^src\//, 'test/').replace(/\.ts$/, '.test.ts');
}

/**
 * The codes a test file provokes per operation: each `refuses('op', …, 'CODE')` and
 * `assertRefused(h, 'op', …, 'CODE', …)`, the code being the first upper-case literal after the
 * operation's name, and a signature's two (`assertSigningRefusals`: INVALID_STATE, POLICY_DENIED).
 * A code passed in a variable is not seen here (the run-time check covers it).
 */
function provoked(text: string): { op: string; code: string }[] {
  const out: { op: string; code: string }[] = [];
  const call = /\b(?:refuses|assertRefused)\(\s*(?:\w+,\s*)?'([a-z][a-z.-]*)'/g;
  for (let m = call.exec(text); m !== null; m = call.exec(text)) {
    const rest = text.slice(call.lastIndex);
    const next = rest.search(/\b(?:refuses|assertRefused)\(/);
    const code = /'([A-Z][A-Z_]+)'/.exec(next === -1 ? rest : rest.slice(0, next));
    if (code) out.push({ op: m[1]!, code: code[1]! });
  }
  // The helper that provokes a signature's refusals (test/core/_ops.ts).
  const helper = /\bassertSigningRefusals\(\s*\w+,\s*'([a-z][a-z.-]*)'/g;
  for (let m = helper.exec(text); m !== null; m = helper.exec(text))
    out.push({ op: m[1]!, code: 'INVALID_STATE' }, { op: m[1]!, code: 'POLICY_DENIED' });
  return out;
}

const read = (rel: string) => readFileSync(join(REPO_ROOT, rel), 'utf8');

describe('every operation has its test through the dispatcher', () => {
  test('the map of sources names every row of the table, and each source exists', () => {
    assert.deepEqual(Object.keys(SOURCES).sort(), Object.keys(OPERATIONS).sort());
    for (const [name, spec] of Object.entries(OPERATIONS)) assert.equal(spec.action, name);
    for (const [op, src] of Object.entries(SOURCES))
      assert.ok(existsSync(join(REPO_ROOT, src)), `${op}: ${src} is missing`);
  });

  for (const op of Object.keys(OPERATIONS) as OperationName[]) {
    test(`${op}: ${testFile(op)}`, () => {
      const file = testFile(op);
      assert.ok(existsSync(join(REPO_ROOT, file)), `${op} has no test file ${file}`);
      const text = read(file);
      assert.ok(text.includes(`describe('${op}'`), `${file} has no suite named ${op}`);
      // An operation open to any authenticated principal has no scope to lack: its test shows that
      // a token with an unrelated scope is served instead (assertAnyPrincipal).
      const check = OPERATIONS[op].scope === null ? 'assertAnyPrincipal' : 'assertForbidden';
      assert.match(text, new RegExp(`${check}\\(\\s*\\w+,\\s*'${op.replace('.', '\\.')}'`));
      const declared: readonly ErrorCode[] = OPERATIONS[op].errors;
      const codes = provoked(text).filter((p) => p.op === op);
      for (const { code } of codes) {
        assert.ok(ErrorCodes.includes(code as ErrorCode), `${file}: ${code} is no error code`);
        assert.ok(
          declared.includes(code as ErrorCode),
          `${file} provokes ${code}, which ${op} does not declare`,
        );
      }
      assert.ok(
        codes.some((c) => c.code !== 'FORBIDDEN'),
        `${file} provokes none of ${op}'s declared codes besides FORBIDDEN`,
      );
    });
  }

  test('the reader of provoked codes finds codes across lines, and only after its call', () => {
    const text = [
      "await refuses('key.sign', h.core.sign(c, id, { digest: '0x' }),",
      "  'INVALID_STATE');",
      "await assertRefused(h, 'key.get', (c) => h.core.getKey(c, id), 'NOT_FOUND', 'none');",
      "await assertSigningRefusals(h, 'bitcoin.psbt', keyId, sign());",
    ].join('\n');
    assert.deepEqual(provoked(text), [
      { op: 'key.sign', code: 'INVALID_STATE' },
      { op: 'key.get', code: 'NOT_FOUND' },
      { op: 'bitcoin.psbt', code: 'INVALID_STATE' },
      { op: 'bitcoin.psbt', code: 'POLICY_DENIED' },
    ]);
  });
});
