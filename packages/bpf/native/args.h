// Small argument readers shared by the addon's entry points. The
// TypeScript layer validates shapes; these only guard against misuse
// reaching a syscall with a wrong-sized buffer.
#pragma once

#include <napi.h>
#include <cstdint>

namespace dtsbpf {

struct Bytes {
	uint8_t *data;
	size_t len;
	bool ok;
};

inline Bytes arg_bytes(const Napi::CallbackInfo &info, size_t i)
{
	if (i >= info.Length() || !info[i].IsTypedArray())
		return {nullptr, 0, false};
	Napi::Uint8Array a = info[i].As<Napi::Uint8Array>();
	return {a.Data(), a.ByteLength(), true};
}

inline int arg_int(const Napi::CallbackInfo &info, size_t i, int def = 0)
{
	if (i >= info.Length() || !info[i].IsNumber())
		return def;
	return info[i].As<Napi::Number>().Int32Value();
}

inline uint32_t arg_u32(const Napi::CallbackInfo &info, size_t i, uint32_t def = 0)
{
	if (i >= info.Length() || !info[i].IsNumber())
		return def;
	return info[i].As<Napi::Number>().Uint32Value();
}

} // namespace dtsbpf
