// The harness of the per-operation tests (test/core/**, one file per operation's source file):
// an in-process core on real parts (test/helpers/core.ts), tokens minted through the core itself,
// the audit entries one request wrote, and the two checks every operation gets: a refusal must
// carry a code the operation's row of the table declares (`refuses`), and a caller without the
// row's scope is refused FORBIDDEN and audited as denied under its own name (`assertForbidden`).
// A test file opens one harness for its tests with `useOps`; its policy answers the harness's
// `policy.verdict` (allow, the pass-through, unless a test says otherwise).
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Credential } from '../../src/core/context.js';
import { type Scope, Scopes } from '../../src/core/auth/scopes.js';
import { OPERATIONS, type OperationName } from '../../src/core/operations/table.js';
import type { Verdict } from '../../src/core/pipeline/signing.js';
import { bootstrapAdminToken } from '../../src/core/tokens/create.js';
import { type ErrorCode, KeymeshError } from '../../src/errors.js';
import { newId } from '../../src/util/ids.js';
import { openTestCore, type TestCore, type TestCoreOptions } from '../helpers/core.js';

/** A caller the tests act as: the credential (with a fresh request id per `as`) and its audit actor. */
export interface Actor {
  actor: string;
  tokenId: string;
  /** The credential under a request id of its own, so each call's audit entries can be told apart. */
  as(requestId: string): Credential;
}

/** One audit entry as the tests compare it. */
export interface Seen {
  action: string;
  outcome: string;
  actor: string;
  keyId?: string;
  code?: unknown;
}

export interface OpHarness extends TestCore {
  admin: Actor;
  /** A token minted by the admin through the core (token.create), with these scopes and keys. */
  token(scopes: readonly Scope[], keyIds?: readonly string[]): Promise<Actor>;
  /** The entries written under `requestId`, in order. */
  audited(requestId: string): Seen[];
  /** What the core's policy answers every signing intent: allow unless a test sets `verdict`. */
  policy: { verdict: Verdict };
  /** An imported secp256k1 key (0x-hex private key), by the admin: its id. */
  importKey(name: string, privateKey: string): Promise<string>;
}

function actorOf(tokenId: string, token: string): Actor {
  return {
    actor: `token:${tokenId}`,
    tokenId,
    as: (requestId) => ({ principal: { kind: 'token', token }, requestId }),
  };
}

let minted = 0;

/**
 * The harness of a test file: opened before its tests (then `setup` runs: a root-level `before`
 * of the file's own may run before this one has finished), closed after them.
 */
export function useOps(
  opts: Omit<TestCoreOptions, 'policy'> = {},
  setup?: (h: OpHarness) => Promise<void>,
): OpHarness {
  const h = {} as OpHarness;
  before(async () => {
    Object.assign(h, await openOps(opts));
    await setup?.(h);
  });
  after(() => h.close());
  return h;
}

export async function openOps(opts: Omit<TestCoreOptions, 'policy'> = {}): Promise<OpHarness> {
  const policy: OpHarness['policy'] = { verdict: { decision: 'allow' } };
  const t = await openTestCore({ ...opts, policy: { judge: () => policy.verdict } });
  const boot = await bootstrapAdminToken(t.core.deps);
  const admin = actorOf(boot.id, boot.token);
  let imported = 0;
  return Object.assign(t, {
    policy,
    admin,
    importKey: async (name: string, privateKey: string) =>
      (await t.core.importKey(admin.as(`import-${++imported}`), { name, algorithm: 'secp256k1', privateKey }))
        .id,
    token: async (scopes: readonly Scope[], keyIds?: readonly string[]) => {
      const made = await t.core.createToken(admin.as(`mint-${++minted}`), {
        name: `t${minted}`,
        scopes: [...scopes],
        ...(keyIds === undefined ? {} : { keyIds: [...keyIds] }),
      });
      return actorOf(made.id, made.token);
    },
    audited: (requestId: string) =>
      t.audit
        .list(0, 100_000)
        .filter((e) => e.requestId === requestId)
        .map((e) => ({
          action: e.action,
          outcome: e.outcome,
          actor: e.actor,
          ...(e.keyId === undefined ? {} : { keyId: e.keyId }),
          ...(e.details?.code === undefined ? {} : { code: e.details.code }),
        })),
  });
}

/**
 * `p` must fail with the typed error `code`, and `code` must be one the operation declares in its
 * row of the table (its `errors` column): a test cannot provoke an answer the table does not list.
 */
