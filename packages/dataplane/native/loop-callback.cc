#include "loop-callback.h"

namespace dtsudp {

bool call_from_loop(napi_env env, napi_async_context context, napi_ref recv_ref, napi_ref fn_ref, const double *args,
		    size_t argc)
{
	if (!recv_ref || !fn_ref || argc > 4)
		return false;
	napi_handle_scope scope;
	if (napi_open_handle_scope(env, &scope) != napi_ok)
		return false;
	napi_value recv = nullptr, fn = nullptr, argv[4], result;
	bool ok = napi_get_reference_value(env, recv_ref, &recv) == napi_ok && recv &&
		  napi_get_reference_value(env, fn_ref, &fn) == napi_ok && fn;
	for (size_t i = 0; ok && i < argc; i++)
		ok = napi_create_double(env, args[i], &argv[i]) == napi_ok;
	ok = ok && napi_make_callback(env, context, recv, fn, argc, argv, &result) == napi_ok;
	if (!ok) {
		bool pending = false;
		napi_value err;
		if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
		    napi_get_and_clear_last_exception(env, &err) == napi_ok)
			// Report it the way Node reports a throwing event listener; a
			// no-op when the environment can no longer run JavaScript.
			napi_fatal_exception(env, err);
	}
	napi_close_handle_scope(env, scope);
	return ok;
}

} // namespace dtsudp
