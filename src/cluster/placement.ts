// Placement: which nodes may hold a key, and which holder a node forwards a call to. Pure
// functions over the membership view, no I/O (DESIGN.md, "Cluster: placement and sync"; API.md,
// "Cluster"; issue 4, points 3 and 4).
//
// A key's placement is `{regions?, minLevel?, replicas?}`:
// - `regions`: the key may live only on nodes in one of these regions (absent: any region);
// - `minLevel`: only on nodes whose attested security level is at least this (absent: 0);
// - `replicas`: the least number of eligible live nodes that must hold it when it is created
//   (absent: 1). It is a floor, not a cap: the key is wrapped to every eligible live node (the
//   seed's "sync to all nodes" is the default placement), and nodes that become eligible later get
//   a replica by sync. Fewer eligible live nodes than `replicas`, or none, is refused with
//   PLACEMENT_UNSATISFIABLE (409) before anything is written.
// Level and region are the *attested* ones (membership checks the record against its
// attestation), so a node cannot talk its way into a placement.
import { KeymeshError, invalid } from '../errors.js';
import { checkRegion, isLevel, isNodeId, isRegion, MAX_LEVEL, MIN_LEVEL } from './ids.js';
import { quoteName } from '../util/quote.js';

export const MAX_PLACEMENT_REGIONS = 32;
export const MIN_REPLICAS = 1;
export const MAX_REPLICAS = 64;

export interface Placement {
  /** Sorted, unique. */
  regions?: string[];
  minLevel?: number;
  replicas?: number;
}

/** What placement needs to know of a node. */
export interface PlacementNode {
  id: string;
  region: string;
  level: number;
}

const PLACEMENT_FIELDS = ['regions', 'minLevel', 'replicas'];

/**
 * Validate a placement from a request body (`undefined` or `null`: the default, every node).
 * Returns a normalised copy (regions sorted and unique); INVALID_REQUEST names the bad field.
 */
export function parsePlacement(input: unknown): Placement {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw invalid('placement must be an object');
  const p = input as Record<string, unknown>;
  for (const k of Object.keys(p))
    if (!PLACEMENT_FIELDS.includes(k)) throw invalid(`placement has an unknown field ${quoteName(k)}`);
  const out: Placement = {};
  if (p.regions !== undefined) {
    if (!Array.isArray(p.regions) || p.regions.length < 1 || p.regions.length > MAX_PLACEMENT_REGIONS)
      throw invalid(`placement.regions must list 1 to ${MAX_PLACEMENT_REGIONS} regions`);
    const set = new Set<string>();
    for (const r of p.regions) {
      checkRegion(r, 'each of placement.regions');
      if (set.has(r)) throw invalid('placement.regions lists a region twice');
      set.add(r);
    }
    out.regions = [...set].sort(byBytes);
  }
  if (p.minLevel !== undefined) {
    if (!isLevel(p.minLevel))
      throw invalid(`placement.minLevel must be an integer from ${MIN_LEVEL} to ${MAX_LEVEL}`);
    out.minLevel = p.minLevel;
  }
  if (p.replicas !== undefined) {
    if (
      !Number.isInteger(p.replicas) ||
      (p.replicas as number) < MIN_REPLICAS ||
      (p.replicas as number) > MAX_REPLICAS
    )
      throw invalid(`placement.replicas must be an integer from ${MIN_REPLICAS} to ${MAX_REPLICAS}`);
    out.replicas = p.replicas as number;
  }
  return out;
}

/** Whether a node may hold a key with this placement (liveness aside). */
export function isEligible(node: PlacementNode, placement: Placement): boolean {
  if (placement.regions !== undefined && !placement.regions.includes(node.region)) return false;
  if (placement.minLevel !== undefined && node.level < placement.minLevel) return false;
  return true;
}

