// GET /v1/keys: keys in creation order (ids are time-ordered), filtered by name and state, paged
// by an opaque cursor (the last id returned). A token narrowed to keyIds sees only those keys.
import { invalid } from '../../errors.js';
import { isId } from '../../util/ids.js';
import { mayUseKey } from '../auth/scopes.js';
import type { OpContext } from '../context.js';
import { KEYS_PREFIX, keyKey, nameKey } from '../../store/layout.js';
import { scan } from '../../store/scan.js';
import { type KeyRecord, openKeyRecord, toKeyView, type KeyView } from './record.js';
import { type KeyState, KeyStates } from './states.js';

export interface ListKeysInput {
  name?: string;
  state?: string;
  limit?: number | string;
  cursor?: string;
}

const SCAN_PAGE = 500;

export async function listKeys(
  ctx: OpContext,
  input: ListKeysInput,
): Promise<{ keys: KeyView[]; nextCursor?: string }> {
  const limit = input.limit === undefined ? 100 : Number(input.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalid('limit must be a whole number from 1 to 1000');
  if (input.state !== undefined && !KeyStates.includes(input.state as KeyState))
    throw invalid(`state must be one of ${KeyStates.join(', ')}`);
  if (input.cursor !== undefined && !isId(input.cursor)) throw invalid('cursor is not one this node issued');
  const want = (r: KeyRecord) =>
    mayUseKey(ctx.caller, r.id) && (input.state === undefined || r.state === input.state);

  const store = ctx.deps.store;
  if (input.name !== undefined) {
    const idx = await store.get(nameKey(input.name));
    const rec = idx ? await store.get(keyKey(idx.value)) : undefined;
    const r = rec ? await openKeyRecord(store, idx!.value, rec.value) : undefined;
    return {
      keys: r && want(r) && (input.cursor === undefined || r.id > input.cursor) ? [toKeyView(r)] : [],
    };
  }

  const keys: KeyView[] = [];
  const after = input.cursor === undefined ? undefined : keyKey(input.cursor);
  for await (const e of scan(store, KEYS_PREFIX, {
    ...(after === undefined ? {} : { after }),
    page: SCAN_PAGE,
  })) {
    // Every record is checked (a record no node wrote fails the listing, RECORD_INTEGRITY).
    const r = await openKeyRecord(store, e.key.slice(KEYS_PREFIX.length), e.value);
    if (!want(r)) continue;
    if (keys.length === limit) return { keys, nextCursor: keys[keys.length - 1]!.id };
    keys.push(toKeyView(r));
  }
  return { keys };
}
