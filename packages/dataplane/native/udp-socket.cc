#include "udp-socket.h"

#include "errors.h"
#include "loop-callback.h"
#include "socket-address.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <unistd.h>

namespace dtsudp {

/*
 * Read `obj[key]` as a typed array of `type` with at least `min_bytes`
 * bytes, pin it in `keep` and return its data pointer; nullptr (with a
 * TypeError pending) otherwise. The TypeScript layer builds these arrays,
 * so a mismatch is a bug there, but it must not become a buffer overrun.
 */
static void *pinned_view(Napi::Env env, Napi::Object obj, const char *key, napi_typedarray_type type,
			 size_t min_bytes, std::vector<Napi::ObjectReference> &keep, size_t *elements = nullptr)
{
	Napi::Value v = obj.Get(key);
	if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
		throw_type(env, std::string("UdpSocket: '") + key + "' has the wrong typed array type");
		return nullptr;
	}
	Napi::TypedArray a = v.As<Napi::TypedArray>();
	if (a.ByteLength() < min_bytes) {
		throw_type(env, std::string("UdpSocket: '") + key + "' is too small");
		return nullptr;
	}
	if (elements)
		*elements = a.ElementLength();
	keep.push_back(Napi::Persistent(a.As<Napi::Object>()));
	return static_cast<uint8_t *>(a.ArrayBuffer().Data()) + a.ByteOffset();
}

/* pinned_view for a view the caller may leave out: nullptr, and no error, when absent. */
static void *optional_view(Napi::Env env, Napi::Object obj, const char *key, napi_typedarray_type type,
			   size_t min_bytes, std::vector<Napi::ObjectReference> &keep)
{
	if (!obj.Has(key) || obj.Get(key).IsUndefined())
		return nullptr;
	return pinned_view(env, obj, key, type, min_bytes, keep);
}

static bool is_unspecified(const uint8_t *address)
{
	for (int i = 0; i < 16; i++)
		if (address[i])
			return false;
	return true;
}

static uint32_t get_u32(Napi::Object obj, const char *key)
{
	Napi::Value v = obj.Get(key);
	return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0;
}

Napi::Function UdpSocket::Define(Napi::Env env)
{
	return DefineClass(env, "UdpSocket",
			   {
				   InstanceMethod<&UdpSocket::Info>("info"),
				   InstanceMethod<&UdpSocket::Start>("start"),
				   InstanceMethod<&UdpSocket::Flush>("flush"),
				   InstanceMethod<&UdpSocket::Connect>("connect"),
				   InstanceMethod<&UdpSocket::Close>("close"),
			   });
}

/* new UdpSocket(bind, receiveViews, sendViews, stats) */
UdpSocket::UdpSocket(const Napi::CallbackInfo &info) : Napi::ObjectWrap<UdpSocket>(info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 4 || !info[0].IsObject() || !info[1].IsObject() || !info[2].IsObject()) {
		throw_type(env, "UdpSocket(bind, receive, send, stats): wrong arguments");
		return;
	}
	if (!SetUpViews(env, info[1].As<Napi::Object>(), info[2].As<Napi::Object>(), info[3]))
		return;

	Napi::Object opts = info[0].As<Napi::Object>();
	Napi::Value adopt = opts.Get("adoptFd");
	if (adopt.IsNumber()) {
		bound_ = adopt_bound_socket(adopt.As<Napi::Number>().Int32Value());
	} else {
		BindRequest req{};
		req.family = static_cast<uint8_t>(get_u32(opts, "family"));
		Napi::Value addr = opts.Get("address");
		if ((req.family != 4 && req.family != 6) || !addr.IsTypedArray() ||
		    addr.As<Napi::Uint8Array>().ByteLength() < 16) {
			throw_type(env, "UdpSocket: bind needs family 4 or 6 and a 16-byte address");
			return;
		}
		memcpy(req.address, addr.As<Napi::Uint8Array>().Data(), 16);
		req.port = static_cast<uint16_t>(get_u32(opts, "port"));
		req.reuse_port = opts.Get("reusePort").ToBoolean();
		req.receive_buffer = static_cast<int>(get_u32(opts, "receiveBufferSize"));
		req.send_buffer = static_cast<int>(get_u32(opts, "sendBufferSize"));
		bound_ = open_bound_socket(req);
	}
	if (bound_.fd < 0) {
		throw_errno(env, bound_.op, bound_.err);
		return;
	}
	fd_ = bound_.fd;
	if (recv_.destinations && is_unspecified(bound_.address))
		EnablePktInfo();
	async_context_ = std::make_unique<Napi::AsyncContext>(env, "dnsdist-ts:NativeUdpEndpoint");
}

