// The software enclave's side of the cluster integrity key (enclave.ts IntegrityKeys): where the
// sealed key lives (DATA_DIR/integrity.sealed, written whole or not at all) and the calls that
// make, adopt, install, wrap and use it. The key itself exists unsealed only in the workers
// (worker/integrity.ts); the sealed blob goes with every call, so a replacement worker needs
// nothing handed over.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeymeshError } from '../../errors.js';
import type {
  IntegrityCopy,
  IntegrityKeys,
  RecordMacRequest,
  WrappedIntegrityCopy,
  WrapRequest,
} from '../enclave.js';
import type { Call, CallResults, ClusterContext } from './protocol.js';

/** The sealed integrity key in the data dir (sealed like a key: useless without the sealing key). */
export const INTEGRITY_FILE = 'integrity.sealed';

type Caller = <K extends Call['op']>(call: Extract<Call, { op: K }>) => Promise<CallResults[K]>;

const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');

export class IntegrityKeyFile implements IntegrityKeys {
  #sealed: Uint8Array | undefined;
  #check: string | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly call: Caller,
    private readonly ctx: () => { cluster?: ClusterContext },
  ) {}

  /** At start: the key kept in the data dir, if any, checked to open; else, when asked, a new one. */
  async load(opts: { create: boolean }): Promise<void> {
    const file = join(this.dataDir, INTEGRITY_FILE);
    if (existsSync(file)) {
      const sealed = new Uint8Array(readFileSync(file));
      const r = await this.call({ op: 'integrity', args: { sealed } });
      this.#sealed = sealed;
      this.#check = hex(r.check);
    } else if (opts.create) {
      await this.install((await this.create()).sealed);
    }
  }

  check(): string | undefined {
    return this.#check;
  }

  async create(): Promise<{ sealed: Uint8Array; check: string }> {
    const r = await this.call({ op: 'integrity', args: {} });
    return { sealed: r.sealed, check: hex(r.check) };
  }

  async adopt(copy: IntegrityCopy): Promise<{ sealed: Uint8Array; check: string }> {
    const r = await this.call({
      op: 'integrityAdopt',
      args: { wrapped: copy.wrapped, tag: copy.tag, sender: copy.sender, ...this.ctx() },
    });
    return { sealed: r.sealed, check: hex(r.check) };
  }

  async install(sealed: Uint8Array): Promise<string> {
    const r = await this.call({ op: 'integrity', args: { sealed } });
    const file = join(this.dataDir, INTEGRITY_FILE);
    // Written whole or not at all: a torn file would leave the node unable to check any record.
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, sealed, { mode: 0o600 });
    renameSync(tmp, file);
    this.#sealed = sealed;
    this.#check = hex(r.check);
    return this.#check;
  }

  wrap(req: WrapRequest): Promise<WrappedIntegrityCopy[]> {
    return this.call({ op: 'integrityWrap', args: { integrity: this.#held(), req, ...this.ctx() } });
  }

  mac(record: RecordMacRequest): Promise<Uint8Array> {
    try {
      return this.call({ op: 'recordMac', args: { integrity: this.#held(), record } });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  verify(record: RecordMacRequest, mac: Uint8Array): Promise<boolean> {
    try {
      return this.call({ op: 'recordVerify', args: { integrity: this.#held(), record, mac } });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #held(): Uint8Array {
    if (!this.#sealed)
      throw new KeymeshError(
        'UNAVAILABLE',
        'This node does not hold the cluster integrity key yet; it cannot check stored records.',
      );
    return this.#sealed;
  }
}
