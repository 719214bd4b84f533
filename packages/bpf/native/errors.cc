#include "errors.h"

#include <cstring>

namespace dtsbpf {

Napi::Error make_errno_error(Napi::Env env, const std::string &op, int err,
			     const std::string &log)
{
	if (err < 0)
		err = -err;
	const char *name = strerrorname_np(err);
	std::string msg = op + ": " + strerror(err);
	Napi::Error e = Napi::Error::New(env, msg);
	e.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
	e.Set("errno", Napi::Number::New(env, err));
	e.Set("op", Napi::String::New(env, op));
	if (!log.empty())
		e.Set("log", Napi::String::New(env, log));
	return e;
}

Napi::Value throw_errno(Napi::Env env, const std::string &op, int err,
			const std::string &log)
{
	make_errno_error(env, op, err, log).ThrowAsJavaScriptException();
	return env.Undefined();
}

Napi::Value throw_type(Napi::Env env, const std::string &msg)
{
	Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
	return env.Undefined();
}

} // namespace dtsbpf
