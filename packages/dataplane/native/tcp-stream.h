// TCP sockets the addon owns, for DNS over TCP without Node's stream
// machinery: an acceptor that hands JavaScript each accepted fd, and a
// stream over one connected fd. A stream reads into a buffer JavaScript
// shared at creation and reports through one callback, (kind, n): data
// (n bytes at the start of the buffer), drained (the write queue emptied),
// connected (a connect in progress finished) or closed (n: 0 at the
// peer's end of stream, else the errno). Writes go straight to the kernel;
// what it does not take is queued natively and sent as the socket allows.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace dtsudp {

/* The callback's kinds (mirrored in native-tcp-stream.ts). */
enum TcpEvent { kTcpData = 0, kTcpDrained = 1, kTcpConnected = 2, kTcpClosed = 3 };

/* Reads per readiness event before yielding to the event loop (level-triggered: the rest wakes us again). */
constexpr int kMaxReadsPerWakeup = 4;

/* Shared by the stream and the acceptor: a polled fd calling back into JavaScript. */
class PolledFd {
protected:
	bool StartPoll(Napi::Env env, int fd, int events, uv_poll_cb cb, void *owner);
	void StopPoll();
	/* Call the JavaScript callback with (a, b); false if it threw or the environment is going. */
	bool Call(napi_env env, napi_ref recv, napi_ref fn, int32_t a, int32_t b);

	uv_poll_t *poll_ = nullptr;
	std::unique_ptr<Napi::AsyncContext> async_context_;
	bool tearing_down_ = false;
};

class TcpStream : public Napi::ObjectWrap<TcpStream>, private PolledFd {
public:
	static Napi::Function Define(Napi::Env env);
	explicit TcpStream(const Napi::CallbackInfo &info);
	~TcpStream() override;

private:
	Napi::Value Write(const Napi::CallbackInfo &info);
	Napi::Value SetReading(const Napi::CallbackInfo &info);
	Napi::Value Shutdown(const Napi::CallbackInfo &info);
	Napi::Value Close(const Napi::CallbackInfo &info);
	Napi::Value Queued(const Napi::CallbackInfo &info);
	Napi::Value Addresses(const Napi::CallbackInfo &info);

	static void OnPoll(uv_poll_t *handle, int status, int events);
	static void OnEnvTeardown(napi_async_cleanup_hook_handle handle, void *arg);
	void HandleEvents(int status, int events);
	void Readable();
	void Writable();
	void UpdatePoll();
	bool Emit(int32_t kind, int32_t n);
	void Fail(int err);
	void BeginClose();

	int fd_ = -1;
	bool open_ = true;
	bool connecting_ = false;
	bool reading_ = true;
	bool shutdown_asked_ = false;
	bool strong_ = false;
	uint8_t *read_buffer_ = nullptr;
	size_t read_size_ = 0;
	/* Bytes the kernel did not take yet; `queue_head_` of them already sent. */
	std::vector<uint8_t> queue_;
	size_t queue_head_ = 0;
	Napi::ObjectReference keep_buffer_;
	Napi::FunctionReference callback_;
	napi_async_cleanup_hook_handle cleanup_hook_ = nullptr;
};

class TcpAcceptor : public Napi::ObjectWrap<TcpAcceptor>, private PolledFd {
public:
	static Napi::Function Define(Napi::Env env);
	explicit TcpAcceptor(const Napi::CallbackInfo &info);
	~TcpAcceptor() override;

private:
	Napi::Value Close(const Napi::CallbackInfo &info);
	static void OnPoll(uv_poll_t *handle, int status, int events);
	static void OnEnvTeardown(napi_async_cleanup_hook_handle handle, void *arg);
	void AcceptSome();
	void BeginClose();

	int fd_ = -1;
	bool open_ = true;
	bool strong_ = false;
	Napi::FunctionReference callback_;
	napi_async_cleanup_hook_handle cleanup_hook_ = nullptr;
};

/* connectTcp(family, address16, port): a non-blocking socket whose connect is under way; its fd. */
Napi::Value ConnectTcp(const Napi::CallbackInfo &info);

} // namespace dtsudp
