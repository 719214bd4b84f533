#include "errors.h"

#include <cstring>

namespace dtsudp {

const char *errno_name(int err)
{
	if (err < 0)
		err = -err;
	const char *name = strerrorname_np(err);
	return name ? name : "EUNKNOWN";
}

Napi::Error make_errno_error(Napi::Env env, const std::string &op, int err)
{
	if (err < 0)
		err = -err;
	Napi::Error e = Napi::Error::New(env, op + ": " + strerror(err));
	e.Set("code", Napi::String::New(env, errno_name(err)));
	e.Set("errno", Napi::Number::New(env, err));
	e.Set("op", Napi::String::New(env, op));
	return e;
}

Napi::Value throw_errno(Napi::Env env, const std::string &op, int err)
{
	make_errno_error(env, op, err).ThrowAsJavaScriptException();
	return env.Undefined();
}

Napi::Value throw_type(Napi::Env env, const std::string &msg)
{
	Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
	return env.Undefined();
}

} // namespace dtsudp
