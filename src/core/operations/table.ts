// The operations table: per core operation, the one place that says what it is called in the
// audit log, which scope it needs, whether it names a key (then the token's keyIds apply), whether
// it needs the key's private material (then it runs where a live replica is: routing, a core step,
// src/core/pipeline/route.ts), and the error codes it can answer. The core's dispatcher
// (core.ts `perform`) reads it; adapters derive from it what they declare (the OpenAPI statuses of
// a route, src/api/http/server.ts), never from route strings.
import type { ErrorCode } from '../../errors.js';
import type { Scope } from '../auth/scopes.js';

/**
 * Whether an operation uses the key's private material: always (signing, derivation), only when
 * the input names an HD path (verify: a plain key's public key is in its record), or never.
 */
export type Material = 'always' | 'if-path' | 'never';

export interface OperationSpec {
  /** The audit action, also the operation's name. */
  action: string;
  /** null: any authenticated principal may call it. */
  scope: Scope | null;
  /** The operation acts on one key, named by the caller (token keyIds narrow it). */
  keyBound: boolean;
  material: Material;
  /** Reads are audited only when refused; everything else also when allowed (inside the op). */
  read: boolean;
  /** What the operation can answer besides success (authentication and authorisation included). */
  errors: readonly ErrorCode[];
}

const AUTH: readonly ErrorCode[] = ['UNAUTHENTICATED', 'FORBIDDEN'];
/** A call that runs where the key is: the key may be unknown, unusable, or held by no live node. */
const KEY_USE: readonly ErrorCode[] = [
  ...AUTH,
  'INVALID_REQUEST',
  'NOT_FOUND',
  'INVALID_STATE',
  'UNSUPPORTED',
  'NO_LIVE_REPLICA',
];
/** A signature: a key use that the signing pipeline's policy may also refuse (pipeline/signing.ts). */
const SIGNING: readonly ErrorCode[] = [...KEY_USE, 'POLICY_DENIED'];
/** Chain signing decodes its input on the chain-work pool, which refuses when it is full. */
const CHAIN_SIGNING: readonly ErrorCode[] = [...SIGNING, 'UNAVAILABLE'];

/** A row as written below; its action is its name in the table (OPERATIONS adds it). */
type Row = Omit<OperationSpec, 'action'>;

function op(
  scope: Scope | null,
  o: { keyBound?: boolean; material?: Material; read?: boolean; errors: readonly ErrorCode[] },
): Row {
  return {
    scope,
    keyBound: o.keyBound ?? false,
    material: o.material ?? 'never',
    read: o.read ?? false,
    // An operation audited when allowed is refused when the audit log cannot take the entry.
    errors: o.read ? o.errors : [...o.errors, 'AUDIT_UNAVAILABLE'],
  };
}

const ROWS = {
  'cluster.describe': op(null, { read: true, errors: ['UNAUTHENTICATED', 'NOT_FOUND'] }),
  'cluster.remove-node': op('admin', {
    errors: [...AUTH, 'INVALID_REQUEST', 'NOT_FOUND', 'CONFLICT', 'UNAVAILABLE'],
  }),
  'key.create': op('keys:create', {
    errors: [...AUTH, 'INVALID_REQUEST', 'CONFLICT', 'PLACEMENT_UNSATISFIABLE'],
  }),
  'key.import': op('keys:create', {
    errors: [...AUTH, 'INVALID_REQUEST', 'CONFLICT', 'PLACEMENT_UNSATISFIABLE'],
  }),
  'key.list': op('keys:read', { read: true, errors: [...AUTH, 'INVALID_REQUEST'] }),
  'key.get': op('keys:read', { keyBound: true, read: true, errors: [...AUTH, 'NOT_FOUND'] }),
  'key.sign': op('keys:sign', { keyBound: true, material: 'always', errors: SIGNING }),
  'key.derive': op('keys:read', { keyBound: true, material: 'always', errors: KEY_USE }),
  'key.verify': op('keys:read', { keyBound: true, material: 'if-path', errors: KEY_USE }),
  'key.state': op('keys:manage', {
    keyBound: true,
    errors: [...AUTH, 'INVALID_REQUEST', 'NOT_FOUND', 'INVALID_STATE', 'CONFLICT'],
  }),
  'key.destroy': op('keys:manage', {
    keyBound: true,
    errors: [...AUTH, 'NOT_FOUND', 'INVALID_STATE', 'CONFLICT'],
  }),
  'ethereum.transaction': op('keys:sign', { keyBound: true, material: 'always', errors: CHAIN_SIGNING }),
  'ethereum.message': op('keys:sign', { keyBound: true, material: 'always', errors: CHAIN_SIGNING }),
  'ethereum.typed-data': op('keys:sign', { keyBound: true, material: 'always', errors: CHAIN_SIGNING }),
  'bitcoin.psbt': op('keys:sign', { keyBound: true, material: 'always', errors: CHAIN_SIGNING }),
  'ethereum.accounts': op('keys:sign', { read: true, errors: AUTH }),
  'ethereum.account': op('keys:sign', {
    read: true,
    errors: [...AUTH, 'INVALID_REQUEST', 'NOT_FOUND'],
  }),
  'rpc.call': op('keys:sign', { read: true, errors: AUTH }),
  'token.create': op('admin', { errors: [...AUTH, 'INVALID_REQUEST'] }),
  'token.list': op('admin', { read: true, errors: AUTH }),
  'token.revoke': op('admin', { errors: [...AUTH, 'NOT_FOUND'] }),
  'audit.list': op('audit:read', { read: true, errors: [...AUTH, 'INVALID_REQUEST'] }),
} as const satisfies Record<string, Row>;

export type OperationName = keyof typeof ROWS;

/** Every operation's row, its name being its audit action (written once, as the row's key). */
export const OPERATIONS: { readonly [K in OperationName]: OperationSpec & { readonly action: K } } =
  Object.fromEntries(
    Object.entries(ROWS).map(([name, row]) => [name, Object.freeze({ action: name, ...row })]),
  ) as { [K in OperationName]: OperationSpec & { action: K } };

export function isOperationName(s: unknown): s is OperationName {
  return typeof s === 'string' && Object.hasOwn(OPERATIONS, s);
}

/** Whether this call of `op` needs the key's private material, so runs where a replica is. */
export function needsKeyMaterial(spec: OperationSpec, input: unknown): boolean {
  if (spec.material === 'always') return true;
  if (spec.material === 'never') return false;
  const path = (input as { path?: unknown } | null | undefined)?.path;
  return path !== undefined;
}
