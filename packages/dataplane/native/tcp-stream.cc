#include "tcp-stream.h"

#include "errors.h"
#include "loop-callback.h"
#include "socket-address.h"

#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dtsudp {

template <typename T>
bool PolledWrap<T>::StartPolling(Napi::Env env, int fd, int events, uv_poll_cb cb, Napi::Function callback,
				 const char *resource)
{
	uv_loop_t *loop = nullptr;
	if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) {
		throw_errno(env, "napi_get_uv_event_loop", EINVAL);
		return false;
	}
	auto *poll = new uv_poll_t;
	int r = uv_poll_init_socket(loop, poll, fd);
	if (r) {
		delete poll;
		throw_errno(env, "uv_poll_init", -r);
		return false;
	}
	poll->data = static_cast<T *>(this);
	r = uv_poll_start(poll, events, cb);
	if (r) {
		uv_close(reinterpret_cast<uv_handle_t *>(poll), [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
		throw_errno(env, "uv_poll_start", -r);
		return false;
	}
	poll_ = poll;
	callback_ = Napi::Persistent(callback);
	async_context_ = std::make_unique<Napi::AsyncContext>(env, resource);
	// A worker (or the main thread at exit) tearing its environment down
	// closes what is still open before the loop goes.
	if (napi_add_async_cleanup_hook(env, OnEnvTeardown, this, &cleanup_hook_) != napi_ok)
		cleanup_hook_ = nullptr;
	// Polled: a readiness event may call into this object, so it must live until closed.
	this->Ref();
	strong_ = true;
	return true;
}

template <typename T> void PolledWrap<T>::UpdateEvents(int events, uv_poll_cb cb)
{
	if (!poll_)
		return;
	if (events)
		uv_poll_start(poll_, events, cb);
	else
		uv_poll_stop(poll_);
}

template <typename T> void PolledWrap<T>::StopPoll()
{
	if (!poll_)
		return;
	// uv_close takes the fd out of epoll before returning: the fd may be
	// closed right after. The handle's memory goes in the close callback.
	poll_->data = nullptr;
	uv_poll_stop(poll_);
	uv_close(reinterpret_cast<uv_handle_t *>(poll_), [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
	poll_ = nullptr;
}

template <typename T> void PolledWrap<T>::BeginClose()
{
	if (!open_)
		return;
	open_ = false;
	StopPoll();
	static_cast<T *>(this)->Closing();
	if (cleanup_hook_) {
		napi_async_cleanup_hook_handle hook = cleanup_hook_;
		cleanup_hook_ = nullptr;
		napi_remove_async_cleanup_hook(hook);
	}
	if (strong_) {
		strong_ = false;
		this->Unref();
	}
}

template <typename T> bool PolledWrap<T>::Call(double a, double b)
{
	if (tearing_down_ || callback_.IsEmpty() || !async_context_)
		return false;
	double args[2] = {a, b};
	return call_from_loop(this->Env(), *async_context_, static_cast<napi_ref>(*this), callback_, args, 2);
}

template <typename T> void PolledWrap<T>::OnEnvTeardown(napi_async_cleanup_hook_handle handle, void *arg)
{
	auto *self = static_cast<PolledWrap<T> *>(arg);
	self->tearing_down_ = true;
	self->BeginClose();
}

Napi::Function TcpStream::Define(Napi::Env env)
{
	return DefineClass(env, "TcpStream",
			   {
				   InstanceMethod<&TcpStream::Write>("write"),
				   InstanceMethod<&TcpStream::SetReading>("setReading"),
				   InstanceMethod<&TcpStream::Shutdown>("shutdown"),
				   InstanceMethod<&TcpStream::Close>("close"),
				   InstanceMethod<&TcpStream::Queued>("queued"),
				   InstanceMethod<&TcpStream::Addresses>("addresses"),
			   });
}

/* new TcpStream(fd, readBuffer, onEvent, connecting): takes the fd over (closes it on close()). */
TcpStream::TcpStream(const Napi::CallbackInfo &info) : PolledWrap<TcpStream>(info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsFunction()) {
		throw_type(env, "TcpStream(fd, readBuffer, onEvent[, connecting]): wrong arguments");
		open_ = false;
		return;
	}
	Napi::TypedArray buf = info[1].As<Napi::TypedArray>();
	if (buf.TypedArrayType() != napi_uint8_array || buf.ByteLength() < 2) {
		throw_type(env, "TcpStream: readBuffer must be a Uint8Array of at least 2 bytes");
		open_ = false;
		return;
	}
	fd_ = info[0].As<Napi::Number>().Int32Value();
	connecting_ = info.Length() > 3 && info[3].ToBoolean();
	keep_buffer_ = Napi::Persistent(buf.As<Napi::Object>());
	read_buffer_ = static_cast<uint8_t *>(buf.ArrayBuffer().Data()) + buf.ByteOffset();
	read_size_ = buf.ByteLength();
	int one = 1;
	setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!StartPolling(env, fd_, connecting_ ? UV_WRITABLE : UV_READABLE, OnPoll, info[2].As<Napi::Function>(),
			  "dnsdist-ts:NativeTcpStream")) {
		close(fd_);
		fd_ = -1;
		open_ = false;
	}
}

TcpStream::~TcpStream()
{
	// Collected only once closed, or when it never started polling: an fd left is one it never polled.
	if (fd_ >= 0)
		close(fd_);
}

void TcpStream::Closing()
{
	if (fd_ >= 0) {
		close(fd_);
		fd_ = -1;
	}
	queue_.clear();
	queue_head_ = 0;
}

void TcpStream::UpdatePoll()
{
	if (!open_)
		return;
	int events = 0;
	if (connecting_ || queue_.size() > queue_head_)
		events |= UV_WRITABLE;
	if (reading_ && !connecting_)
		events |= UV_READABLE;
	UpdateEvents(events, OnPoll);
}

bool TcpStream::Emit(int32_t kind, int32_t n)
{
	return Call(kind, n) && open_;
}

void TcpStream::OnPoll(uv_poll_t *handle, int status, int events)
{
	auto *self = static_cast<TcpStream *>(handle->data);
	if (!self || !self->open_)
		return;
	// JavaScript may close the stream and drop it inside a callback: it must outlive this call.
	self->Ref();
	self->HandleEvents(status, events);
	self->Unref();
}

void TcpStream::HandleEvents(int status, int events)
{
	TcpStream *self = this;
	if (status < 0) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &len);
		self->Fail(err ? err : -status);
		return;
	}
	if (self->connecting_) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			self->Fail(err);
			return;
		}
		self->connecting_ = false;
		self->UpdatePoll();
		if (!self->Emit(kTcpConnected, 0))
			return;
	}
	if (events & UV_WRITABLE)
		self->Writable();
	if (self->open_ && (events & UV_READABLE) && self->reading_)
		self->Readable();
}

