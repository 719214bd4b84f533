// -u/-g: user and group look-ups through NSS, and the switch to them that
// keeps chosen capabilities (node's process.setuid drops them all).
#pragma once

#include <napi.h>

namespace dtsudp {

/* lookupUser(name) -> { uid, gid } | null */
Napi::Value LookupUser(const Napi::CallbackInfo &info);
/* lookupGroup(name) -> gid | null */
Napi::Value LookupGroup(const Napi::CallbackInfo &info);
/* switchIds(uid | -1, gid | -1, keepLow, keepHigh) -> effective capabilities { low, high } */
Napi::Value SwitchIds(const Napi::CallbackInfo &info);

} // namespace dtsudp
