#include "bind-socket.h"

#include "socket-address.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dtsudp {

static bool is_zero(const uint8_t *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (bytes[i])
			return false;
	return true;
}

static BoundSocket fail(BoundSocket &s, const char *op)
{
	s.err = errno;
	s.op = op;
	if (s.fd >= 0)
		close(s.fd);
	s.fd = -1;
	return s;
}

static int set_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

static int get_int(int fd, int level, int name)
{
	int value = 0;
	socklen_t len = sizeof(value);
	if (getsockopt(fd, level, name, &value, &len))
		return -1;
	return value;
}

/* What getsockname and getsockopt say of the bound socket s.fd. */
static BoundSocket describe_bound(BoundSocket &s)
{
	sockaddr_storage local;
	socklen_t len = sizeof(local);
	if (getsockname(s.fd, reinterpret_cast<sockaddr *>(&local), &len))
		return fail(s, "getsockname");
	s.family = from_sockaddr(&local, s.address, &s.port);
	s.receive_buffer = get_int(s.fd, SOL_SOCKET, SO_RCVBUF);
	s.send_buffer = get_int(s.fd, SOL_SOCKET, SO_SNDBUF);
	return s;
}

BoundSocket open_bound_socket(const BindRequest &req)
{
	BoundSocket s{};
	s.fd = -1;
	s.sock_family = req.family == 6 ? AF_INET6 : AF_INET;
	s.fd = socket(s.sock_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s.fd < 0)
		return fail(s, "socket");
	if (s.sock_family == AF_INET6 && is_zero(req.address, 16) &&
	    set_int(s.fd, IPPROTO_IPV6, IPV6_V6ONLY, 0))
		return fail(s, "setsockopt IPV6_V6ONLY");
	if (req.reuse_port && set_int(s.fd, SOL_SOCKET, SO_REUSEPORT, 1))
		return fail(s, "setsockopt SO_REUSEPORT");
	if (req.receive_buffer > 0 && set_int(s.fd, SOL_SOCKET, SO_RCVBUF, req.receive_buffer))
		return fail(s, "setsockopt SO_RCVBUF");
	if (req.send_buffer > 0 && set_int(s.fd, SOL_SOCKET, SO_SNDBUF, req.send_buffer))
		return fail(s, "setsockopt SO_SNDBUF");

	sockaddr_storage local;
	socklen_t len = to_sockaddr(s.sock_family, req.family, req.address, req.port, &local);
	if (!len) {
		errno = EAFNOSUPPORT;
		return fail(s, "bind");
	}
	if (bind(s.fd, reinterpret_cast<sockaddr *>(&local), len))
		return fail(s, "bind");

	return describe_bound(s);
}

BoundSocket adopt_bound_socket(int fd)
{
	BoundSocket s{};
	s.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (s.fd < 0)
		return fail(s, "fcntl F_DUPFD_CLOEXEC");
	int flags = fcntl(s.fd, F_GETFL);
	if (flags < 0 || fcntl(s.fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return fail(s, "fcntl O_NONBLOCK");
	int type = get_int(s.fd, SOL_SOCKET, SO_TYPE);
	if (type != SOCK_DGRAM) {
		errno = type < 0 ? errno : ENOTSUP;
		return fail(s, "adopt (not a UDP socket)");
	}
	s.sock_family = get_int(s.fd, SOL_SOCKET, SO_DOMAIN);
	if (s.sock_family != AF_INET && s.sock_family != AF_INET6) {
		errno = EAFNOSUPPORT;
		return fail(s, "adopt (not an IP socket)");
	}
	return describe_bound(s);
}

} // namespace dtsudp