/*
 * On a wildcard-bound socket, ask for each datagram's destination address
 * (as dnsdist does, for dq.localaddr and for answering from that address).
 * An IPv6 socket also serves IPv4 (IPV6_V6ONLY off): both options are
 * asked for; IP_PKTINFO may be refused there, which only costs the IPv4
 * destinations.
 */
void UdpSocket::EnablePktInfo()
{
	int one = 1;
	bool ok;
	if (bound_.sock_family == AF_INET) {
		ok = setsockopt(fd_, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == 0;
	} else {
		ok = setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) == 0;
		setsockopt(fd_, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	}
	if (!ok)
		return;
	pktinfo_ = true;
	recv_ctrl_.assign(size_t(recv_.batch) * kPktInfoSpace, 0);
	send_ctrl_.assign(size_t(send_.batch) * kPktInfoSpace, 0);
}

/* Copy the destination of receive slot `slot` from its control messages into the shared views. */
void UdpSocket::ReadDestination(uint32_t slot)
{
	msghdr &h = recv_hdrs_[slot].msg_hdr;
	uint8_t *out = recv_.destinations + 16 * size_t(slot);
	recv_.destination_families[slot] = 0;
	for (cmsghdr *c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			in_pktinfo info;
			memcpy(&info, CMSG_DATA(c), sizeof(info));
			memset(out, 0, 16);
			memcpy(out, &info.ipi_addr, 4);
			recv_.destination_families[slot] = 4;
			return;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			in6_pktinfo info;
			memcpy(&info, CMSG_DATA(c), sizeof(info));
			const uint8_t *a = info.ipi6_addr.s6_addr;
			static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
			if (memcmp(a, mapped, 12) == 0) {
				memset(out, 0, 16);
				memcpy(out, a + 12, 4);
				recv_.destination_families[slot] = 4;
			} else {
				memcpy(out, a, 16);
				recv_.destination_families[slot] = 6;
			}
			return;
		}
	}
}

/*
 * Give send header `h` (send slot `slot`) a control message fixing the
 * source address of datagram `datagram`, when one was asked for. IPv4
 * sources use IP_PKTINFO even on an IPv6 socket (the kernel takes it for
 * IPv4-mapped destinations).
 */
void UdpSocket::AttachSource(uint32_t datagram, msghdr &h, uint32_t slot)
{
	h.msg_control = nullptr;
	h.msg_controllen = 0;
	if (!pktinfo_ || !send_.source_families)
		return;
	uint8_t family = send_.source_families[datagram];
	const uint8_t *src = send_.sources + 16 * size_t(datagram);
	if (family != 4 && family != 6)
		return;
	uint8_t *buf = send_ctrl_.data() + size_t(slot) * kPktInfoSpace;
	memset(buf, 0, kPktInfoSpace);
	h.msg_control = buf;
	if (family == 4) {
		h.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
		cmsghdr *c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
		in_pktinfo info{};
		memcpy(&info.ipi_spec_dst, src, 4);
		memcpy(CMSG_DATA(c), &info, sizeof(info));
	} else {
		h.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
		cmsghdr *c = CMSG_FIRSTHDR(&h);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
		in6_pktinfo info{};
		memcpy(info.ipi6_addr.s6_addr, src, 16);
		memcpy(CMSG_DATA(c), &info, sizeof(info));
	}
}

