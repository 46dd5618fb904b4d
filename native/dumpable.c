/*
 * Marks the process non-dumpable (Linux prctl PR_SET_DUMPABLE 0): no core dump, no ptrace
 * attach and no /proc/PID/mem read by other processes of the same user. Node has no binding for
 * prctl, so this is the one piece of native code the node loads (src/process/harden.ts), built by
 * scripts/build-native.mjs with the system C compiler against Node-API (one build serves every
 * Node version). Returns PR_GET_DUMPABLE read back after the call, or -1 if the call failed.
 */
#include <node_api.h>
#include <sys/prctl.h>

static napi_value set_non_dumpable(napi_env env, napi_callback_info info) {
  (void)info;
  int result = -1;
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0) result = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  napi_value v;
  napi_create_int32(env, result, &v);
  return v;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "setNonDumpable", NAPI_AUTO_LENGTH, set_non_dumpable, NULL, &fn);
  napi_set_named_property(env, exports, "setNonDumpable", fn);
  return exports;
}
