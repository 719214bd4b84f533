// Peer addresses cross the JS boundary as a family byte (4 or 6), 16
// address bytes (IPv4 uses the first 4) and a host-order port, so no
// strings or objects are built per datagram. These convert to and from
// the kernel's sockaddr forms.
#pragma once

#include <cstdint>
#include <sys/socket.h>

namespace dtsudp {

/*
 * Fill `out` with the destination for a socket of `sock_family` (AF_INET or
 * AF_INET6). IPv4 destinations on an IPv6 socket become IPv4-mapped, and
 * IPv4-mapped destinations on an IPv4 socket are unmapped. Returns the
 * sockaddr length, or 0 when the socket cannot reach that family.
 */
socklen_t to_sockaddr(int sock_family, uint8_t family, const uint8_t *bytes, uint16_t port, sockaddr_storage *out);

/*
 * Read a received source address into `bytes` (16 bytes; IPv4 in the
 * first 4) and `port`. IPv4-mapped IPv6 sources are unmapped to IPv4.
 * Returns 4, 6, or 0 for a family this socket should never see.
 */
uint8_t from_sockaddr(const sockaddr_storage *sa, uint8_t *bytes, uint16_t *port);

} // namespace dtsudp