bool UdpSocket::SetUpViews(Napi::Env env, Napi::Object recv, Napi::Object send, Napi::Value stats)
{
	if (!stats.IsTypedArray() || stats.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
	    stats.As<Napi::TypedArray>().ElementLength() < kStatCount) {
		throw_type(env, "UdpSocket: stats must be a Float64Array of at least " + std::to_string(kStatCount));
		return false;
	}
	Napi::Float64Array s = stats.As<Napi::Float64Array>();
	keep_.push_back(Napi::Persistent(s.As<Napi::Object>()));
	stats_ = s.Data();

	size_t n = 0;
	recv_.slot_size = get_u32(recv, "slotSize");
	if (!(recv_.lengths = static_cast<int32_t *>(pinned_view(env, recv, "lengths", napi_int32_array, 4, keep_, &n))))
		return false;
	if (n == 0 || n > kMaxBatch || recv_.slot_size == 0 || recv_.slot_size > 65535) {
		throw_type(env, "UdpSocket: receive batch must be 1..1024 slots of 1..65535 bytes");
		return false;
	}
	recv_.batch = static_cast<uint32_t>(n);
	recv_.arena = static_cast<uint8_t *>(
		pinned_view(env, recv, "arena", napi_uint8_array, size_t(n) * recv_.slot_size, keep_));
	recv_.addresses = static_cast<uint8_t *>(pinned_view(env, recv, "addresses", napi_uint8_array, 16 * n, keep_));
	recv_.ports = static_cast<uint16_t *>(pinned_view(env, recv, "ports", napi_uint16_array, 2 * n, keep_));
	recv_.families = static_cast<uint8_t *>(pinned_view(env, recv, "families", napi_uint8_array, n, keep_));
	if (!recv_.arena || !recv_.addresses || !recv_.ports || !recv_.families)
		return false;
	recv_.destinations = static_cast<uint8_t *>(optional_view(env, recv, "destinations", napi_uint8_array, 16 * n, keep_));
	recv_.destination_families =
		static_cast<uint8_t *>(optional_view(env, recv, "destinationFamilies", napi_uint8_array, n, keep_));
	if (env.IsExceptionPending())
		return false;
	if (!recv_.destination_families)
		recv_.destinations = nullptr;

	if (!(send_.offsets = static_cast<int32_t *>(pinned_view(env, send, "offsets", napi_int32_array, 4, keep_, &n))))
		return false;
	if (n == 0 || n > kMaxBatch) {
		throw_type(env, "UdpSocket: send batch must be 1..1024 datagrams");
		return false;
	}
	send_.batch = static_cast<uint32_t>(n);
	size_t arena_elements = 0;
	send_.arena = static_cast<uint8_t *>(pinned_view(env, send, "arena", napi_uint8_array, 1, keep_, &arena_elements));
	send_.arena_size = arena_elements;
	send_.lengths = static_cast<int32_t *>(pinned_view(env, send, "lengths", napi_int32_array, 4 * n, keep_));
	send_.addresses = static_cast<uint8_t *>(pinned_view(env, send, "addresses", napi_uint8_array, 16 * n, keep_));
	send_.ports = static_cast<uint16_t *>(pinned_view(env, send, "ports", napi_uint16_array, 2 * n, keep_));
	send_.families = static_cast<uint8_t *>(pinned_view(env, send, "families", napi_uint8_array, n, keep_));
	if (!send_.arena || !send_.lengths || !send_.addresses || !send_.ports || !send_.families)
		return false;
	send_.sources = static_cast<uint8_t *>(optional_view(env, send, "sources", napi_uint8_array, 16 * n, keep_));
	send_.source_families =
		static_cast<uint8_t *>(optional_view(env, send, "sourceFamilies", napi_uint8_array, n, keep_));
	if (env.IsExceptionPending())
		return false;
	if (!send_.sources)
		send_.source_families = nullptr;

	// The receive headers never change except for the fields the kernel
	// writes back, so they are wired to their slots once.
	recv_hdrs_.assign(recv_.batch, mmsghdr{});
	recv_iov_.assign(recv_.batch, iovec{});
	recv_names_.assign(recv_.batch, sockaddr_storage{});
	for (uint32_t i = 0; i < recv_.batch; i++) {
		recv_iov_[i].iov_base = recv_.arena + size_t(i) * recv_.slot_size;
		recv_iov_[i].iov_len = recv_.slot_size;
		msghdr &h = recv_hdrs_[i].msg_hdr;
		h.msg_name = &recv_names_[i];
		h.msg_iov = &recv_iov_[i];
		h.msg_iovlen = 1;
	}
	send_hdrs_.assign(send_.batch, mmsghdr{});
	send_iov_.assign(send_.batch, iovec{});
	send_names_.assign(send_.batch, sockaddr_storage{});
	return true;
}

UdpSocket::~UdpSocket()
{
	// A polled socket is held strongly until closed, so this normally runs
	// after close(), or for a socket dropped without ever being started
	// (then only the fd is left). The poll branch is a last resort in case
	// an environment finalizes a socket that is still open.
	if (poll_) {
		poll_->data = nullptr;
		if (state_ == State::Open) {
			uv_poll_stop(poll_);
			uv_close(reinterpret_cast<uv_handle_t *>(poll_), OnPollClosed);
		}
	}
	if (fd_ >= 0)
		close(fd_);
	if (cleanup_hook_)
		napi_remove_async_cleanup_hook(cleanup_hook_);
}

