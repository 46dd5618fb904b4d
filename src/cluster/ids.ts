// Names the cluster layer accepts, checked at every boundary (etcd records are input too: the store
// is trusted for availability, not integrity; DESIGN.md, "Trust boundaries"). Node ids follow
// --node-id (src/config.ts); regions the same shape; levels 0..10. Also the etcd key layout of the
// cluster, in one place so the writers and the watchers cannot disagree.
import { invalid } from '../errors.js';
import { isNodeId, isRegion, NODE_ID_RULE } from '../util/ids.js';

export { isNodeId, isRegion, NODE_ID_RE, REGION_RE } from '../util/ids.js';
/** Key ids as the core makes them (UUIDv7, src/util/ids.ts) or any other single path segment. */
export const KEY_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const MIN_LEVEL = 0;
export const MAX_LEVEL = 10;

export const isLevel = (n: unknown): n is number =>
  Number.isInteger(n) && (n as number) >= MIN_LEVEL && (n as number) <= MAX_LEVEL;

export function checkNodeId(s: unknown, what = 'node id'): string {
  if (!isNodeId(s)) throw invalid(`${what} must be ${NODE_ID_RULE}`);
  return s;
}

export function checkRegion(s: unknown, what = 'region'): string {
  if (!isRegion(s)) throw invalid(`${what} must be ${NODE_ID_RULE}`);
  return s;
}

export function checkLevel(n: unknown, what = 'level'): number {
  if (!isLevel(n)) throw invalid(`${what} must be an integer from ${MIN_LEVEL} to ${MAX_LEVEL}`);
  return n;
}

export function checkKeyId(s: unknown): string {
  if (typeof s !== 'string' || !KEY_ID_RE.test(s)) throw invalid('key id is not a valid key id');
  return s;
}

/** etcd layout (inside the store's namespace): the cluster's part of src/store/layout.ts. */
export { ClusterLayout as ClusterKeys } from '../store/layout.js';

/** A node's peer endpoint, https://HOST:PORT and nothing else (INVALID_REQUEST otherwise). */
export function parsePeerEndpoint(endpoint: unknown): URL {
  if (typeof endpoint !== 'string' || endpoint.length > 256)
    throw invalid('a peer endpoint must be https://HOST:PORT');
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw invalid('a peer endpoint must be https://HOST:PORT');
  }
  if (
    u.protocol !== 'https:' ||
    !u.port ||
    u.username ||
    u.password ||
    (u.pathname !== '/' && u.pathname !== '')
  )
    throw invalid('a peer endpoint must be https://HOST:PORT');
  return u;
}
