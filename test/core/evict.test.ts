// A key that stops being allowed to sign is evicted from the enclave's cache of unsealed keys in
// the same call, through the real worker pool (counted, not mocked).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/log.js';
import { Core } from '../../src/core/core.js';
import { bootstrapAdminToken } from '../../src/core/tokens/create.js';
import type { Enclave } from '../../src/enclave/enclave.js';
import { createSoftwareEnclave } from '../../src/enclave/software/pool.js';
import { NodeMetrics } from '../../src/metrics.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/node.js';

let store: Store;
let enclave: Enclave;
let audit: AuditLog;
let core: Core;
const evicted: string[] = [];

before(async () => {
  const dir = tempDir();
  store = await openSqliteStore(join(dir, 'keymesh.db'));
  const real = await createSoftwareEnclave({ dataDir: dir, dev: true, threads: 1 });
  enclave = {
    kind: real.kind,
    generate: (r) => real.generate(r),
    importKey: (r) => real.importKey(r),
    sign: (k, r) => real.sign(k, r),
    verify: (r) => real.verify(r),
    close: () => real.close(),
    evict: async (keyId, version) => {
      evicted.push(keyId);
      await real.evict(keyId, version);
    },
  };
  audit = await AuditLog.open({ path: join(dir, 'audit.db'), nodeId: 'n1' });
  core = new Core({ nodeId: 'n1', version: 'test', store, enclave, audit, metrics: new NodeMetrics() });
});
after(async () => {
  await audit.close();
  await enclave.close();
  await store.close();
});

test('deactivate, compromise and destroy evict; reactivation does not', async () => {
  const { token } = await bootstrapAdminToken(core.deps);
  const cred = { bearer: token, requestId: 'r' };
  const k = await core.createKey(cred, { name: 'ev', algorithm: 'ed25519' });
  await core.sign(cred, k.id, { message: '0x01' });
  await core.setKeyState(cred, k.id, 'deactivated');
  assert.deepEqual(evicted, [k.id]);
  await core.setKeyState(cred, k.id, 'active');
  assert.deepEqual(evicted, [k.id]);
  await core.setKeyState(cred, k.id, 'compromised');
  await core.destroyKey(cred, k.id);
  assert.deepEqual(evicted, [k.id, k.id, k.id]);
});
