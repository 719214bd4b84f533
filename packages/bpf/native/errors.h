// Errors thrown to JavaScript carry the errno name and the failing
// operation so the TypeScript layer can turn them into typed errors with
// advice. Raw numbers never reach users on their own.
#pragma once

#include <napi.h>
#include <string>

namespace dtsbpf {

/* Build (not throw) an Error with .code, .errno, .op and optional .log. */
Napi::Error make_errno_error(Napi::Env env, const std::string &op, int err,
			     const std::string &log = "");

/* Throw and return undefined, for use as `return throw_errno(...)`. */
Napi::Value throw_errno(Napi::Env env, const std::string &op, int err,
			const std::string &log = "");

Napi::Value throw_type(Napi::Env env, const std::string &msg);

} // namespace dtsbpf
