#include "libbpf-log.h"

#include <bpf/libbpf.h>
#include <cstdarg>
#include <cstdio>

namespace dtsbpf {

/* Node runs addon calls on the JS thread only, so one buffer suffices. */
static std::string captured;
static const size_t max_captured = 1 << 20;

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	/* The verifier log arrives as one message, often far over any fixed
	 * buffer: measure first, then format into the capture directly. */
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(nullptr, 0, fmt, copy);
	va_end(copy);
	if (n <= 0 || captured.size() >= max_captured)
		return n;
	size_t at = captured.size();
	captured.resize(at + n + 1);
	vsnprintf(&captured[at], n + 1, fmt, ap);
	captured.resize(at + n);
	return n;
}

void libbpf_log_install()
{
	libbpf_set_print(print_fn);
}

void libbpf_log_begin()
{
	captured.clear();
}

std::string libbpf_log_take()
{
	std::string out;
	out.swap(captured);
	return out;
}

} // namespace dtsbpf
