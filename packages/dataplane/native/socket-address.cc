#include "socket-address.h"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

namespace dtsudp {

static const uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

socklen_t to_sockaddr(int sock_family, uint8_t family, const uint8_t *bytes, uint16_t port, sockaddr_storage *out)
{
	if (sock_family == AF_INET6) {
		auto *sin6 = reinterpret_cast<sockaddr_in6 *>(out);
		memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (family == 4) {
			memcpy(sin6->sin6_addr.s6_addr, kMappedPrefix, 12);
			memcpy(sin6->sin6_addr.s6_addr + 12, bytes, 4);
		} else if (family == 6) {
			memcpy(sin6->sin6_addr.s6_addr, bytes, 16);
		} else {
			return 0;
		}
		return sizeof(sockaddr_in6);
	}
	const uint8_t *v4;
	if (family == 4)
		v4 = bytes;
	else if (family == 6 && memcmp(bytes, kMappedPrefix, 12) == 0)
		v4 = bytes + 12;
	else
		return 0;
	auto *sin = reinterpret_cast<sockaddr_in *>(out);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	memcpy(&sin->sin_addr.s_addr, v4, 4);
	return sizeof(sockaddr_in);
}

uint8_t from_sockaddr(const sockaddr_storage *sa, uint8_t *bytes, uint16_t *port)
{
	if (sa->ss_family == AF_INET) {
		auto *sin = reinterpret_cast<const sockaddr_in *>(sa);
		memcpy(bytes, &sin->sin_addr.s_addr, 4);
		*port = ntohs(sin->sin_port);
		return 4;
	}
	if (sa->ss_family == AF_INET6) {
		auto *sin6 = reinterpret_cast<const sockaddr_in6 *>(sa);
		*port = ntohs(sin6->sin6_port);
		if (memcmp(sin6->sin6_addr.s6_addr, kMappedPrefix, 12) == 0) {
			memcpy(bytes, sin6->sin6_addr.s6_addr + 12, 4);
			return 4;
		}
		memcpy(bytes, sin6->sin6_addr.s6_addr, 16);
		return 6;
	}
	*port = 0;
	return 0;
}

} // namespace dtsudp
