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
/** Chain signing decodes its input on the chain-work pool, which refuses when it is full. */
const CHAIN_USE: readonly ErrorCode[] = [...KEY_USE, 'UNAVAILABLE'];

function op(
  action: string,
  scope: Scope | null,
  o: { keyBound?: boolean; material?: Material; read?: boolean; errors: readonly ErrorCode[] },
): OperationSpec {
  return {
    action,
    scope,
    keyBound: o.keyBound ?? false,
    material: o.material ?? 'never',
    read: o.read ?? false,
    // An operation audited when allowed is refused when the audit log cannot take the entry.
    errors: o.read ? o.errors : [...o.errors, 'AUDIT_UNAVAILABLE'],
  };
}

export const OPERATIONS = {
  'cluster.describe': op('cluster.describe', null, { read: true, errors: [...AUTH, 'NOT_FOUND'] }),
  'cluster.remove-node': op('cluster.remove-node', 'admin', {
    errors: [...AUTH, 'INVALID_REQUEST', 'NOT_FOUND', 'CONFLICT', 'UNAVAILABLE'],
  }),
  'key.create': op('key.create', 'keys:create', {
    errors: [...AUTH, 'INVALID_REQUEST', 'CONFLICT', 'PLACEMENT_UNSATISFIABLE'],
  }),
  'key.import': op('key.import', 'keys:create', {
    errors: [...AUTH, 'INVALID_REQUEST', 'CONFLICT', 'PLACEMENT_UNSATISFIABLE'],
  }),
  'key.list': op('key.list', 'keys:read', { read: true, errors: [...AUTH, 'INVALID_REQUEST'] }),
  'key.get': op('key.get', 'keys:read', { keyBound: true, read: true, errors: [...AUTH, 'NOT_FOUND'] }),
  'key.sign': op('key.sign', 'keys:sign', { keyBound: true, material: 'always', errors: KEY_USE }),
  'key.derive': op('key.derive', 'keys:read', { keyBound: true, material: 'always', errors: KEY_USE }),
  'key.verify': op('key.verify', 'keys:read', { keyBound: true, material: 'if-path', errors: KEY_USE }),
  'key.state': op('key.state', 'keys:manage', {
    keyBound: true,
    errors: [...AUTH, 'INVALID_REQUEST', 'NOT_FOUND', 'INVALID_STATE', 'CONFLICT'],
  }),
  'key.destroy': op('key.destroy', 'keys:manage', {
    keyBound: true,
    errors: [...AUTH, 'NOT_FOUND', 'INVALID_STATE', 'CONFLICT'],
  }),
  'ethereum.transaction': op('ethereum.transaction', 'keys:sign', {
    keyBound: true,
    material: 'always',
    errors: [...CHAIN_USE, 'POLICY_DENIED'],
  }),
  'ethereum.message': op('ethereum.message', 'keys:sign', {
    keyBound: true,
    material: 'always',
    errors: CHAIN_USE,
  }),
  'ethereum.typed-data': op('ethereum.typed-data', 'keys:sign', {
    keyBound: true,
    material: 'always',
    errors: [...CHAIN_USE, 'POLICY_DENIED'],
  }),
  'bitcoin.psbt': op('bitcoin.psbt', 'keys:sign', {
    keyBound: true,
    material: 'always',
    errors: [...CHAIN_USE, 'POLICY_DENIED'],
  }),
  'ethereum.accounts': op('ethereum.accounts', 'keys:sign', { read: true, errors: AUTH }),
  'ethereum.account': op('ethereum.account', 'keys:sign', {
    read: true,
    errors: [...AUTH, 'INVALID_REQUEST', 'NOT_FOUND'],
  }),
  'rpc.call': op('rpc.call', 'keys:sign', { read: true, errors: AUTH }),
  'token.create': op('token.create', 'admin', { errors: [...AUTH, 'INVALID_REQUEST'] }),
  'token.list': op('token.list', 'admin', { read: true, errors: AUTH }),
  'token.revoke': op('token.revoke', 'admin', { errors: [...AUTH, 'NOT_FOUND'] }),
  'audit.list': op('audit.list', 'audit:read', { read: true, errors: [...AUTH, 'INVALID_REQUEST'] }),
} as const satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof OPERATIONS;

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