Napi::Value UdpSocket::Info(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Napi::Object o = Napi::Object::New(env);
	o.Set("family", Napi::Number::New(env, bound_.family));
	o.Set("address", Napi::Buffer<uint8_t>::Copy(env, bound_.address, 16));
	o.Set("port", Napi::Number::New(env, bound_.port));
	o.Set("receiveBufferSize", Napi::Number::New(env, bound_.receive_buffer));
	o.Set("sendBufferSize", Napi::Number::New(env, bound_.send_buffer));
	o.Set("fd", Napi::Number::New(env, fd_));
	return o;
}

/* start(onBatch): begin polling; onBatch(count) runs once per received batch. */
Napi::Value UdpSocket::Start(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 1 || !info[0].IsFunction())
		return throw_type(env, "UdpSocket.start(onBatch): onBatch must be a function");
	if (state_ != State::Open)
		return throw_errno(env, "start receiving on a closed socket", EBADF);
	callback_ = Napi::Persistent(info[0].As<Napi::Function>());
	if (poll_)
		return env.Undefined();

	uv_loop_t *loop = nullptr;
	if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop)
		return throw_errno(env, "napi_get_uv_event_loop", EINVAL);
	auto *poll = new uv_poll_t;
	int r = uv_poll_init_socket(loop, poll, fd_);
	if (r) {
		delete poll;
		return throw_errno(env, "uv_poll_init", r);
	}
	poll->data = this;
	r = uv_poll_start(poll, UV_READABLE, OnPoll);
	if (r) {
		uv_close(reinterpret_cast<uv_handle_t *>(poll),
			 [](uv_handle_t *h) { delete reinterpret_cast<uv_poll_t *>(h); });
		return throw_errno(env, "uv_poll_start", r);
	}
	poll_ = poll;
	// A worker thread (or the main thread at exit) tearing its environment
	// down must wait for the poll handle to close before the loop goes.
	if (napi_add_async_cleanup_hook(env, OnEnvTeardown, this, &cleanup_hook_) != napi_ok)
		cleanup_hook_ = nullptr;
	// While polling, a readiness event may call back into this object, so
	// it must not be collected even if JavaScript drops every reference.
	Ref();
	strong_ = true;
	return env.Undefined();
}

void UdpSocket::OnPoll(uv_poll_t *handle, int status, int events)
{
	auto *self = static_cast<UdpSocket *>(handle->data);
	if (!self || self->state_ != State::Open)
		return;
	if (status < 0) {
		self->RecoverFromPollError(status);
		return;
	}
	self->Drain();
}

void UdpSocket::RecoverFromPollError(int status)
{
	// libuv stops the handle when epoll reports an error condition. For a
	// UDP socket that is a queued ICMP error: read it (which clears it),
	// count it, and keep serving.
	int err = 0;
	socklen_t len = sizeof(err);
	getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
	stats_[kReceiveErrors] += 1;
	stats_[kLastReceiveErrno] = err ? err : -status;
	if (uv_poll_start(poll_, UV_READABLE, OnPoll))
		stats_[kReceiveErrors] += 1;
}

void UdpSocket::Drain()
{
	for (int round = 0; round < kMaxBatchesPerWakeup && state_ == State::Open; round++) {
		for (uint32_t i = 0; i < recv_.batch; i++) {
			msghdr &h = recv_hdrs_[i].msg_hdr;
			h.msg_namelen = sizeof(sockaddr_storage);
			if (pktinfo_) {
				h.msg_control = recv_ctrl_.data() + size_t(i) * kPktInfoSpace;
				h.msg_controllen = kPktInfoSpace;
			}
		}
		int n = recvmmsg(fd_, recv_hdrs_.data(), recv_.batch, MSG_DONTWAIT, nullptr);
		if (n < 0) {
			int err = errno;
			if (err == EAGAIN || err == EWOULDBLOCK)
				return;
			if (err != EINTR) {
				stats_[kReceiveErrors] += 1;
				stats_[kLastReceiveErrno] = err;
			}
			continue;
		}
		if (n == 0)
			return;
		uint32_t delivered = 0;
		for (int i = 0; i < n; i++) {
			const msghdr &h = recv_hdrs_[i].msg_hdr;
			uint8_t family = from_sockaddr(&recv_names_[i], recv_.addresses + 16 * i, recv_.ports + i);
			if ((h.msg_flags & MSG_TRUNC) || family == 0) {
				recv_.lengths[i] = -1;
				stats_[family ? kTruncated : kReceiveErrors] += 1;
				continue;
			}
			recv_.families[i] = family;
			recv_.lengths[i] = static_cast<int32_t>(recv_hdrs_[i].msg_len);
			if (pktinfo_)
				ReadDestination(uint32_t(i));
			delivered++;
		}
		if (delivered) {
			stats_[kBatches] += 1;
			stats_[kDatagrams] += delivered;
			if (!Deliver(static_cast<uint32_t>(n)))
				return;
		}
		// A short batch means the queue was empty a moment ago: skip the
		// recvmmsg that would only return EAGAIN.
		if (static_cast<uint32_t>(n) < recv_.batch)
			return;
	}
}

