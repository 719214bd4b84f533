// ELF objects: open, pin or reuse maps before load, load, enumerate.
// An object is handed to JS as an External whose finalizer frees it, so a
// forgotten close() leaks nothing once the handle is collected.

#include "object-ops.h"

#include "args.h"
#include "errors.h"
#include "libbpf-log.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <string>

namespace dtsbpf {

struct ObjectHandle {
	struct bpf_object *obj;
};

static void free_handle(Napi::Env, ObjectHandle *h)
{
	if (h->obj)
		bpf_object__close(h->obj);
	delete h;
}

static ObjectHandle *get_handle(const Napi::CallbackInfo &info)
{
	if (info.Length() < 1 || !info[0].IsExternal())
		return nullptr;
	ObjectHandle *h = info[0].As<Napi::External<ObjectHandle>>().Data();
	return h && h->obj ? h : nullptr;
}

static Napi::Value closed_error(Napi::Env env)
{
	return throw_type(env, "BPF object is closed");
}

static Napi::Value ObjectOpen(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	std::string path = info[0].As<Napi::String>();
	libbpf_log_begin();
	struct bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
	if (!obj)
		return throw_errno(env, "open object", errno, libbpf_log_take());
	ObjectHandle *h = new ObjectHandle{obj};
	return Napi::External<ObjectHandle>::New(env, h, free_handle);
}

static Napi::Object describe_map(Napi::Env env, struct bpf_map *m)
{
	Napi::Object o = Napi::Object::New(env);
	o.Set("name", bpf_map__name(m));
	o.Set("type", (int)bpf_map__type(m));
	o.Set("keySize", bpf_map__key_size(m));
	o.Set("valueSize", bpf_map__value_size(m));
	o.Set("maxEntries", bpf_map__max_entries(m));
	o.Set("flags", bpf_map__map_flags(m));
	o.Set("fd", bpf_map__fd(m));
	const char *pin = bpf_map__pin_path(m);
	o.Set("pinPath", pin ? Napi::Value(Napi::String::New(env, pin)) : env.Null());
	return o;
}

static Napi::Value ObjectMaps(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	ObjectHandle *h = get_handle(info);
	if (!h)
		return closed_error(env);
	Napi::Array arr = Napi::Array::New(env);
	struct bpf_map *m;
	uint32_t i = 0;
	bpf_object__for_each_map(m, h->obj) arr.Set(i++, describe_map(env, m));
	return arr;
}

static struct bpf_map *find_map(const Napi::CallbackInfo &info, ObjectHandle *h)
{
	std::string name = info[1].As<Napi::String>();
	return bpf_object__find_map_by_name(h->obj, name.c_str());
}

/* setMapPinPath(obj, mapName, path): libbpf reuses a compatible map already
 * pinned there, or pins the new one there at load. */
static Napi::Value ObjectSetMapPinPath(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	ObjectHandle *h = get_handle(info);
	if (!h)
		return closed_error(env);
	struct bpf_map *m = find_map(info, h);
	if (!m)
		return throw_errno(env, "find map", ENOENT);
	std::string path = info[2].As<Napi::String>();
	int err = bpf_map__set_pin_path(m, path.c_str());
	if (err)
		return throw_errno(env, "set pin path", err);
	return env.Undefined();
}

static Napi::Value ObjectReuseMapFd(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	ObjectHandle *h = get_handle(info);
	if (!h)
		return closed_error(env);
	struct bpf_map *m = find_map(info, h);
	if (!m)
		return throw_errno(env, "find map", ENOENT);
	libbpf_log_begin();
	int err = bpf_map__reuse_fd(m, arg_int(info, 2));
	if (err)
		return throw_errno(env, "reuse map fd", err, libbpf_log_take());
	return env.Undefined();
}

static Napi::Value ObjectSetMapMaxEntries(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	ObjectHandle *h = get_handle(info);
	if (!h)
		return closed_error(env);
	struct bpf_map *m = find_map(info, h);
	if (!m)
		return throw_errno(env, "find map", ENOENT);
	int err = bpf_map__set_max_entries(m, arg_u32(info, 2));
	if (err)
		return throw_errno(env, "set max entries", err);
	return env.Undefined();
}

/* Writes into a .rodata/.data section before load: how load-time constants
 * (e.g. DNS port sets) are set without recompiling. */
static Napi::Value ObjectSetInitialValue(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	ObjectHandle *h = get_handle(info);
	if (!h)
		return closed_error(env);
	struct bpf_map *m = find_map(info, h);
	Bytes data = arg_bytes(info, 2);
	if (!m || !data.ok)
		return throw_errno(env, "find map", ENOENT);
	int err = bpf_map__set_initial_value(m, data.data, data.len);
	if (err)
		return throw_errno(env, "set initial value", err);
	return env.Undefined();
}

static Napi::Value ObjectLoad(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	ObjectHandle *h = get_handle(info);
	if (!h)
		return closed_error(env);
	libbpf_log_begin();
	int err = bpf_object__load(h->obj);
	std::string log = libbpf_log_take();
	if (err)
		return throw_errno(env, "load object", err, log);
	return env.Undefined();
}

static Napi::Value ObjectPrograms(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	ObjectHandle *h = get_handle(info);
	if (!h)
		return closed_error(env);
	Napi::Array arr = Napi::Array::New(env);
	struct bpf_program *p;
	uint32_t i = 0;
	bpf_object__for_each_program(p, h->obj)
	{
		Napi::Object o = Napi::Object::New(env);
		o.Set("name", bpf_program__name(p));
		o.Set("section", bpf_program__section_name(p));
		o.Set("type", (int)bpf_program__type(p));
		o.Set("fd", bpf_program__fd(p));
		arr.Set(i++, o);
	}
	return arr;
}

static Napi::Value ObjectClose(const Napi::CallbackInfo &info)
{
	if (info.Length() >= 1 && info[0].IsExternal()) {
		ObjectHandle *h = info[0].As<Napi::External<ObjectHandle>>().Data();
		if (h && h->obj) {
			bpf_object__close(h->obj);
			h->obj = nullptr;
		}
	}
	return info.Env().Undefined();
}

void init_object_ops(Napi::Env env, Napi::Object exports)
{
	exports.Set("objectOpen", Napi::Function::New(env, ObjectOpen));
	exports.Set("objectMaps", Napi::Function::New(env, ObjectMaps));
	exports.Set("objectSetMapPinPath", Napi::Function::New(env, ObjectSetMapPinPath));
	exports.Set("objectReuseMapFd", Napi::Function::New(env, ObjectReuseMapFd));
	exports.Set("objectSetMapMaxEntries", Napi::Function::New(env, ObjectSetMapMaxEntries));
	exports.Set("objectSetInitialValue", Napi::Function::New(env, ObjectSetInitialValue));
	exports.Set("objectLoad", Napi::Function::New(env, ObjectLoad));
	exports.Set("objectPrograms", Napi::Function::New(env, ObjectPrograms));
	exports.Set("objectClose", Napi::Function::New(env, ObjectClose));
}

} // namespace dtsbpf
