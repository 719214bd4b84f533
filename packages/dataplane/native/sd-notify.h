// sd_notify(3)'s protocol without libsystemd: one datagram to $NOTIFY_SOCKET.
#pragma once

#include <napi.h>

namespace dtsudp {

/* sdNotify(socketPath, message): '@' at the start of the path means the abstract namespace. */
Napi::Value SdNotify(const Napi::CallbackInfo &info);

} // namespace dtsudp
