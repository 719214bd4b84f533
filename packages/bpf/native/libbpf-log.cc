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
	char buf[4096];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n > 0 && captured.size() < max_captured)
		captured.append(buf, n < (int)sizeof(buf) ? n : sizeof(buf) - 1);
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
