// Calling JavaScript from a libuv callback (a socket became readable): what
// the UDP socket and the TCP streams share.
#pragma once

#include <napi.h>

#include <cstddef>

namespace dtsudp {

/*
 * Call `fn` on `recv` with numeric arguments, as Node calls an event
 * listener from the loop: in `context` (MakeCallback, so microtasks run
 * after), with an exception nobody can catch reported as uncaught. Raw
 * N-API on purpose: node-addon-api turns a failed call into a rethrow, and
 * rethrowing is fatal while a worker is being terminated, which can happen
 * in the middle of this very call. False if the call did not complete.
 */
bool call_from_loop(napi_env env, napi_async_context context, napi_ref recv, napi_ref fn, const double *args,
		    size_t argc);

} // namespace dtsudp