export async function refuses(
  op: OperationName,
  p: Promise<unknown>,
  code: ErrorCode,
): Promise<KeymeshError> {
  const declared: readonly ErrorCode[] = OPERATIONS[op].errors;
  assert.ok(declared.includes(code), `${op} does not declare ${code} in its row of the operations table`);
  const err = await p.then(
    () => assert.fail(`${op} succeeded; expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof KeymeshError, `expected a KeymeshError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

/** A scope that does not imply `scope` (admin implies every one). */
function otherScope(scope: Scope): Scope {
  return Scopes.find((s) => s !== scope && s !== 'admin')!;
}

/**
 * A token without the operation's scope is refused FORBIDDEN, and that is audited once as denied,
 * under the operation's action and the token's actor (naming the key when the call names one); for
 * a call that names a key, so is a token with the scope whose keyIds leave that key out.
 */
export async function assertForbidden(
  h: OpHarness,
  op: OperationName,
  call: (cred: Credential) => Promise<unknown>,
  keyId?: string,
): Promise<void> {
  const spec = OPERATIONS[op];
  const scope = spec.scope;
  assert.ok(scope !== null, `${op} is open to any authenticated principal: nothing to lack`);
  const callers = [await h.token([otherScope(scope)])];
  // A key-bound operation also refuses a token with the scope that is narrowed to other keys.
  if (keyId !== undefined) callers.push(await h.token([scope], [newId()]));
  for (const [i, who] of callers.entries()) {
    const rid = `forbidden-${op}-${i}`;
    await refuses(op, call(who.as(rid)), 'FORBIDDEN');
    assert.deepEqual(h.audited(rid), [
      {
        action: spec.action,
        outcome: 'denied',
        actor: who.actor,
        ...(keyId === undefined ? {} : { keyId }),
        code: 'FORBIDDEN',
      },
    ]);
  }
}

/**
 * An operation open to any authenticated principal (its row's scope is null): a token holding only
 * an unrelated scope is served, and nothing is audited for it (such operations are reads).
 */
export async function assertAnyPrincipal(
  h: OpHarness,
  op: OperationName,
  call: (cred: Credential) => Promise<unknown>,
): Promise<void> {
  assert.equal(OPERATIONS[op].scope, null, `${op} needs a scope: use assertForbidden`);
  for (const scope of Scopes.filter((s) => s !== 'admin')) {
    const who = await h.token([scope]);
    const rid = `any-${op}-${scope}`;
    await call(who.as(rid));
    assert.deepEqual(h.audited(rid), []);
  }
}

let refusalRun = 0;

/**
 * The admin's call is refused with `code` (declared by the row, `refuses`), and audited as
 * `audited` under the operation's action, or not at all (`none`: a read's NOT_FOUND).
 */
export async function assertRefused(
  h: OpHarness,
  op: OperationName,
  call: (cred: Credential) => Promise<unknown>,
  code: ErrorCode,
  audited: 'denied' | 'error' | 'none',
  keyId?: string,
): Promise<KeymeshError> {
  const rid = `refused-${op}-${code}-${++refusalRun}`;
  const err = await refuses(op, call(h.admin.as(rid)), code);
  assert.deepEqual(
    h.audited(rid),
    audited === 'none'
      ? []
      : [
          {
            action: OPERATIONS[op].action,
            outcome: audited,
            actor: h.admin.actor,
            ...(keyId === undefined ? {} : { keyId }),
            code,
          },
        ],
  );
  return err;
}

/** The entry an allowed call writes before its effect: the operation's action, by the caller. */
export function allowed(op: OperationName, who: Actor, keyId?: string): Seen {
  return {
    action: OPERATIONS[op].action,
    outcome: 'allowed',
    actor: who.actor,
    ...(keyId === undefined ? {} : { keyId }),
  };
}

/**
 * The call on a deactivated key is refused INVALID_STATE, audited as denied, and nothing is
 * signed; the key is active again afterwards.
 */
async function assertRefusedDeactivated(
  h: OpHarness,
  op: OperationName,
  keyId: string,
  call: (cred: Credential) => Promise<unknown>,
): Promise<void> {
  await h.core.setKeyState(h.admin.as(`deactivate-${keyId}`), keyId, 'deactivated');
  const signed = h.calls.sign;
  await assertRefused(h, op, call, 'INVALID_STATE', 'denied', keyId);
  assert.equal(h.calls.sign, signed, 'nothing signed');
  await h.core.setKeyState(h.admin.as(`reactivate-${keyId}`), keyId, 'active');
}

/** The policy's denial: POLICY_DENIED, audited as denied, nothing signed. */
async function assertPolicyDenied(
  h: OpHarness,
  op: OperationName,
  keyId: string,
  call: (cred: Credential) => Promise<unknown>,
): Promise<void> {
  const signed = h.calls.sign;
  h.policy.verdict = { decision: 'deny', reason: 'not this one' };
  try {
    await assertRefused(h, op, call, 'POLICY_DENIED', 'denied', keyId);
  } finally {
    h.policy.verdict = { decision: 'allow' };
  }
  assert.equal(h.calls.sign, signed, 'nothing signed');
}

/**
 * A signature's refusals besides FORBIDDEN: a deactivated key (INVALID_STATE) and the policy's
 * denial (POLICY_DENIED), each audited as denied with nothing signed.
 */
export async function assertSigningRefusals(
  h: OpHarness,
  op: OperationName,
  keyId: string,
  call: (cred: Credential) => Promise<unknown>,
): Promise<void> {
  await assertRefusedDeactivated(h, op, keyId, call);
  await assertPolicyDenied(h, op, keyId, call);
}