void TcpStream::Readable()
{
	for (int i = 0; i < kMaxReadsPerWakeup && open_ && reading_; i++) {
		ssize_t n = recv(fd_, read_buffer_, read_size_, MSG_DONTWAIT);
		if (n > 0) {
			if (!Emit(kTcpData, static_cast<int32_t>(n)))
				return;
			if (static_cast<size_t>(n) < read_size_)
				return;
			continue;
		}
		if (n == 0) {
			Fail(0);
			return;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno != EINTR) {
			Fail(errno);
			return;
		}
	}
}

void TcpStream::Writable()
{
	while (open_ && queue_.size() > queue_head_) {
		ssize_t n = send(fd_, queue_.data() + queue_head_, queue_.size() - queue_head_, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				Fail(errno);
			return;
		}
		queue_head_ += static_cast<size_t>(n);
	}
	if (!open_)
		return;
	queue_.clear();
	queue_head_ = 0;
	if (shutdown_asked_)
		shutdown(fd_, SHUT_WR);
	UpdatePoll();
	Emit(kTcpDrained, 0);
}

/* write(bytes, offset, length): the bytes still queued after trying the kernel (0: all sent), or -errno. */
Napi::Value TcpStream::Write(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 3 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber())
		return throw_type(env, "TcpStream.write(bytes, offset, length): wrong arguments");
	Napi::TypedArray a = info[0].As<Napi::TypedArray>();
	int64_t offset = info[1].As<Napi::Number>().Int64Value();
	int64_t length = info[2].As<Napi::Number>().Int64Value();
	if (a.TypedArrayType() != napi_uint8_array || offset < 0 || length < 0 ||
	    static_cast<size_t>(offset + length) > a.ByteLength())
		return throw_type(env, "TcpStream.write: offset and length must lie within a Uint8Array");
	if (!open_)
		return Napi::Number::New(env, -EBADF);
	const uint8_t *p = static_cast<const uint8_t *>(a.ArrayBuffer().Data()) + a.ByteOffset() + offset;
	size_t len = static_cast<size_t>(length);
	if (!connecting_ && queue_.size() == queue_head_ && !shutdown_asked_) {
		ssize_t n;
		do
			n = send(fd_, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return Napi::Number::New(env, -errno);
		if (n > 0) {
			p += n;
			len -= static_cast<size_t>(n);
		}
		if (len == 0)
			return Napi::Number::New(env, 0);
	}
	if (queue_head_ > 0 && queue_head_ == queue_.size()) {
		queue_.clear();
		queue_head_ = 0;
	}
	bool was_empty = queue_.size() == queue_head_;
	queue_.insert(queue_.end(), p, p + len);
	if (was_empty)
		UpdatePoll();
	return Napi::Number::New(env, static_cast<double>(queue_.size() - queue_head_));
}

/* setReading(on): stop or resume reading (the kernel's buffers then hold what the peer sends). */
Napi::Value TcpStream::SetReading(const Napi::CallbackInfo &info)
{
	bool on = info.Length() > 0 && info[0].ToBoolean();
	if (on != reading_) {
		reading_ = on;
		UpdatePoll();
	}
	return info.Env().Undefined();
}

