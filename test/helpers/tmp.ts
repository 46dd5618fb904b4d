// Temporary directories for tests: each under the OS temp dir with a recognisable prefix, removed
// by `cleanup()` and, as a last resort, when the test process exits (also after a failed test).
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  dir: string;
  cleanup: () => Promise<void>;
}

const live = new Set<string>();
let hooked = false;

function removeAllSync(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}

/** Creates a fresh private (0700) directory. Set KEYMESH_KEEP_TMP=1 to keep it for inspection. */
export function makeTempDir(label = 'test'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), `keymesh-${label.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
  const keep = process.env.KEYMESH_KEEP_TMP === '1';
  if (!keep) {
    live.add(dir);
    if (!hooked) {
      hooked = true;
      process.once('exit', removeAllSync);
    }
  }
  return {
    dir,
    cleanup: async () => {
      if (keep) return;
      live.delete(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` with a temporary directory and removes it afterwards, whatever `fn` does. */
export async function withTempDir<T>(label: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const t = makeTempDir(label);
  try {
    return await fn(t.dir);
  } finally {
    await t.cleanup();
  }
}
