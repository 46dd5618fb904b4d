// The error table (src/error-table.ts) is the one source of every interface's error mapping: each
// code has one row, and the HTTP statuses, JSON-RPC codes, CLI exit codes, audit outcomes and
// KMIP reasons that the adapters use are the table's, and agree with API.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApiErrors, STATUS, errorBody } from '../../src/api/http/errors.js';
import { RPC_CODE, rpcError } from '../../src/api/rpc/errors.js';
import { exitFor, EXIT } from '../../src/cli/client.js';
import { callerMessage, ERROR_TABLE, KMIP_RESULT_REASON, kmipResultReason } from '../../src/error-table.js';
import { ErrorCodes, type ErrorCode } from '../../src/errors.js';

const codes = [...ErrorCodes];

/** API.md, "HTTP conventions", "Policies" and "Cluster": the statuses the contract names. */
const DOCUMENTED: Partial<Record<ErrorCode, number>> = {
  INVALID_REQUEST: 400,
  MALFORMED_JSON: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  POLICY_DENIED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_STATE: 409,
  PLACEMENT_UNSATISFIABLE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NO_LIVE_REPLICA: 503,
};

test('every error code has exactly one row, frozen', () => {
  assert.deepEqual(Object.keys(ERROR_TABLE).sort(), codes.slice().sort());
  assert.ok(Object.isFrozen(ERROR_TABLE));
  for (const code of codes) {
    const row = ERROR_TABLE[code];
    assert.ok(Object.isFrozen(row), code);
    assert.ok(Number.isInteger(row.http) && row.http >= 400 && row.http <= 599, code);
    assert.ok(Number.isInteger(row.rpc), code);
    assert.ok(row.audit === 'denied' || row.audit === 'error', code);
    assert.equal(typeof row.exposeMessage, 'boolean', code);
    assert.match(row.message, /^[A-Z].*\.$/, `${code}: a sentence`);
    assert.ok((Object.values(EXIT) as number[]).includes(row.exit), code);
  }
});

test('the HTTP statuses are the table’s, and those API.md names are as documented', () => {
  for (const code of codes) {
    assert.equal(STATUS[code], ERROR_TABLE[code].http, code);
    assert.equal(errorBody(code, 'x').error.code, code);
  }
  for (const [code, status] of Object.entries(DOCUMENTED))
    assert.equal(STATUS[code as ErrorCode], status, code);
  // Malformed input is 400, never 500: every code about the request itself is a 4xx.
  for (const code of ['INVALID_REQUEST', 'MALFORMED_JSON', 'INVALID_KEY', 'UNSUPPORTED'] as const)
    assert.equal(STATUS[code], 400, code);
});

test('the JSON-RPC codes are the table’s, with the Keymesh code and HTTP status in data', () => {
  for (const code of codes) {
    assert.equal(RPC_CODE[code], ERROR_TABLE[code].rpc, code);
    const e = rpcError(code, 'x');
    assert.equal(e.code, ERROR_TABLE[code].rpc, code);
    assert.deepEqual(e.data, { code, status: ERROR_TABLE[code].http });
  }
  assert.equal(RPC_CODE.MALFORMED_JSON, -32700);
  assert.equal(RPC_CODE.INVALID_REQUEST, -32602);
  assert.equal(RPC_CODE.INTERNAL, -32603);
  assert.equal(RPC_CODE.UNAUTHENTICATED, 4100);
  assert.equal(RPC_CODE.POLICY_DENIED, -32003);
});

test('the CLI exits with the table’s code, and an answer without a Keymesh code exits the same by its status', () => {
  for (const code of codes) {
    assert.equal(exitFor(ERROR_TABLE[code].http, code), ERROR_TABLE[code].exit, code);
    // A proxy's answer with the same status (no Keymesh code) exits the same way.
    assert.equal(exitFor(ERROR_TABLE[code].http), ERROR_TABLE[code].exit, code);
    assert.equal(
      exitFor(ERROR_TABLE[code].http, `HTTP_${ERROR_TABLE[code].http}`),
      ERROR_TABLE[code].exit,
      code,
    );
  }
  assert.equal(exitFor(502, 'HTTP_502'), EXIT.unavailable);
  assert.equal(exitFor(418), EXIT.error);
  assert.equal(exitFor(404, 'toString'), EXIT.notFound, 'an inherited name is no code');
});

test('audited as denied: a refusal of the caller; every other failure is an error', () => {
  const denied = codes.filter((c) => ERROR_TABLE[c].audit === 'denied').sort();
  assert.deepEqual(denied, ['FORBIDDEN', 'INVALID_STATE', 'POLICY_DENIED', 'UNAUTHENTICATED']);
});

test('KMIP result reasons are the spec’s values; a 1.x session never gets a 2.x-only reason', () => {
  assert.equal(KMIP_RESULT_REASON.ItemNotFound.value, 0x01);
  assert.equal(KMIP_RESULT_REASON.AuthenticationNotSuccessful.value, 0x03);
  assert.equal(KMIP_RESULT_REASON.PermissionDenied.value, 0x0c);
  assert.equal(KMIP_RESULT_REASON.WrongKeyLifecycleState.value, 0x43);
  assert.equal(KMIP_RESULT_REASON.GeneralFailure.value, 0x100);
  const values = Object.values(KMIP_RESULT_REASON).map((r) => r.value);
  assert.equal(new Set(values).size, values.length, 'distinct values');
  for (const code of codes) {
    const row = ERROR_TABLE[code];
    assert.ok(Object.hasOwn(KMIP_RESULT_REASON, row.kmip), code);
    if (KMIP_RESULT_REASON[row.kmip].since === 2) {
      assert.ok(row.kmip1, `${code}: a 2.x-only reason needs a 1.x one`);
      assert.equal(KMIP_RESULT_REASON[row.kmip1].since, 1, code);
    } else assert.equal(row.kmip1, undefined, `${code}: kmip1 only beside a 2.x-only reason`);
    const v1 = kmipResultReason(code, 1);
    assert.equal(KMIP_RESULT_REASON[v1.name].since, 1, code);
    assert.equal(v1.value, KMIP_RESULT_REASON[v1.name].value);
    assert.equal(kmipResultReason(code, 2).name, row.kmip, code);
  }
  assert.deepEqual(kmipResultReason('INVALID_STATE', 2), { name: 'WrongKeyLifecycleState', value: 0x43 });
  assert.deepEqual(kmipResultReason('INVALID_STATE', 1), { name: 'PermissionDenied', value: 0x0c });
});

test('a message the table does not expose is replaced by the code’s own, in HTTP and JSON-RPC bodies', () => {
  const hidden = codes.filter((c) => !ERROR_TABLE[c].exposeMessage);
  assert.ok(hidden.includes('INTERNAL') && hidden.includes('ENCLAVE_FAILURE'));
  for (const code of codes) {
    const secret = 'sealing check failed at 0xdeadbeef';
    const expected = ERROR_TABLE[code].exposeMessage ? secret : ERROR_TABLE[code].message;
    assert.equal(callerMessage(code, secret), expected, code);
    assert.equal(errorBody(code, secret).error.message, expected, code);
    assert.equal(rpcError(code, secret).message, expected, code);
  }
});

test('OpenAPI error responses come from the codes a route answers, one per status', () => {
  const r = openApiErrors('FORBIDDEN', 'POLICY_DENIED', 'NOT_FOUND');
  assert.deepEqual(Object.keys(r).sort(), ['403', '404']);
  assert.equal(r[403]!.description, 'Error: FORBIDDEN or POLICY_DENIED');
  assert.equal(r[403]!.$ref, 'Error#');
});
