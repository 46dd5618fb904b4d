// An in-process core on real parts (SQLite file, software enclave worker pool, audit writer
// thread) for tests that need to reach inside a node: count what the enclave is asked to do, or
// break the audit log for real. A policy (the signing pipeline's seam, CoreDeps.policy) and a
// cluster can be given; without them the core is the single node's, pass-through policy.
import { join } from 'node:path';
import { AuditLog } from '../../src/audit/log.js';
import { Core } from '../../src/core/core.js';
import type { ClusterDeps, Credential } from '../../src/core/context.js';
import type { Policy } from '../../src/core/pipeline/signing.js';
import { bootstrapAdminToken } from '../../src/core/tokens/create.js';
import type { Enclave } from '../../src/enclave/enclave.js';
import { createSoftwareEnclave } from '../../src/enclave/software/pool.js';
import { NodeMetrics } from '../../src/metrics.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from './node.js';

export interface TestCore {
  dir: string;
  core: Core;
  audit: AuditLog;
  /** What the enclave was asked, by operation. */
  calls: { sign: number; evict: string[] };
  /**
   * Set to make the enclave's next signatures fail with this error (after the call reached it,
   * counted in `calls.sign`): a failure during a signing pipeline's execute step.
   */
  faults: { sign?: Error };
  adminCredential(): Promise<Credential>;
  close(): Promise<void>;
}

export interface TestCoreOptions {
  auditBusyTimeoutMs?: number;
  /** Judges every signing intent; the pass-through when absent (as on a node). */
  policy?: Policy;
  cluster?: ClusterDeps;
}

export async function openTestCore(opts: TestCoreOptions = {}): Promise<TestCore> {
  const dir = tempDir();
  const store = await openSqliteStore(join(dir, 'keymesh.db'));
  const real = await createSoftwareEnclave({ dataDir: dir, dev: true, threads: 1 });
  const calls = { sign: 0, evict: [] as string[] };
  const faults: TestCore['faults'] = {};
  // The real enclave, counted: every call goes through to the worker pool.
  const enclave: Enclave = {
    kind: real.kind,
    generate: (r) => real.generate(r),
    importKey: (r) => real.importKey(r),
    importMnemonic: (r) => real.importMnemonic(r),
    derive: (k, p) => real.derive(k, p),
    sign: (k, r) => {
      calls.sign++;
      return faults.sign ? Promise.reject(faults.sign) : real.sign(k, r);
    },
    verify: (r) => real.verify(r),
    macRecord: (r) => real.macRecord(r),
    verifyRecord: (r, mac) => real.verifyRecord(r, mac),
    close: () => real.close(),
    evict: async (keyId, version) => {
      calls.evict.push(keyId);
      await real.evict(keyId, version);
    },
  };
  const audit = await AuditLog.open({
    path: join(dir, 'audit.db'),
    nodeId: 'n1',
    ...(opts.auditBusyTimeoutMs === undefined ? {} : { busyTimeoutMs: opts.auditBusyTimeoutMs }),
  });
  const core = new Core({
    nodeId: 'n1',
    version: 'test',
    store,
    enclave,
    audit,
    metrics: new NodeMetrics(),
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.cluster ? { cluster: opts.cluster } : {}),
  });
  return {
    dir,
    core,
    audit,
    calls,
    faults,
    adminCredential: async () => ({
      principal: { kind: 'token', token: (await bootstrapAdminToken(core.deps)).token },
      requestId: 'test',
    }),
    close: async () => {
      await audit.close();
      await enclave.close();
      await store.close();
    },
  };
}
