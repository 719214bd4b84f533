// Entry point of the @dnsdist-ts/bpf addon: a thin, fd-based surface over
// libbpf. Lifetimes, validation and typed errors live in TypeScript.

#include "attach-ops.h"
#include "libbpf-log.h"
#include "map-ops.h"
#include "object-ops.h"

#include <bpf/libbpf.h>

static Napi::Object Init(Napi::Env env, Napi::Object exports)
{
	dtsbpf::libbpf_log_install();
	dtsbpf::init_map_ops(env, exports);
	dtsbpf::init_object_ops(env, exports);
	dtsbpf::init_attach_ops(env, exports);
	exports.Set("libbpfVersion", Napi::String::New(env, libbpf_version_string()));
	return exports;
}

NODE_API_MODULE(dnsdist_bpf, Init)
