// One UDP socket owned by the addon. The receive side wakes through a
// libuv poll handle, drains the socket with recvmmsg into a preallocated
// arena and hands JavaScript one callback per batch; JavaScript reads the
// datagrams, lengths and peers from typed arrays it shared at creation.
// The send side is the mirror image: JavaScript packs datagrams into a
// shared send arena and calls flush(count), which issues sendmmsg. No
// per-datagram objects cross the boundary in either direction.
#pragma once

#include <napi.h>
#include <uv.h>

#include "bind-socket.h"

#include <cstdint>
#include <memory>
#include <netinet/in.h>
#include <sys/socket.h>
#include <vector>

namespace dtsudp {

/* Slots of the shared Float64Array of counters (mirrored in native-udp-addon.ts). */
enum Stat {
	kBatches, /* receive batches handed to JavaScript */
	kDatagrams, /* datagrams handed to JavaScript */
	kTruncated, /* datagrams larger than a receive slot, dropped */
	kReceiveErrors, /* recvmmsg failures other than EAGAIN/EINTR, and poll errors */
	kSendErrors, /* datagrams that could not be sent */
	kSent, /* datagrams the kernel accepted */
	kSendCalls, /* sendmmsg system calls */
	kLastSendErrno,
	kLastReceiveErrno,
	kStatCount
};

/* The kernel caps recvmmsg/sendmmsg vectors at UIO_MAXIOV. */
constexpr uint32_t kMaxBatch = 1024;
/* Batches read per readiness event before yielding to the event loop, so a
 * flooded socket cannot starve timers and other sockets. The poll handle is
 * level-triggered, so whatever is left wakes us again on the next turn. */
constexpr int kMaxBatchesPerWakeup = 16;

struct ReceiveViews {
	uint8_t *arena;
	uint32_t slot_size;
	uint32_t batch;
	int32_t *lengths; /* -1 marks a slot to skip (truncated) */
	uint8_t *addresses; /* 16 bytes per slot */
	uint16_t *ports;
	uint8_t *families; /* 4 or 6 */
	/* Optional (nullptr when not given): the address each datagram was sent
	 * to, read from IP_PKTINFO/IPV6_PKTINFO on a wildcard-bound socket;
	 * family 0 when the kernel did not say. */
	uint8_t *destinations; /* 16 bytes per slot */
	uint8_t *destination_families;
};

struct SendViews {
	uint8_t *arena;
	size_t arena_size;
	uint32_t batch;
	int32_t *offsets;
	int32_t *lengths;
	uint8_t *addresses;
	uint16_t *ports;
	uint8_t *families;
	/* Optional: the source address each datagram must leave from (family 0:
	 * the kernel's choice), so an answer on a wildcard-bound socket comes
	 * from the address the query went to. */
	uint8_t *sources; /* 16 bytes per datagram */
	uint8_t *source_families;
};

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message. */
constexpr size_t kPktInfoSpace = CMSG_SPACE(sizeof(in6_pktinfo)) > CMSG_SPACE(sizeof(in_pktinfo))
					 ? CMSG_SPACE(sizeof(in6_pktinfo))
					 : CMSG_SPACE(sizeof(in_pktinfo));

class UdpSocket : public Napi::ObjectWrap<UdpSocket> {
public:
	static Napi::Function Define(Napi::Env env);
	explicit UdpSocket(const Napi::CallbackInfo &info);
	~UdpSocket() override;

private:
	enum class State { Open, Closing, Closed };

	Napi::Value Info(const Napi::CallbackInfo &info);
	Napi::Value Start(const Napi::CallbackInfo &info);
	Napi::Value Flush(const Napi::CallbackInfo &info);
	Napi::Value Connect(const Napi::CallbackInfo &info);
	Napi::Value Close(const Napi::CallbackInfo &info);

	static void OnPoll(uv_poll_t *handle, int status, int events);
	static void OnPollClosed(uv_handle_t *handle);
	static void OnEnvTeardown(napi_async_cleanup_hook_handle handle, void *arg);

	bool SetUpViews(Napi::Env env, Napi::Object recv, Napi::Object send, Napi::Value stats);
	void Drain();
	bool Deliver(uint32_t count);
	void RecoverFromPollError(int status);
	uint32_t SendPrepared(uint32_t count);
	void RejectSend(int err);
	void BeginClose();
	void FinishClose();
	void EnablePktInfo();
	void ReadDestination(uint32_t slot);
	void AttachSource(uint32_t datagram, msghdr &h, uint32_t slot);

	State state_ = State::Open;
	int fd_ = -1;
	BoundSocket bound_{};
	uv_poll_t *poll_ = nullptr;
	bool strong_ = false;
	/* connect()ed: sends carry no address (the kernel keeps the route) and
	 * the kernel drops datagrams from anyone but the peer. */
	bool connected_ = false;
	bool tearing_down_ = false;
	napi_async_cleanup_hook_handle cleanup_hook_ = nullptr;

	Napi::FunctionReference callback_;
	std::unique_ptr<Napi::AsyncContext> async_context_;
	std::vector<napi_deferred> close_waiters_;
	/* Strong references keep the shared typed arrays (and so the raw
	 * pointers below) alive for as long as this socket exists. */
	std::vector<Napi::ObjectReference> keep_;

	double *stats_ = nullptr;
	ReceiveViews recv_{};
	SendViews send_{};
	std::vector<mmsghdr> recv_hdrs_;
	std::vector<iovec> recv_iov_;
	std::vector<sockaddr_storage> recv_names_;
	std::vector<mmsghdr> send_hdrs_;
	std::vector<iovec> send_iov_;
	std::vector<sockaddr_storage> send_names_;
	/* Destination addresses are asked of the kernel (wildcard bind). */
	bool pktinfo_ = false;
	std::vector<uint8_t> recv_ctrl_; /* kPktInfoSpace per receive slot */
	std::vector<uint8_t> send_ctrl_; /* kPktInfoSpace per send slot */
};

} // namespace dtsudp
