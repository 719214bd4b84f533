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

/*
 * What the stream and the acceptor share: an fd polled through the Node
 * event loop, a JavaScript callback, and a lifetime held strong while
 * polled (a readiness event may call into the object) and released, with
 * the callback, once closed. `T` provides `void Closing()`: close its own
 * resources (the fd) when the poll stops.
 */
template <typename T> class PolledWrap : public Napi::ObjectWrap<T> {
public:
	explicit PolledWrap(const Napi::CallbackInfo &info) : Napi::ObjectWrap<T>(info) {}
	~PolledWrap() override
	{
		StopPoll();
		if (cleanup_hook_)
			napi_remove_async_cleanup_hook(cleanup_hook_);
	}

protected:
	/* Start polling `fd` for `events`; false with a JavaScript error pending. */
	bool StartPolling(Napi::Env env, int fd, int events, uv_poll_cb cb, Napi::Function callback, const char *resource);
	/* Stop polling, close (T::Closing) and let go of the object; the callback stays until DropCallback. */
	void BeginClose();
	/* The callback usually holds the JavaScript object that holds this one: kept, both would live forever. */
	void DropCallback() { callback_.Reset(); }
	/* Call the callback with (a, b); false if it did not complete or the callback is gone. */
	bool Call(double a, double b);
	void UpdateEvents(int events, uv_poll_cb cb);

	bool open_ = true;
	bool tearing_down_ = false;

private:
	static void OnEnvTeardown(napi_async_cleanup_hook_handle handle, void *arg);
	void StopPoll();

	uv_poll_t *poll_ = nullptr;
	bool strong_ = false;
	std::unique_ptr<Napi::AsyncContext> async_context_;
	Napi::FunctionReference callback_;
	napi_async_cleanup_hook_handle cleanup_hook_ = nullptr;
};

class TcpStream : public PolledWrap<TcpStream> {
public:
	static Napi::Function Define(Napi::Env env);
	explicit TcpStream(const Napi::CallbackInfo &info);
	~TcpStream() override;
	/* PolledWrap: the fd goes with the poll. */
	void Closing();

private:
	Napi::Value Write(const Napi::CallbackInfo &info);
	Napi::Value SetReading(const Napi::CallbackInfo &info);
	Napi::Value Shutdown(const Napi::CallbackInfo &info);
	Napi::Value Close(const Napi::CallbackInfo &info);
	Napi::Value Queued(const Napi::CallbackInfo &info);
	Napi::Value Addresses(const Napi::CallbackInfo &info);

	static void OnPoll(uv_poll_t *handle, int status, int events);
	void HandleEvents(int status, int events);
	void Readable();
	void Writable();
	void UpdatePoll();
	bool Emit(int32_t kind, int32_t n);
	void Fail(int err);

	int fd_ = -1;
	bool connecting_ = false;
	bool reading_ = true;
	bool shutdown_asked_ = false;
	uint8_t *read_buffer_ = nullptr;
	size_t read_size_ = 0;
	/* Bytes the kernel did not take yet; `queue_head_` of them already sent. */
	std::vector<uint8_t> queue_;
	size_t queue_head_ = 0;
	Napi::ObjectReference keep_buffer_;
};

class TcpAcceptor : public PolledWrap<TcpAcceptor> {
public:
	static Napi::Function Define(Napi::Env env);
	explicit TcpAcceptor(const Napi::CallbackInfo &info);
	/* PolledWrap: the listening fd is not ours, nothing to close. */
	void Closing() {}

private:
	Napi::Value Close(const Napi::CallbackInfo &info);
	static void OnPoll(uv_poll_t *handle, int status, int events);
	void AcceptSome();

	int fd_ = -1;
};

/* connectTcp(family, address16, port): a non-blocking socket whose connect is under way; its fd. */
Napi::Value ConnectTcp(const Napi::CallbackInfo &info);

} // namespace dtsudp
