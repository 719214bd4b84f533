// Errors thrown to JavaScript carry the errno name and the failing
// operation, so the TypeScript layer can turn them into typed errors with
// a hint. Raw numbers never reach users on their own.
#pragma once

#include <napi.h>
#include <string>

namespace dtsudp {

/* errno name such as "EADDRINUSE", or "EUNKNOWN" for numbers libc cannot name. */
const char *errno_name(int err);

/* Build (not throw) an Error with .code, .errno and .op. */
Napi::Error make_errno_error(Napi::Env env, const std::string &op, int err);

/* Throw and return undefined, for use as `return throw_errno(...)`. */
Napi::Value throw_errno(Napi::Env env, const std::string &op, int err);

Napi::Value throw_type(Napi::Env env, const std::string &msg);

} // namespace dtsudp
