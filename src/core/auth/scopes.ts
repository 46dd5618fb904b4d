// Scopes and the caller they describe. `admin` implies every scope; `keyIds` narrows a token to
// those keys for every key-bound operation. The one place authorisation is decided.
import { KeymeshError } from '../../errors.js';

export const Scopes = [
  'admin',
  'keys:read',
  'keys:create',
  'keys:sign',
  'keys:manage',
  'audit:read',
] as const;
export type Scope = (typeof Scopes)[number];

export interface Caller {
  /** Audit identity: the principal, e.g. `token:<id>`, or `token:<id> via node:n1` for a peer. */
  actor: string;
  /** The cluster node that sent this call on for the caller, if one did. */
  via?: string;
  tokenId: string;
  scopes: ReadonlySet<Scope>;
  /** null: every key. */
  keyIds: ReadonlySet<string> | null;
}

export function hasScope(caller: Caller, scope: Scope): boolean {
  return caller.scopes.has('admin') || caller.scopes.has(scope);
}

export function mayUseKey(caller: Caller, keyId: string): boolean {
  return caller.keyIds === null || caller.keyIds.has(keyId);
}

/** `scope` null: any authenticated principal (an operation that names no key and no secret). */
export function authorize(caller: Caller, scope: Scope | null, keyId?: string): void {
  if (scope !== null && !hasScope(caller, scope))
    throw new KeymeshError('FORBIDDEN', `This token lacks the ${scope} scope.`);
  if (keyId !== undefined && !mayUseKey(caller, keyId))
    throw new KeymeshError('FORBIDDEN', 'This token is not allowed to use this key.');
}
