// Placement (src/cluster/placement.ts), pure: input validation, and properties over thousands of
// random clusters and placements (seeded, so a failure reproduces): the eligible set is exactly the
// live nodes that satisfy the placement, sorted; PLACEMENT_UNSATISFIABLE exactly when it is smaller
// than `replicas` or empty; the forwarding order is a permutation of the live holders other than
// this node, same region first, deterministic, and the rotation spreads first choices evenly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_PLACEMENT_REGIONS,
  eligibleNodes,
  forwardOrder,
  isEligible,
  parsePlacement,
  pickForwardTarget,
  placeReplicas,
  type Placement,
  type PlacementNode,
} from '../../src/cluster/placement.js';
import { KeymeshError } from '../../src/errors.js';

/** mulberry32: a small seeded PRNG. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REGIONS = ['eu-west', 'eu-central', 'us-east', 'ap-south'];

function randomCluster(r: () => number): (PlacementNode & { live: boolean })[] {
  const n = Math.floor(r() * 12);
  const ids = new Set<string>();
  while (ids.size < n) ids.add(`node-${Math.floor(r() * 100)}`);
  return [...ids].map((id) => ({
    id,
    region: REGIONS[Math.floor(r() * REGIONS.length)]!,
    level: Math.floor(r() * 11),
    live: r() < 0.8,
  }));
}

function randomPlacement(r: () => number): Placement {
  const p: Record<string, unknown> = {};
  if (r() < 0.5) p.regions = REGIONS.filter(() => r() < 0.5).concat(r() < 0.2 ? ['nowhere'] : []);
  if ((p.regions as string[] | undefined)?.length === 0) delete p.regions;
  if (r() < 0.5) p.minLevel = Math.floor(r() * 11);
  if (r() < 0.5) p.replicas = 1 + Math.floor(r() * 8);
  return parsePlacement(p);
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof KeymeshError, String(e));
    return e.code;
  }
}

test('parsePlacement: defaults, normalisation, and every bound refused with INVALID_REQUEST', () => {
  assert.deepEqual(parsePlacement(undefined), {});
  assert.deepEqual(parsePlacement(null), {});
  assert.deepEqual(parsePlacement({}), {});
  assert.deepEqual(parsePlacement({ regions: ['us-east', 'eu-west'], minLevel: 0, replicas: 64 }), {
    regions: ['eu-west', 'us-east'],
    minLevel: 0,
    replicas: 64,
  });
  assert.deepEqual(parsePlacement({ minLevel: 10 }), { minLevel: 10 });
  const bad: unknown[] = [
    'all',
    [],
    5,
    { region: ['eu'] },
    { regions: [] },
    { regions: 'eu-west' },
    { regions: ['eu-west', 'eu-west'] },
    { regions: [''] },
    { regions: ['eu west'] },
    { regions: ['-eu'] },
    { regions: ['x'.repeat(64)] },
    { regions: [1] },
    { regions: Array.from({ length: MAX_PLACEMENT_REGIONS + 1 }, (_, i) => `r${i}`) },
    { minLevel: -1 },
    { minLevel: 11 },
    { minLevel: 1.5 },
    { minLevel: '3' },
    { replicas: 0 },
    { replicas: 65 },
    { replicas: 2.5 },
    { replicas: null },
  ];
  for (const b of bad)
    assert.equal(
      code(() => parsePlacement(b)),
      'INVALID_REQUEST',
      JSON.stringify(b),
    );
  assert.equal(
    parsePlacement({ regions: Array.from({ length: 32 }, (_, i) => `r${i}`) }).regions?.length,
    32,
  );
});

test('property: the eligible set is exactly the live nodes satisfying the placement; refusal exactly when too few', () => {
  const r = prng(0x5eed);
  let refused = 0;
  let placed = 0;
  for (let i = 0; i < 5000; i++) {
    const nodes = randomCluster(r);
    const placement = randomPlacement(r);
    const live = nodes.filter((n) => n.live);
    const expected = live
      .filter(
        (n) =>
          (!placement.regions || placement.regions.includes(n.region)) &&
          n.level >= (placement.minLevel ?? 0),
      )
      .map((n) => n.id)
      .sort();
    const eligible = eligibleNodes(live, placement);
    assert.deepEqual(
      eligible.map((n) => n.id),
      expected,
    );
    for (const n of eligible) assert.ok(isEligible(n, placement));
    const need = placement.replicas ?? 1;
    if (expected.length < need) {
      assert.equal(
        code(() => placeReplicas(live, placement)),
        'PLACEMENT_UNSATISFIABLE',
      );
      refused++;
    } else {
      assert.deepEqual(
        placeReplicas(live, placement).map((n) => n.id),
        expected,
      );
      assert.ok(expected.length >= 1);
      placed++;
    }
  }
  assert.ok(refused > 500 && placed > 500, `both outcomes exercised (${refused}/${placed})`);
});

test('placement edge cases: no nodes, default placement takes every live node, duplicate ids refused', () => {
  assert.equal(
    code(() => placeReplicas([], {})),
    'PLACEMENT_UNSATISFIABLE',
  );
  const nodes = [
    { id: 'b', region: 'eu-west', level: 1 },
    { id: 'a', region: 'us-east', level: 5 },
  ];
  assert.deepEqual(
    placeReplicas(nodes, {}).map((n) => n.id),
    ['a', 'b'],
  );
  assert.deepEqual(
    placeReplicas(nodes, { minLevel: 5 }).map((n) => n.id),
    ['a'],
  );
  assert.equal(
    code(() => placeReplicas(nodes, { minLevel: 5, replicas: 2 })),
    'PLACEMENT_UNSATISFIABLE',
  );
  assert.equal(
    code(() => placeReplicas(nodes, { regions: ['ap-south'] })),
    'PLACEMENT_UNSATISFIABLE',
  );
  assert.equal(
    code(() => eligibleNodes([...nodes, { id: 'a', region: 'x', level: 1 }], {})),
    'INVALID_REQUEST',
  );
  assert.equal(
    code(() => eligibleNodes([{ id: 'a/b', region: 'x', level: 1 }], {})),
    'INVALID_REQUEST',
  );
});

test('property: forward order is the live holders but self, same region first, deterministic', () => {
  const r = prng(42);
  for (let i = 0; i < 5000; i++) {
    const holders = randomCluster(r);
    const selfRegion = REGIONS[Math.floor(r() * REGIONS.length)]!;
    const selfId = r() < 0.5 && holders.length ? holders[Math.floor(r() * holders.length)]!.id : undefined;
    const rotation = Math.floor(r() * 1000);
    const order = forwardOrder(holders, selfRegion, { selfId, rotation });
    const usable = holders.filter((h) => h.live && h.id !== selfId);
    assert.deepEqual(order.map((h) => h.id).sort(), usable.map((h) => h.id).sort(), 'a permutation');
    const firstFar = order.findIndex((h) => h.region !== selfRegion);
    if (firstFar >= 0)
      assert.ok(
        order.slice(firstFar).every((h) => h.region !== selfRegion),
        'every same-region holder comes first',
      );
    assert.deepEqual(
      forwardOrder([...holders].reverse(), selfRegion, { selfId, rotation }),
      order,
      'deterministic',
    );
    if (order.length === 0)
      assert.equal(
        code(() => pickForwardTarget(holders, selfRegion, { selfId, rotation })),
        'NO_LIVE_REPLICA',
      );
    else assert.equal(pickForwardTarget(holders, selfRegion, { selfId, rotation }).id, order[0]!.id);
  }
});

test('rotation spreads the first choice evenly over the nearest group', () => {
  const holders = [
    { id: 'eu-1', region: 'eu-west', level: 1 },
    { id: 'eu-2', region: 'eu-west', level: 1 },
    { id: 'eu-3', region: 'eu-west', level: 1 },
    { id: 'us-1', region: 'us-east', level: 1 },
  ];
  const counts = new Map<string, number>();
  for (let rotation = 0; rotation < 300; rotation++) {
    const first = pickForwardTarget(holders, 'eu-west', { rotation }).id;
    counts.set(first, (counts.get(first) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(counts), { 'eu-1': 100, 'eu-2': 100, 'eu-3': 100 });
  // Nobody near: the far group, rotated the same way.
  assert.equal(pickForwardTarget(holders, 'ap-south', { rotation: 3 }).id, 'us-1');
  assert.deepEqual(
    forwardOrder(holders, 'us-east', { rotation: 1 }).map((h) => h.id),
    ['us-1', 'eu-2', 'eu-3', 'eu-1'],
  );
  // Dead holders and self are skipped.
  assert.deepEqual(
    forwardOrder([...holders.slice(0, 3), { ...holders[3]!, live: false }], 'us-east', {
      selfId: 'eu-1',
    }).map((h) => h.id),
    ['eu-2', 'eu-3'],
  );
  assert.equal(
    code(() => forwardOrder(holders, 'bad region')),
    'INVALID_REQUEST',
  );
  assert.equal(
    code(() => forwardOrder(holders, 'eu-west', { rotation: -1 })),
    'INVALID_REQUEST',
  );
});