/* shutdown(): end our side once the queue is sent (the peer then reads end of stream). */
Napi::Value TcpStream::Shutdown(const Napi::CallbackInfo &info)
{
	if (open_ && !shutdown_asked_) {
		shutdown_asked_ = true;
		if (!connecting_ && queue_.size() == queue_head_)
			shutdown(fd_, SHUT_WR);
	}
	return info.Env().Undefined();
}

Napi::Value TcpStream::Queued(const Napi::CallbackInfo &info)
{
	return Napi::Number::New(info.Env(), static_cast<double>(queue_.size() - queue_head_));
}

/* addresses(): {family, peer (16 bytes), peerPort, local (16 bytes), localPort}, or undefined once closed or unknown. */
Napi::Value TcpStream::Addresses(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (!open_)
		return env.Undefined();
	sockaddr_storage peer{}, local{};
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	if (getpeername(fd_, reinterpret_cast<sockaddr *>(&peer), &plen) || getsockname(fd_, reinterpret_cast<sockaddr *>(&local), &llen))
		return env.Undefined();
	uint8_t pa[16], la[16];
	uint16_t pp = 0, lp = 0;
	uint8_t family = from_sockaddr(&peer, pa, &pp);
	uint8_t lfamily = from_sockaddr(&local, la, &lp);
	if (!family || !lfamily)
		return env.Undefined();
	Napi::Object o = Napi::Object::New(env);
	o.Set("family", Napi::Number::New(env, family));
	o.Set("peer", Napi::Buffer<uint8_t>::Copy(env, pa, 16));
	o.Set("peerPort", Napi::Number::New(env, pp));
	o.Set("localFamily", Napi::Number::New(env, lfamily));
	o.Set("local", Napi::Buffer<uint8_t>::Copy(env, la, 16));
	o.Set("localPort", Napi::Number::New(env, lp));
	return o;
}

void TcpStream::Fail(int err)
{
	if (!open_)
		return;
	BeginClose();
	Emit(kTcpClosed, err);
	DropCallback();
}

/* close(): close the fd now, queued bytes dropped; no event follows. */
Napi::Value TcpStream::Close(const Napi::CallbackInfo &info)
{
	BeginClose();
	DropCallback();
	return info.Env().Undefined();
}

Napi::Function TcpAcceptor::Define(Napi::Env env)
{
	return DefineClass(env, "TcpAcceptor", {InstanceMethod<&TcpAcceptor::Close>("close")});
}

/* new TcpAcceptor(listenFd, onAccept): onAccept(fd, 0) per accepted connection, onAccept(-1, errno) on an accept error. Does not own the listening fd. */
TcpAcceptor::TcpAcceptor(const Napi::CallbackInfo &info) : PolledWrap<TcpAcceptor>(info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction()) {
		throw_type(env, "TcpAcceptor(listenFd, onAccept): wrong arguments");
		open_ = false;
		return;
	}
	fd_ = info[0].As<Napi::Number>().Int32Value();
	if (!StartPolling(env, fd_, UV_READABLE, OnPoll, info[1].As<Napi::Function>(), "dnsdist-ts:NativeTcpAcceptor"))
		open_ = false;
}

void TcpAcceptor::OnPoll(uv_poll_t *handle, int status, int events)
{
	auto *self = static_cast<TcpAcceptor *>(handle->data);
	if (!self || !self->open_)
		return;
	self->Ref();
	self->AcceptSome();
	self->Unref();
}

void TcpAcceptor::AcceptSome()
{
	TcpAcceptor *self = this;
	// A bounded number per wake-up, so a connection flood cannot starve the loop.
	for (int i = 0; i < 64 && self->open_; i++) {
		int fd = accept4(self->fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			// EMFILE and friends: told, not fatal; the listener stays.
			self->Call(-1, errno);
			return;
		}
		if (!self->Call(fd, 0)) {
			close(fd);
			return;
		}
	}
}

/* close(): stop accepting (the listening fd stays its owner's). */
Napi::Value TcpAcceptor::Close(const Napi::CallbackInfo &info)
{
	BeginClose();
	DropCallback();
	return info.Env().Undefined();
}

Napi::Value ConnectTcp(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsNumber())
		return throw_type(env, "connectTcp(family, address16, port): wrong arguments");
	uint32_t family = info[0].As<Napi::Number>().Uint32Value();
	Napi::Uint8Array addr = info[1].As<Napi::Uint8Array>();
	uint32_t port = info[2].As<Napi::Number>().Uint32Value();
	if ((family != 4 && family != 6) || addr.ByteLength() < 16 || port > 65535)
		return throw_type(env, "connectTcp: needs family 4 or 6, a 16-byte address and a port");
	sockaddr_storage ss{};
	int sock_family = family == 6 ? AF_INET6 : AF_INET;
	socklen_t len = to_sockaddr(sock_family, static_cast<uint8_t>(family), addr.Data(), static_cast<uint16_t>(port), &ss);
	int fd = socket(sock_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return throw_errno(env, "socket", errno);
	if (connect(fd, reinterpret_cast<sockaddr *>(&ss), len) < 0 && errno != EINPROGRESS) {
		int err = errno;
		close(fd);
		return throw_errno(env, "connect", err);
	}
	return Napi::Number::New(env, fd);
}

} // namespace dtsudp
