// Attaching programs: XDP on interfaces, socket filters on sockets, and
// BPF_PROG_TEST_RUN for running a program on a crafted packet.

#include "attach-ops.h"

#include "args.h"
#include "errors.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <linux/if_link.h>
#include <net/if.h>
#include <string>
#include <sys/socket.h>
#include <vector>

#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif
#ifndef SO_DETACH_BPF
#define SO_DETACH_BPF 27
#endif

namespace dtsbpf {

static Napi::Value IfIndex(const Napi::CallbackInfo &info)
{
	std::string name = info[0].As<Napi::String>();
	unsigned idx = if_nametoindex(name.c_str());
	if (!idx)
		return throw_errno(info.Env(), "interface lookup", errno);
	return Napi::Number::New(info.Env(), idx);
}

static Napi::Value IfName(const Napi::CallbackInfo &info)
{
	char buf[IF_NAMESIZE];
	if (!if_indextoname(arg_u32(info, 0), buf))
		return throw_errno(info.Env(), "interface lookup", errno);
	return Napi::String::New(info.Env(), buf);
}

/* xdpAttach(ifindex, progFd, flags); flags carry the mode and
 * XDP_FLAGS_UPDATE_IF_NOEXIST so we never replace someone else's program. */
static Napi::Value XdpAttach(const Napi::CallbackInfo &info)
{
	int err = bpf_xdp_attach(arg_int(info, 0), arg_int(info, 1), arg_u32(info, 2), nullptr);
	if (err)
		return throw_errno(info.Env(), "XDP attach", err);
	return info.Env().Undefined();
}

/* xdpDetach(ifindex, flags, expectedProgFd): only detaches if the program
 * attached is still ours (old_prog_fd + XDP_FLAGS_REPLACE). */
static Napi::Value XdpDetach(const Napi::CallbackInfo &info)
{
	int ifindex = arg_int(info, 0);
	uint32_t flags = arg_u32(info, 1);
	int old_fd = arg_int(info, 2, -1);
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_fd);
	if (old_fd >= 0)
		flags |= XDP_FLAGS_REPLACE;
	int err = bpf_xdp_detach(ifindex, flags, old_fd >= 0 ? &opts : nullptr);
	if (err)
		return throw_errno(info.Env(), "XDP detach", err);
	return info.Env().Undefined();
}

static Napi::Value XdpQuery(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	LIBBPF_OPTS(bpf_xdp_query_opts, opts);
	int err = bpf_xdp_query(arg_int(info, 0), 0, &opts);
	if (err)
		return throw_errno(env, "XDP query", err);
	Napi::Object o = Napi::Object::New(env);
	o.Set("attachMode", (int)opts.attach_mode);
	o.Set("progId", opts.prog_id);
	o.Set("drvProgId", opts.drv_prog_id);
	o.Set("skbProgId", opts.skb_prog_id);
	o.Set("hwProgId", opts.hw_prog_id);
	return o;
}

static Napi::Value ProgInfo(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	struct bpf_prog_info pi;
	uint32_t len = sizeof(pi);
	memset(&pi, 0, sizeof(pi));
	if (bpf_obj_get_info_by_fd(arg_int(info, 0), &pi, &len))
		return throw_errno(env, "program info", errno);
	Napi::Object o = Napi::Object::New(env);
	o.Set("id", pi.id);
	o.Set("type", pi.type);
	o.Set("name", std::string(pi.name));
	return o;
}

static Napi::Value ProgFdById(const Napi::CallbackInfo &info)
{
	int fd = bpf_prog_get_fd_by_id(arg_u32(info, 0));
	if (fd < 0)
		return throw_errno(info.Env(), "program by id", errno);
	return Napi::Number::New(info.Env(), fd);
}

static Napi::Value SockAttach(const Napi::CallbackInfo &info)
{
	int prog = arg_int(info, 1);
	if (setsockopt(arg_int(info, 0), SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof(prog)))
		return throw_errno(info.Env(), "socket filter attach", errno);
	return info.Env().Undefined();
}

static Napi::Value SockDetach(const Napi::CallbackInfo &info)
{
	int dummy = 0;
	if (setsockopt(arg_int(info, 0), SOL_SOCKET, SO_DETACH_BPF, &dummy, sizeof(dummy)))
		return throw_errno(info.Env(), "socket filter detach", errno);
	return info.Env().Undefined();
}

/* testRun(progFd, data, repeat, outCapacity) -> {retval, data, duration} */
static Napi::Value ProgTestRun(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Bytes in = arg_bytes(info, 1);
	if (!in.ok)
		return throw_type(env, "testRun needs a packet Uint8Array");
	uint32_t cap = arg_u32(info, 3, 0);
	if (cap < in.len + 256)
		cap = in.len + 256;
	std::vector<uint8_t> out(cap);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data, .data_out = out.data(),
		    .data_size_in = (uint32_t)in.len, .data_size_out = cap,
		    .repeat = arg_int(info, 2, 1));
	int err = bpf_prog_test_run_opts(arg_int(info, 0), &opts);
	if (err)
		return throw_errno(env, "program test run", errno);
	Napi::Object o = Napi::Object::New(env);
	o.Set("retval", opts.retval);
	o.Set("data", Napi::Buffer<uint8_t>::Copy(env, out.data(), opts.data_size_out));
	o.Set("duration", opts.duration);
	return o;
}

void init_attach_ops(Napi::Env env, Napi::Object exports)
{
	exports.Set("ifIndex", Napi::Function::New(env, IfIndex));
	exports.Set("ifName", Napi::Function::New(env, IfName));
	exports.Set("xdpAttach", Napi::Function::New(env, XdpAttach));
	exports.Set("xdpDetach", Napi::Function::New(env, XdpDetach));
	exports.Set("xdpQuery", Napi::Function::New(env, XdpQuery));
	exports.Set("progInfo", Napi::Function::New(env, ProgInfo));
	exports.Set("progFdById", Napi::Function::New(env, ProgFdById));
	exports.Set("sockAttach", Napi::Function::New(env, SockAttach));
	exports.Set("sockDetach", Napi::Function::New(env, SockDetach));
	exports.Set("progTestRun", Napi::Function::New(env, ProgTestRun));
}

} // namespace dtsbpf
