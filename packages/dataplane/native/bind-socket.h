// Creating and binding the UDP socket: everything that can fail at
// configuration time, reported as (errno, operation) so the caller can
// throw one typed error naming the step that failed.
#pragma once

#include <cstdint>

namespace dtsudp {

struct BindRequest {
	uint8_t family; /* 4 or 6 */
	uint8_t address[16]; /* IPv4 in the first 4 bytes */
	uint16_t port;
	bool reuse_port;
	int receive_buffer; /* SO_RCVBUF; 0 keeps the system default */
	int send_buffer; /* SO_SNDBUF; 0 keeps the system default */
};

struct BoundSocket {
	int fd; /* -1 on failure */
	int sock_family; /* AF_INET or AF_INET6 */
	int err; /* errno of the failing step, 0 on success */
	const char *op; /* the failing step, for the error message */
	/* What getsockname and getsockopt report once bound. */
	uint8_t family;
	uint8_t address[16];
	uint16_t port;
	int receive_buffer;
	int send_buffer;
};

/*
 * socket + options + bind + getsockname. Binding the IPv6 wildcard ("::")
 * clears IPV6_V6ONLY so one socket serves both families, IPv4 peers showing
 * up as IPv4-mapped addresses (unmapped again on receive). The fd is
 * non-blocking and close-on-exec. On failure nothing is left open.
 */
BoundSocket open_bound_socket(const BindRequest &req);

/*
 * A bound UDP socket this process already has (fd, which stays the
 * caller's): a duplicate of it, non-blocking and close-on-exec, described
 * as open_bound_socket describes the socket it binds. A data-plane worker
 * started again takes the socket its predecessor bound this way, instead
 * of binding again (which the kernel refuses once the process has
 * switched user: SO_REUSEPORT groups belong to the user who bound first).
 */
BoundSocket adopt_bound_socket(int fd);

} // namespace dtsudp
