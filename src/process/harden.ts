// Process-wide hardening of a node that holds key material (the enclave's worker threads share
// this process, so what is set here covers them too).
//
// - SIGUSR1: Node opens an unauthenticated inspector on 127.0.0.1:9229 when it receives SIGUSR1,
//   and anything attached to it can read every thread's memory. A JS listener for the signal takes
//   the signal away from that handler (checked on Node 20, 22 and 24: test/e2e/process.test.ts),
//   so the listener is installed as this module loads, before any key is unsealed.
// - Non-dumpable (Linux): prctl(PR_SET_DUMPABLE, 0) through the one native piece
//   (native/dumpable.c, built by scripts/build-native.mjs): no core dump, no ptrace attach and no
//   /proc/PID/mem for other processes of the same user. Where it was not built, the metric says so.
// - Core dumps (Linux, no native code needed): /proc/self/coredump_filter set to 0 leaves every
//   memory mapping out of a core dump, so even a dumpable node writes no key memory to disk.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { logLine } from '../log/sink.js';

export interface Hardening {
  inspectorSignalDisabled: boolean;
  /** Linux: PR_GET_DUMPABLE read back as 0. */
  nonDumpable: boolean;
  /** Linux: core dumps carry no memory of this process. */
  coreDumpsWithoutMemory: boolean;
}

let done: Hardening | undefined;

/** Where the build puts the addon, relative to this module in dist/src/process/. */
const ADDON = '../../native/dumpable.node';

function setNonDumpable(): boolean {
  try {
    const addon = createRequire(import.meta.url)(ADDON) as { setNonDumpable(): number };
    return addon.setNonDumpable() === 0;
  } catch {
    return false;
  }
}

export function hardenProcess(): Hardening {
  if (done) return done;
  process.on('SIGUSR1', () =>
    logLine('keymesh: SIGUSR1 ignored: this process opens no debugger on a signal'),
  );
  let nonDumpable = false;
  let coreDumpsWithoutMemory = false;
  if (process.platform === 'linux') {
    nonDumpable = setNonDumpable();
    try {
      writeFileSync('/proc/self/coredump_filter', '0');
      coreDumpsWithoutMemory = true;
    } catch {
      // No procfs (some sandboxes): nothing more a process can do for itself here.
    }
  }
  done = { inspectorSignalDisabled: true, nonDumpable, coreDumpsWithoutMemory };
  return done;
}

// At load: before any key is unsealed. Whether it worked is the metric keymesh_process_dumpable
// (src/metrics.ts), not a line on stderr, which a starting node keeps for its failures.
hardenProcess();
