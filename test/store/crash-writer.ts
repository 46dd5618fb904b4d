// Child process for the SQLite crash test (sqlite.test.ts): writes as fast as it can and prints
// each write's id on stdout only after the write's promise resolved. The parent kills it with
// SIGKILL mid-burst and checks that every printed id is in the file. Not a test file itself.
//
// Each id i writes, alternately, a put of `c/i` or a txn putting `c/i` and its twin `t/i` (the
// parent checks both or neither exist). stdout is a pipe, which Node writes synchronously on Linux,
// so a printed id has left this process before the next write starts.
import { openSqliteStore } from '../../src/store/sqlite.js';

const path = process.argv[2];
if (!path) throw new Error('usage: crash-writer.js DB_PATH');
const store = await openSqliteStore(path);
const pad = 'x'.repeat(2000);
for (let i = 0; ; i++) {
  const value = JSON.stringify({ i, pad });
  if (i % 2 === 0) await store.put(`c/${i}`, value);
  else {
    const res = await store.txn(
      [{ key: `c/${i}`, modRevision: 0 }],
      [
        { type: 'put', key: `c/${i}`, value },
        { type: 'put', key: `t/${i}`, value },
      ],
    );
    if (!res.ok) throw new Error(`txn ${i} lost its compare`);
  }
  process.stdout.write(`${i}\n`);
}
