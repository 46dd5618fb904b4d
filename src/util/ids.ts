// Identifiers. Key ids are UUIDv7-shaped (RFC 9562): time-ordered, so listing by id lists by age
// and a cursor is simply the last id seen. Request ids are random and short.
import { randomBytes } from 'node:crypto';

export function newId(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (b[6]! & 0x0f); // version 7
  b[8] = 0x80 | (b[8]! & 0x3f); // variant 10
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$';
const ID_RE = new RegExp(ID_PATTERN);
export const isId = (s: string): boolean => ID_RE.test(s);

/**
 * Node ids, the one definition: --node-id (config.ts), a node certificate's CN (cluster add-node,
 * the peer channel), the cluster's etcd records (cluster/ids.ts), an attestation and the binding
 * of a wrapped replica (enclave/crypto). Regions have the same shape. As a JSON-schema pattern too.
 */
export const NODE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$';
export const NODE_ID_RE = new RegExp(NODE_ID_PATTERN);
export const REGION_RE = NODE_ID_RE;
/** What NODE_ID_RE accepts, for a refusal's message. */
export const NODE_ID_RULE = '1 to 63 characters of A-Z a-z 0-9 ._- (not starting with . _ -)';
export const isNodeId = (s: unknown): s is string => typeof s === 'string' && NODE_ID_RE.test(s);
export const isRegion = (s: unknown): s is string => typeof s === 'string' && REGION_RE.test(s);

export function newRequestId(): string {
  return randomBytes(9).toString('base64url');
}
