// Process-wide hardening of a node that holds key material (the enclave's worker threads share
// this process, so what is set here covers them too).
//
// - SIGUSR1: Node opens an unauthenticated inspector on 127.0.0.1:9229 when it receives SIGUSR1,
//   and anything attached to it can read every thread's memory. A JS listener for the signal takes
//   the signal away from that handler (checked on Node 20, 22 and 24: test/e2e/process.test.ts),
//   so the listener is installed as this module loads, before any key is unsealed.
// - Core dumps: Linux's /proc/self/coredump_filter set to 0 leaves every memory mapping out of a
//   core dump, so a crash (or a signal that dumps core) writes no key material to disk. Marking
//   the process non-dumpable outright (prctl PR_SET_DUMPABLE) needs native code Node does not
//   offer; coredump_filter is the part a process can set for itself without it.
import { writeFileSync } from 'node:fs';
import { logLine } from '../log/sink.js';

let installed = false;

export interface Hardening {
  inspectorSignalDisabled: boolean;
  /** Linux only: core dumps carry no memory of this process. */
  coreDumpsWithoutMemory: boolean;
}

export function hardenProcess(): Hardening {
  if (!installed) {
    installed = true;
    process.on('SIGUSR1', () =>
      logLine('keymesh: SIGUSR1 ignored: this process opens no debugger on a signal'),
    );
  }
  let coreDumpsWithoutMemory = false;
  if (process.platform === 'linux') {
    try {
      writeFileSync('/proc/self/coredump_filter', '0');
      coreDumpsWithoutMemory = true;
    } catch {
      // No procfs (some sandboxes): nothing more a process can do for itself here.
    }
  }
  return { inspectorSignalDisabled: true, coreDumpsWithoutMemory };
}

hardenProcess();
