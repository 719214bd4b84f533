// libbpf reports details (notably the verifier log) only through its print
// callback. We capture everything printed during one native call so a
// failure can carry it, instead of letting libbpf write to stderr.
#pragma once

#include <string>

namespace dtsbpf {

void libbpf_log_install();
/* Start capturing; returns what was captured by the previous capture. */
void libbpf_log_begin();
std::string libbpf_log_take();

} // namespace dtsbpf
