#include "privileges.h"
#include "errors.h"

#include <cerrno>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace dtsudp {

static std::string string_arg(const Napi::CallbackInfo &info, size_t i)
{
	return info.Length() > i && info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : std::string();
}

Napi::Value LookupUser(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	std::string name = string_arg(info, 0);
	std::vector<char> buf(16384);
	struct passwd pw, *res = nullptr;
	int err = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res);
	if (err)
		return throw_errno(env, "getpwnam_r", err);
	if (!res)
		return env.Null();
	Napi::Object o = Napi::Object::New(env);
	o.Set("uid", Napi::Number::New(env, pw.pw_uid));
	o.Set("gid", Napi::Number::New(env, pw.pw_gid));
	return o;
}

Napi::Value LookupGroup(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	std::string name = string_arg(info, 0);
	std::vector<char> buf(16384);
	struct group gr, *res = nullptr;
	int err = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res);
	if (err)
		return throw_errno(env, "getgrnam_r", err);
	if (!res)
		return env.Null();
	return Napi::Number::New(env, gr.gr_gid);
}

static int cap_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	return (int)syscall(SYS_capget, &hdr, data);
}

static int cap_set(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	return (int)syscall(SYS_capset, &hdr, data);
}

/*
 * Capabilities are per thread, and so is PR_SET_KEEPCAPS: glibc applies
 * setgid/setuid to every thread, but only this one (node's main thread,
 * where the BPF and socket calls are made) keeps the chosen capabilities.
 * The others (libuv's pool, V8's helpers) lose them all, as they should.
 */
Napi::Value SwitchIds(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber())
		return throw_type(env, "switchIds(uid, gid, keepLow, keepHigh): numbers expected");
	int64_t uid = info[0].As<Napi::Number>().Int64Value();
	int64_t gid = info[1].As<Napi::Number>().Int64Value();
	uint32_t keep[2] = { info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().Uint32Value() };

	if (uid >= 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return throw_errno(env, "prctl(PR_SET_KEEPCAPS)", errno);
	if (gid >= 0) {
		if (setgid((gid_t)gid) < 0)
			return throw_errno(env, "setgid", errno);
		// Root's supplementary groups go too, as with dnsdist.
		if (setgroups(0, nullptr) < 0)
			return throw_errno(env, "setgroups", errno);
	}
	if (uid >= 0) {
		if (setuid((uid_t)uid) < 0)
			return throw_errno(env, "setuid", errno);
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}

	struct __user_cap_data_struct data[2];
	if (cap_get(data) < 0)
		return throw_errno(env, "capget", errno);
	for (int i = 0; i < 2; i++) {
		data[i].permitted &= keep[i];
		data[i].effective = data[i].permitted;
		data[i].inheritable &= data[i].permitted;
	}
	if (cap_set(data) < 0)
		return throw_errno(env, "capset", errno);
	Napi::Object o = Napi::Object::New(env);
	o.Set("low", Napi::Number::New(env, data[0].effective));
	o.Set("high", Napi::Number::New(env, data[1].effective));
	return o;
}

} // namespace dtsudp
