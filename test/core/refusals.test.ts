// The aggregate of unauthenticated refusals: counts per source, bounded in the sources it names,
// one entry per flush and none when there was nothing to count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditInput } from '../../src/audit/chain.js';
import { RefusalAggregator } from '../../src/audit/refusals.js';

test('counts per source in one entry; past the cap the rest are summed; an empty interval writes nothing', async () => {
  const written: AuditInput[] = [];
  const agg = new RefusalAggregator({
    append: (i) => {
      written.push(i);
      return Promise.resolve();
    },
    maxSources: 2,
  });
  await agg.flush();
  assert.equal(written.length, 0);
  for (const s of ['10.0.0.1', '10.0.0.1', '10.0.0.2', '10.0.0.3', undefined, 'x'.repeat(100)]) agg.record(s);
  await agg.flush();
  assert.equal(written.length, 1);
  const d = written[0]!.details!;
  assert.equal(written[0]!.action, 'auth.refused');
  assert.equal(written[0]!.outcome, 'denied');
  assert.equal(d.count, 6);
  assert.deepEqual(d.bySource, { '10.0.0.1': 2, '10.0.0.2': 1 });
  assert.equal(d.otherSources, 3);
  agg.record('10.0.0.9');
  await agg.close();
  assert.equal(written.length, 2, 'close writes what is pending');
  assert.deepEqual(written[1]!.details!.bySource, { '10.0.0.9': 1 });
  await agg.close();
  assert.equal(written.length, 2);
});
