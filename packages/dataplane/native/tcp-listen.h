// A listening TCP socket made here rather than by Node: Node 20's net has
// no SO_REUSEPORT nor TCP_FASTOPEN, and dnsdist's addLocal(addr, {reusePort=true}) repeated
// means one more listener on the same address. The fd is handed to
// net.Server.listen({ fd }), which owns (and closes) it from then on.
#pragma once

#include <napi.h>

namespace dtsudp {

/*
 * openTcpListener({ family, address, port, reusePort, backlog,
 * fastOpenQueueSize }) -> { fd, port }: socket, SO_REUSEADDR (as Node sets
 * it), SO_REUSEPORT when asked, IPV6_V6ONLY cleared on "::", bind,
 * TCP_FASTOPEN with that queue size when above 0, listen. Throws an errno error
 * (.code, .op) and leaves nothing open on failure.
 */
Napi::Value OpenTcpListener(const Napi::CallbackInfo &info);

/*
 * openTcpFastOpenClient(family) -> fd: an unconnected, non-blocking TCP
 * socket with TCP_FASTOPEN_CONNECT set, for net.Socket({ fd }).connect().
 * Throws an errno error and leaves nothing open on failure.
 */
Napi::Value OpenTcpFastOpenClient(const Napi::CallbackInfo &info);

/*
 * dupFd(fd) -> fd: a close-on-exec duplicate of a socket this process has,
 * so that a listener outlives the thread that bound it (the control plane
 * keeps one for a data-plane worker started again). Throws an errno error.
 */
Napi::Value DupFd(const Napi::CallbackInfo &info);

} // namespace dtsudp