bool UdpSocket::Deliver(uint32_t count)
{
	if (tearing_down_ || callback_.IsEmpty())
		return false;
	double args[1] = {static_cast<double>(count)};
	bool ok = call_from_loop(Env(), *async_context_, static_cast<napi_ref>(*this), callback_, args, 1);
	return ok && state_ == State::Open;
}

void UdpSocket::RejectSend(int err)
{
	stats_[kSendErrors] += 1;
	stats_[kLastSendErrno] = err;
}

/* flush(count): send the first `count` datagrams described by the send views. */
Napi::Value UdpSocket::Flush(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	uint32_t count = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
	if (count > send_.batch) {
		stats_[kSendErrors] += count - send_.batch;
		stats_[kLastSendErrno] = EINVAL;
		count = send_.batch;
	}
	if (state_ != State::Open) {
		stats_[kSendErrors] += count;
		stats_[kLastSendErrno] = EBADF;
		return Napi::Number::New(env, 0);
	}
	uint32_t m = 0;
	for (uint32_t i = 0; i < count; i++) {
		int32_t off = send_.offsets[i], len = send_.lengths[i];
		if (off < 0 || len < 0 || size_t(off) + size_t(len) > send_.arena_size) {
			RejectSend(EINVAL);
			continue;
		}
		socklen_t name_len = 0;
		if (!connected_) {
			name_len = to_sockaddr(bound_.sock_family, send_.families[i], send_.addresses + 16 * i,
					       send_.ports[i], &send_names_[m]);
			if (!name_len) {
				RejectSend(EAFNOSUPPORT);
				continue;
			}
		}
		send_iov_[m].iov_base = send_.arena + off;
		send_iov_[m].iov_len = size_t(len);
		msghdr &h = send_hdrs_[m].msg_hdr;
		h.msg_name = connected_ ? nullptr : &send_names_[m];
		h.msg_namelen = name_len;
		h.msg_iov = &send_iov_[m];
		h.msg_iovlen = 1;
		AttachSource(i, h, m);
		h.msg_flags = 0;
		m++;
	}
	return Napi::Number::New(env, SendPrepared(m));
}

/*
 * connect(family, address, port): fix the peer, as dnsdist does for its
 * backend sockets. Later flushes ignore the per-datagram addresses.
 */
Napi::Value UdpSocket::Connect(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsNumber())
		return throw_type(env, "UdpSocket.connect(family, address, port): wrong arguments");
	if (state_ != State::Open)
		return throw_errno(env, "connect a closed socket", EBADF);
	uint32_t family = info[0].As<Napi::Number>().Uint32Value();
	uint32_t port = info[2].As<Napi::Number>().Uint32Value();
	Napi::TypedArray bytes = info[1].As<Napi::TypedArray>();
	if ((family != 4 && family != 6) || port > 65535 || bytes.ByteLength() < (family == 4 ? 4u : 16u))
		return throw_type(env, "UdpSocket.connect: family must be 4 or 6, port 0-65535, address 4 or 16 bytes");
	uint8_t address[16] = {};
	memcpy(address, static_cast<uint8_t *>(bytes.ArrayBuffer().Data()) + bytes.ByteOffset(),
	       family == 4 ? 4 : 16);
	sockaddr_storage peer{};
	socklen_t len = to_sockaddr(bound_.sock_family, uint8_t(family), address, uint16_t(port), &peer);
	if (!len)
		return throw_errno(env, "connect", EAFNOSUPPORT);
	if (connect(fd_, reinterpret_cast<sockaddr *>(&peer), len) != 0)
		return throw_errno(env, "connect", errno);
	connected_ = true;
	return env.Undefined();
}

