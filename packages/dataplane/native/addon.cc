// Entry point of the proxy's I/O addon: batched UDP receive and send
// (recvmmsg/sendmmsg) on sockets the addon owns, polled through the Node
// event loop, and plain TCP streams for DNS over TCP (tcp-stream.cc). Validation, typed errors and per-datagram dispatch live in
// TypeScript (src/io/native-udp-endpoint.ts). It also carries -u/-g's
// user switch (privileges.cc, used by src/cli/privileges.ts) and systemd's
// readiness notification (sd-notify.cc, src/cli/service-notify.ts).

#include <dlfcn.h>

#include "errors.h"
#include "privileges.h"
#include "sd-notify.h"
#include "tcp-listen.h"
#include "tcp-stream.h"
#include "udp-socket.h"

static Napi::Value ErrnoName(const Napi::CallbackInfo &info)
{
	int err = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
	return Napi::String::New(info.Env(), dtsudp::errno_name(err));
}

/*
 * Node unloads the addons a worker thread loaded when the worker's
 * environment is torn down, and only then lets the worker's loop run the
 * close callbacks of the handles our finalizers closed (UDP sockets, TCP
 * streams): code in this library. Were it the last environment holding the
 * library, those callbacks would jump into unmapped memory. Mark it
 * RTLD_NODELETE so it stays mapped until the process ends.
 */
static void pin_library(void)
{
	Dl_info self;
	if (dladdr(reinterpret_cast<void *>(&pin_library), &self) && self.dli_fname)
		dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

static Napi::Object Init(Napi::Env env, Napi::Object exports)
{
	pin_library();
	exports.Set("UdpSocket", dtsudp::UdpSocket::Define(env));
	exports.Set("errnoName", Napi::Function::New(env, ErrnoName, "errnoName"));
	exports.Set("lookupUser", Napi::Function::New(env, dtsudp::LookupUser, "lookupUser"));
	exports.Set("lookupGroup", Napi::Function::New(env, dtsudp::LookupGroup, "lookupGroup"));
	exports.Set("switchIds", Napi::Function::New(env, dtsudp::SwitchIds, "switchIds"));
	exports.Set("openTcpListener", Napi::Function::New(env, dtsudp::OpenTcpListener, "openTcpListener"));
	exports.Set("dupFd", Napi::Function::New(env, dtsudp::DupFd, "dupFd"));
	exports.Set("openTcpFastOpenClient", Napi::Function::New(env, dtsudp::OpenTcpFastOpenClient, "openTcpFastOpenClient"));
	exports.Set("TcpStream", dtsudp::TcpStream::Define(env));
	exports.Set("TcpAcceptor", dtsudp::TcpAcceptor::Define(env));
	exports.Set("connectTcp", Napi::Function::New(env, dtsudp::ConnectTcp, "connectTcp"));
	exports.Set("sdNotify", Napi::Function::New(env, dtsudp::SdNotify, "sdNotify"));
	exports.Set("maxBatch", Napi::Number::New(env, dtsudp::kMaxBatch));
	exports.Set("statCount", Napi::Number::New(env, dtsudp::kStatCount));
	return exports;
}

NODE_API_MODULE(dnsdist_udp, Init)
