#include "tcp-listen.h"

#include "errors.h"
#include "socket-address.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dtsudp {

static int set_one(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

static bool is_zero(const uint8_t *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (bytes[i])
			return false;
	return true;
}

Napi::Value OpenTcpListener(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 1 || !info[0].IsObject())
		return throw_type(env, "openTcpListener(options): options object expected");
	Napi::Object opts = info[0].As<Napi::Object>();
	uint32_t family = opts.Get("family").ToNumber().Uint32Value();
	Napi::Value addr = opts.Get("address");
	if ((family != 4 && family != 6) || !addr.IsTypedArray() || addr.As<Napi::Uint8Array>().ByteLength() < 16)
		return throw_type(env, "openTcpListener: needs family 4 or 6 and a 16-byte address");
	uint8_t address[16];
	memcpy(address, addr.As<Napi::Uint8Array>().Data(), 16);
	uint32_t port = opts.Get("port").ToNumber().Uint32Value();
	if (port > 65535)
		return throw_type(env, "openTcpListener: port out of range");
	bool reuse_port = opts.Get("reusePort").ToBoolean();
	Napi::Value fast_open_value = opts.Get("fastOpenQueueSize");
	int fast_open = fast_open_value.IsNumber() ? fast_open_value.ToNumber().Int32Value() : 0;
	int backlog = opts.Get("backlog").ToNumber().Int32Value();
	if (backlog <= 0)
		backlog = 511;

	int sock_family = family == 6 ? AF_INET6 : AF_INET;
	int fd = socket(sock_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return throw_errno(env, "socket", errno);
	const char *op = nullptr;
	sockaddr_storage local;
	socklen_t len;
	if (set_one(fd, SOL_SOCKET, SO_REUSEADDR, 1)) {
		op = "setsockopt SO_REUSEADDR";
		goto fail;
	}
	if (sock_family == AF_INET6 && is_zero(address, 16) && set_one(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0)) {
		op = "setsockopt IPV6_V6ONLY";
		goto fail;
	}
	if (reuse_port && set_one(fd, SOL_SOCKET, SO_REUSEPORT, 1)) {
		op = "setsockopt SO_REUSEPORT";
		goto fail;
	}
	len = to_sockaddr(sock_family, static_cast<uint8_t>(family), address, static_cast<uint16_t>(port), &local);
	if (!len) {
		errno = EAFNOSUPPORT;
		op = "bind";
		goto fail;
	}
	if (bind(fd, reinterpret_cast<sockaddr *>(&local), len)) {
		op = "bind";
		goto fail;
	}
	/* The queue of connections whose SYN carried data before the handshake completed. */
	if (fast_open > 0 && set_one(fd, IPPROTO_TCP, TCP_FASTOPEN, fast_open)) {
		op = "setsockopt TCP_FASTOPEN";
		goto fail;
	}
	if (listen(fd, backlog)) {
		op = "listen";
		goto fail;
	}
	len = sizeof(local);
	if (getsockname(fd, reinterpret_cast<sockaddr *>(&local), &len)) {
		op = "getsockname";
		goto fail;
	}
	{
		uint8_t bound[16];
		uint16_t bound_port = 0;
		from_sockaddr(&local, bound, &bound_port);
		Napi::Object result = Napi::Object::New(env);
		result.Set("fd", Napi::Number::New(env, fd));
		result.Set("port", Napi::Number::New(env, bound_port));
		return result;
	}
fail:
	{
		int err = errno;
		close(fd);
		return throw_errno(env, op, err);
	}
}

} // namespace dtsudp

namespace dtsudp {

Napi::Value OpenTcpFastOpenClient(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 1 || !info[0].IsNumber())
		return throw_type(env, "openTcpFastOpenClient(family): family 4 or 6 expected");
	uint32_t family = info[0].As<Napi::Number>().Uint32Value();
	if (family != 4 && family != 6)
		return throw_type(env, "openTcpFastOpenClient: family 4 or 6 expected");
	int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return throw_errno(env, "socket", errno);
	/* connect() then returns at once and the first write goes out on the SYN (with a cookie). */
	if (set_one(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)) {
		int err = errno;
		close(fd);
		return throw_errno(env, "setsockopt TCP_FASTOPEN_CONNECT", err);
	}
	return Napi::Number::New(env, fd);
}

Napi::Value DupFd(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 1 || !info[0].IsNumber())
		return throw_type(env, "dupFd(fd): a number expected");
	int fd = fcntl(info[0].As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return throw_errno(env, "fcntl F_DUPFD_CLOEXEC", errno);
	return Napi::Number::New(env, fd);
}

} // namespace dtsudp