/** Check a node list from the membership view: well-formed, ids unique. */
function checkNodes<T extends PlacementNode>(nodes: readonly T[]): void {
  if (!Array.isArray(nodes)) throw invalid('nodes must be an array');
  const seen = new Set<string>();
  for (const n of nodes) {
    if (!n || !isNodeId(n.id) || !isRegion(n.region) || !isLevel(n.level))
      throw invalid('a node in the placement input is malformed');
    if (seen.has(n.id)) throw invalid(`node ${n.id} appears twice in the placement input`);
    seen.add(n.id);
  }
}

/** The live nodes eligible for `placement`, sorted by id (byte order). No quorum check. */
export function eligibleNodes<T extends PlacementNode>(liveNodes: readonly T[], placement: Placement): T[] {
  checkNodes(liveNodes);
  return liveNodes.filter((n) => isEligible(n, placement)).sort((a, b) => byBytes(a.id, b.id));
}

/**
 * The nodes a new key is wrapped to: every eligible live node, sorted by id. Refuses with
 * PLACEMENT_UNSATISFIABLE when there are none, or fewer than `placement.replicas`.
 */
export function placeReplicas<T extends PlacementNode>(liveNodes: readonly T[], placement: Placement): T[] {
  const eligible = eligibleNodes(liveNodes, placement);
  const need = placement.replicas ?? MIN_REPLICAS;
  if (eligible.length < need)
    throw new KeymeshError(
      'PLACEMENT_UNSATISFIABLE',
      eligible.length === 0
        ? 'No live node satisfies the placement.'
        : `The placement asks for ${need} replicas but only ${eligible.length} live nodes are eligible.`,
      { details: { eligible: eligible.length, required: need } },
    );
  return eligible;
}

/**
 * The order in which to try holders when forwarding a call: live holders only (never `selfId`),
 * those in `selfRegion` first, then the rest. Within each group the order is by id, rotated by
 * `rotation` (e.g. a per-node counter), so repeated calls spread over the group and the same inputs
 * always give the same answer.
 */
export function forwardOrder<T extends PlacementNode & { live?: boolean }>(
  holders: readonly T[],
  selfRegion: string,
  opts: { selfId?: string; rotation?: number } = {},
): T[] {
  checkNodes(holders);
  checkRegion(selfRegion, 'selfRegion');
  const rotation = opts.rotation ?? 0;
  if (!Number.isSafeInteger(rotation) || rotation < 0) throw invalid('rotation must be a whole number ≥ 0');
  const usable = holders
    .filter((h) => h.live !== false && h.id !== opts.selfId)
    .sort((a, b) => byBytes(a.id, b.id));
  const near = usable.filter((h) => h.region === selfRegion);
  const far = usable.filter((h) => h.region !== selfRegion);
  return [...rotate(near, rotation), ...rotate(far, rotation)];
}

/** The first of `forwardOrder`, or NO_LIVE_REPLICA when no live holder remains. */
export function pickForwardTarget<T extends PlacementNode & { live?: boolean }>(
  holders: readonly T[],
  selfRegion: string,
  opts: { selfId?: string; rotation?: number } = {},
): T {
  const first = forwardOrder(holders, selfRegion, opts)[0];
  if (!first) throw new KeymeshError('NO_LIVE_REPLICA', 'No live node holds a replica of this key.');
  return first;
}

function rotate<T>(xs: T[], by: number): T[] {
  if (xs.length === 0) return xs;
  const k = by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

/** UTF-8 byte order (etcd's), not UTF-16: for ASCII ids the same, and stable across runtimes. */
function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * What the enclave re-checks of a placement against each recipient's attestation: its regions and
 * minimum level (`replicas` is a count over the membership, not a property of one node).
 */
export function wrapConstraint(p: Placement | undefined): { regions?: string[]; minLevel?: number } {
  return {
    ...(p?.regions ? { regions: p.regions } : {}),
    ...(p?.minLevel !== undefined ? { minLevel: p.minLevel } : {}),
  };
}