uint32_t UdpSocket::SendPrepared(uint32_t count)
{
	uint32_t done = 0, sent = 0;
	while (done < count) {
		int r = sendmmsg(fd_, &send_hdrs_[done], count - done, MSG_DONTWAIT);
		stats_[kSendCalls] += 1;
		if (r > 0) {
			done += uint32_t(r);
			sent += uint32_t(r);
			continue;
		}
		int err = r < 0 ? errno : EIO;
		if (err == EINTR)
			continue;
		if (err == EAGAIN || err == EWOULDBLOCK) {
			// The send buffer is full. Waiting for it to drain would mean
			// holding the arena across event-loop turns; for DNS the client
			// retries, so the rest of this flush is dropped and counted.
			stats_[kSendErrors] += count - done;
			stats_[kLastSendErrno] = err;
			break;
		}
		// sendmmsg reports an error only for the first message it could not
		// send: skip that one and carry on with the others.
		RejectSend(err);
		done++;
	}
	stats_[kSent] += sent;
	return sent;
}

/* close(): stop polling, release the port; resolves once the handle is closed. */
Napi::Value UdpSocket::Close(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	napi_deferred deferred;
	napi_value promise;
	if (napi_create_promise(env, &deferred, &promise) != napi_ok)
		return throw_errno(env, "close", ENOMEM);
	if (state_ == State::Closed) {
		napi_resolve_deferred(env, deferred, env.Undefined());
		return Napi::Value(env, promise);
	}
	// Resolved (or, if the environment goes away first, released) by FinishClose.
	close_waiters_.push_back(deferred);
	BeginClose();
	return Napi::Value(env, promise);
}

void UdpSocket::BeginClose()
{
	if (state_ != State::Open)
		return;
	state_ = State::Closing;
	// uv_close takes the fd out of epoll before returning, so the fd can be
	// closed (and the port released) at once; the handle memory waits for
	// the close callback.
	if (poll_) {
		uv_poll_stop(poll_);
		uv_close(reinterpret_cast<uv_handle_t *>(poll_), OnPollClosed);
	}
	if (fd_ >= 0) {
		close(fd_);
		fd_ = -1;
	}
	if (!poll_)
		FinishClose();
}

void UdpSocket::OnPollClosed(uv_handle_t *handle)
{
	auto *self = static_cast<UdpSocket *>(handle->data);
	delete reinterpret_cast<uv_poll_t *>(handle);
	if (self) {
		self->poll_ = nullptr;
		self->FinishClose();
	}
}

void UdpSocket::FinishClose()
{
	state_ = State::Closed;
	callback_.Reset();
	if (!tearing_down_ && !close_waiters_.empty()) {
		// Raw N-API for the same reason as in Deliver. The callback scope
		// runs the promise reactions when it closes, as after any Node
		// callback (this may run straight from libuv).
		napi_env env = Env();
		napi_handle_scope scope;
		if (napi_open_handle_scope(env, &scope) == napi_ok) {
			napi_value resource, undefined;
			napi_callback_scope callback_scope = nullptr;
			if (napi_create_object(env, &resource) == napi_ok &&
			    napi_open_callback_scope(env, resource, *async_context_, &callback_scope) != napi_ok)
				callback_scope = nullptr;
			if (napi_get_undefined(env, &undefined) == napi_ok)
				for (auto &d : close_waiters_)
					napi_resolve_deferred(env, d, undefined);
			if (callback_scope)
				napi_close_callback_scope(env, callback_scope);
			napi_close_handle_scope(env, scope);
		}
	}
	close_waiters_.clear();
	async_context_.reset();
	if (strong_) {
		strong_ = false;
		Unref();
	}
	if (cleanup_hook_) {
		napi_async_cleanup_hook_handle hook = cleanup_hook_;
		cleanup_hook_ = nullptr;
		napi_remove_async_cleanup_hook(hook);
	}
}

void UdpSocket::OnEnvTeardown(napi_async_cleanup_hook_handle handle, void *arg)
{
	auto *self = static_cast<UdpSocket *>(arg);
	self->tearing_down_ = true;
	// FinishClose removes the hook, which tells Node the handle is gone.
	self->BeginClose();
}

} // namespace dtsudp
