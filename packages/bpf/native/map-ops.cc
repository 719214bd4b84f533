// Map syscalls. Every function takes plain fds and byte buffers; the
// TypeScript layer owns lifetimes and shapes. Multi-entry operations run
// in one native call so a dump or bulk insert pays one JS<->C transition.

#include "map-ops.h"

#include "args.h"
#include "btf-types.h"
#include "errors.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <string>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* kernel-internal, leaks out of some map ops */
#endif

namespace dtsbpf {

static Napi::Value MapCreate(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int type = arg_int(info, 0);
	std::string name = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
	uint32_t key_size = arg_u32(info, 2), value_size = arg_u32(info, 3);
	uint32_t max_entries = arg_u32(info, 4), flags = arg_u32(info, 5);

	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	BtfIds btf = {-1, 0, 0, 0};
	if (info.Length() > 6 && info[6].IsObject()) {
		btf = btf_load_kv(env, info[6].As<Napi::Object>());
		if (btf.err)
			return throw_errno(env, "BTF load for map '" + name + "'", btf.err);
		opts.btf_fd = btf.fd;
		opts.btf_key_type_id = btf.key_id;
		opts.btf_value_type_id = btf.value_id;
	}
	int fd = bpf_map_create((enum bpf_map_type)type, name.empty() ? nullptr : name.c_str(),
				key_size, value_size, max_entries, &opts);
	int err = errno;
	if (btf.fd >= 0)
		close(btf.fd);
	if (fd < 0)
		return throw_errno(env, "map create", err);
	return Napi::Number::New(env, fd);
}

static Napi::Value ObjPin(const Napi::CallbackInfo &info)
{
	std::string path = info[1].As<Napi::String>();
	if (bpf_obj_pin(arg_int(info, 0), path.c_str()))
		return throw_errno(info.Env(), "pin", errno);
	return info.Env().Undefined();
}

static Napi::Value ObjGet(const Napi::CallbackInfo &info)
{
	std::string path = info[0].As<Napi::String>();
	int fd = bpf_obj_get(path.c_str());
	if (fd < 0)
		return throw_errno(info.Env(), "open pinned object", errno);
	return Napi::Number::New(info.Env(), fd);
}

static Napi::Value MapInfo(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	struct bpf_map_info mi;
	uint32_t len = sizeof(mi);
	memset(&mi, 0, sizeof(mi));
	if (bpf_obj_get_info_by_fd(arg_int(info, 0), &mi, &len))
		return throw_errno(env, "map info", errno);
	Napi::Object o = Napi::Object::New(env);
	o.Set("type", (double)mi.type);
	o.Set("id", (double)mi.id);
	o.Set("keySize", (double)mi.key_size);
	o.Set("valueSize", (double)mi.value_size);
	o.Set("maxEntries", (double)mi.max_entries);
	o.Set("flags", (double)mi.map_flags);
	o.Set("name", std::string(mi.name));
	o.Set("btfId", (double)mi.btf_id);
	return o;
}

/* dup(fd): lets JS own a map fd that also belongs to a bpf_object. */
static Napi::Value Dup(const Napi::CallbackInfo &info)
{
	int fd = fcntl(arg_int(info, 0), F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return throw_errno(info.Env(), "dup", errno);
	return Napi::Number::New(info.Env(), fd);
}

static Napi::Value Close(const Napi::CallbackInfo &info)
{
	int fd = arg_int(info, 0, -1);
	if (fd >= 0)
		close(fd);
	return info.Env().Undefined();
}

/* lookup(fd, key, out) -> bool; fills `out` (no allocation per call). */
static Napi::Value MapLookup(const Napi::CallbackInfo &info)
{
	Bytes key = arg_bytes(info, 1), out = arg_bytes(info, 2);
	if (!key.ok || !out.ok)
		return throw_type(info.Env(), "lookup(fd, key, out) needs two Uint8Arrays");
	if (bpf_map_lookup_elem(arg_int(info, 0), key.data, out.data)) {
		if (errno == ENOENT)
			return Napi::Boolean::New(info.Env(), false);
		return throw_errno(info.Env(), "lookup", errno);
	}
	return Napi::Boolean::New(info.Env(), true);
}

static Napi::Value MapUpdate(const Napi::CallbackInfo &info)
{
	Bytes key = arg_bytes(info, 1), value = arg_bytes(info, 2);
	if (!key.ok || !value.ok)
		return throw_type(info.Env(), "update(fd, key, value, flags) needs two Uint8Arrays");
	if (bpf_map_update_elem(arg_int(info, 0), key.data, value.data, arg_u32(info, 3)))
		return throw_errno(info.Env(), "update", errno);
	return info.Env().Undefined();
}

/* delete(fd, key) -> bool: false when the key was absent. */
static Napi::Value MapDelete(const Napi::CallbackInfo &info)
{
	Bytes key = arg_bytes(info, 1);
	if (!key.ok)
		return throw_type(info.Env(), "delete(fd, key) needs a Uint8Array");
	if (bpf_map_delete_elem(arg_int(info, 0), key.data)) {
		if (errno == ENOENT)
			return Napi::Boolean::New(info.Env(), false);
		return throw_errno(info.Env(), "delete", errno);
	}
	return Napi::Boolean::New(info.Env(), true);
}

/*
 * keys(fd, keySize) -> Buffer of concatenated keys: a snapshot, so callers
 * can delete while they walk it. A hash map restarts get_next_key from the
 * beginning when the current key vanished, so walking live while deleting
 * could revisit entries; a snapshot cannot.
 */
static Napi::Value MapKeys(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int fd = arg_int(info, 0);
	size_t ks = arg_u32(info, 1);
	std::vector<uint8_t> all;
	std::vector<uint8_t> cur(ks), next(ks);
	bool first = true;
	size_t guard = 0;
	for (;;) {
		int r = bpf_map_get_next_key(fd, first ? nullptr : cur.data(), next.data());
		if (r) {
			if (errno == ENOENT)
				break;
			return throw_errno(env, "iterate keys", errno);
		}
		all.insert(all.end(), next.begin(), next.end());
		cur.swap(next);
		first = false;
		/* A concurrent writer could keep a hash walk going forever. */
		if (++guard > (64u << 20))
			break;
	}
	return Napi::Buffer<uint8_t>::Copy(env, all.data(), all.size());
}

static bool batch_unsupported(int err)
{
	return err == EINVAL || err == ENOTSUPP || err == EOPNOTSUPP || err == ENOTSUP;
}

/*
 * updateBatch(fd, keys, values, count, flags) -> {count, batched}.
 * Falls back to one update per entry where the kernel or map type has no
 * batch op (LPM tries, older kernels); `batched` tells which path ran.
 */
static Napi::Value MapUpdateBatch(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int fd = arg_int(info, 0);
	Bytes keys = arg_bytes(info, 1), values = arg_bytes(info, 2);
	uint32_t count = arg_u32(info, 3);
	uint64_t flags = arg_u32(info, 4);
	if (!keys.ok || !values.ok || count == 0) {
		Napi::Object o = Napi::Object::New(env);
		o.Set("count", 0);
		o.Set("batched", false);
		return o;
	}
	size_t ks = keys.len / count, vs = values.len / count;
	uint32_t n = count;
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = flags);
	bool batched = true;
	int r = bpf_map_update_batch(fd, keys.data, values.data, &n, &opts);
	if (r && batch_unsupported(errno) && n == 0) {
		batched = false;
		for (n = 0; n < count; n++) {
			if (bpf_map_update_elem(fd, keys.data + n * ks, values.data + n * vs, flags))
				break;
		}
		r = n == count ? 0 : -1;
	}
	if (r) {
		Napi::Error e = make_errno_error(env, "batch update", errno);
		e.Set("done", (double)n);
		e.ThrowAsJavaScriptException();
		return env.Undefined();
	}
	Napi::Object o = Napi::Object::New(env);
	o.Set("count", (double)n);
	o.Set("batched", batched);
	return o;
}

/*
 * dump(fd, keySize, valueSize, capacity) -> {keys, values, count, batched}.
 * Reads every entry with lookup_batch in chunks; falls back to a key walk
 * plus lookups. `valueSize` is the per-CPU-rounded size for per-CPU maps.
 */
static Napi::Value MapDump(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int fd = arg_int(info, 0);
	size_t ks = arg_u32(info, 1), vs = arg_u32(info, 2);
	uint32_t cap = arg_u32(info, 3, 1024);
	if (cap == 0)
		cap = 1;
	std::vector<uint8_t> keys(ks * (size_t)cap), values(vs * (size_t)cap);
	size_t total = 0;
	bool batched = true;
	/* Batch tokens are opaque; the hash map uses a u32 bucket index, so a
	 * key-sized buffer (at least 8 bytes) is always large enough. */
	std::vector<uint8_t> in_batch(ks < 8 ? 8 : ks), out_batch(ks < 8 ? 8 : ks);
	bool first = true;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	for (;;) {
		if (total == cap) {
			cap *= 2;
			keys.resize(ks * (size_t)cap);
			values.resize(vs * (size_t)cap);
		}
		uint32_t n = cap - total;
		int r = bpf_map_lookup_batch(fd, first ? nullptr : in_batch.data(), out_batch.data(),
					     keys.data() + total * ks, values.data() + total * vs, &n, &opts);
		int err = r ? errno : 0;
		if (r && first && batch_unsupported(err)) {
			batched = false;
			break;
		}
		if (r && err == ENOSPC) {
			/* One bucket holds more entries than we offered room for. */
			cap *= 2;
			keys.resize(ks * (size_t)cap);
			values.resize(vs * (size_t)cap);
			continue;
		}
		total += n;
		if (r && err == ENOENT)
			break;
		if (r)
			return throw_errno(env, "batch lookup", err);
		in_batch.swap(out_batch);
		first = false;
	}
	if (!batched) {
		total = 0;
		std::vector<uint8_t> cur(ks), next(ks);
		bool start = true;
		while (bpf_map_get_next_key(fd, start ? nullptr : cur.data(), next.data()) == 0) {
			start = false;
			cur.swap(next);
			if (total == cap) {
				cap *= 2;
				keys.resize(ks * (size_t)cap);
				values.resize(vs * (size_t)cap);
			}
			if (bpf_map_lookup_elem(fd, cur.data(), values.data() + total * vs))
				continue; /* deleted meanwhile */
			memcpy(keys.data() + total * ks, cur.data(), ks);
			total++;
		}
		if (errno != ENOENT && !start)
			return throw_errno(env, "iterate entries", errno);
	}
	Napi::Object o = Napi::Object::New(env);
	o.Set("keys", Napi::Buffer<uint8_t>::Copy(env, keys.data(), total * ks));
	o.Set("values", Napi::Buffer<uint8_t>::Copy(env, values.data(), total * vs));
	o.Set("count", (double)total);
	o.Set("batched", batched);
	return o;
}

/*
 * Cursor layout, owned by the caller between calls: byte 0 is the state,
 * bytes 8.. the resume point (the batch token, or the last key returned by
 * a key walk). The buffer must hold 8 + max(8, key size) bytes.
 */
enum dump_cursor_state {
	CURSOR_START = 0,
	CURSOR_BATCH = 1,
	CURSOR_WALK = 2,
	CURSOR_DONE = 3,
};

/*
 * dumpChunk(fd, keySize, valueSize, cursor, keysOut, valuesOut, max) -> count.
 * Reads at most `max` entries after the cursor's resume point into the
 * packed output buffers and moves the cursor on; the state becomes DONE
 * once the map is exhausted (the last chunk may be empty). Returns -1 when
 * one hash bucket holds more than `max` entries (nothing read, cursor
 * unchanged: call again with more room). Maps without lookup_batch (LPM
 * tries, older kernels) are walked with get_next_key from the last key
 * returned; an entry deleted between two calls restarts that walk at the
 * first key, as the kernel's get_next_key does for a missing key.
 */
static Napi::Value MapDumpChunk(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int fd = arg_int(info, 0);
	size_t ks = arg_u32(info, 1), vs = arg_u32(info, 2);
	Bytes cursor = arg_bytes(info, 3), keys = arg_bytes(info, 4), values = arg_bytes(info, 5);
	uint32_t max = arg_u32(info, 6);
	size_t token_len = ks < 8 ? 8 : ks;
	if (!cursor.ok || cursor.len < 8 + token_len || !keys.ok || !values.ok || max == 0 ||
	    keys.len < ks * (size_t)max || values.len < vs * (size_t)max) {
		Napi::TypeError::New(env, "dumpChunk: cursor or output buffers too small").ThrowAsJavaScriptException();
		return env.Undefined();
	}
	uint8_t *state = cursor.data, *resume = cursor.data + 8;
	if (*state == CURSOR_DONE)
		return Napi::Number::New(env, 0);
	if (*state == CURSOR_START || *state == CURSOR_BATCH) {
		std::vector<uint8_t> out_batch(token_len);
		uint32_t n = max;
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		int r = bpf_map_lookup_batch(fd, *state == CURSOR_START ? nullptr : resume, out_batch.data(),
					     keys.data, values.data, &n, &opts);
		int err = r ? errno : 0;
		if (r && *state == CURSOR_START && batch_unsupported(err)) {
			*state = CURSOR_WALK;
			memset(resume, 0, token_len);
			cursor.data[1] = 1; /* walk from the first key */
		} else if (r && err == ENOSPC && n == 0) {
			return Napi::Number::New(env, -1);
		} else if (r && err != ENOENT && err != ENOSPC) {
			return throw_errno(env, "batch lookup", err);
		} else {
			if (r && err == ENOENT)
				*state = CURSOR_DONE;
			else {
				*state = CURSOR_BATCH;
				memcpy(resume, out_batch.data(), token_len);
			}
			return Napi::Number::New(env, n);
		}
	}
	/* Key walk: byte 1 set means no key returned yet. */
	std::vector<uint8_t> next(ks);
	uint32_t total = 0;
	while (total < max) {
		bool from_start = cursor.data[1] != 0;
		if (bpf_map_get_next_key(fd, from_start ? nullptr : resume, next.data())) {
			if (errno != ENOENT)
				return throw_errno(env, "iterate entries", errno);
			*state = CURSOR_DONE;
			break;
		}
		cursor.data[1] = 0;
		memcpy(resume, next.data(), ks);
		if (bpf_map_lookup_elem(fd, next.data(), values.data + total * vs))
			continue; /* deleted meanwhile */
		memcpy(keys.data + total * ks, next.data(), ks);
		total++;
	}
	return Napi::Number::New(env, total);
}

/*
 * deleteBatch(fd, keys, count) -> {count, batched}: how many were deleted.
 * The kernel stops at the first absent key; absent keys are skipped and the
 * rest deleted one by one, so the result does not depend on which path ran.
 */
static Napi::Value MapDeleteBatch(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	int fd = arg_int(info, 0);
	Bytes keys = arg_bytes(info, 1);
	uint32_t count = arg_u32(info, 2);
	Napi::Object o = Napi::Object::New(env);
	if (!keys.ok || count == 0) {
		o.Set("count", 0);
		o.Set("batched", false);
		return o;
	}
	size_t ks = keys.len / count;
	uint32_t n = count;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	bool batched = true;
	uint32_t deleted = count, next = count;
	if (bpf_map_delete_batch(fd, keys.data, &n, &opts)) {
		int err = errno;
		if (batch_unsupported(err) && n == 0) {
			batched = false;
			deleted = 0;
			next = 0;
		} else if (err == ENOENT) {
			deleted = n;
			next = n + 1;
		} else {
			return throw_errno(env, "batch delete", err);
		}
	}
	for (uint32_t i = next; i < count; i++) {
		if (bpf_map_delete_elem(fd, keys.data + i * ks) == 0)
			deleted++;
		else if (errno != ENOENT)
			return throw_errno(env, "delete", errno);
	}
	o.Set("count", (double)deleted);
	o.Set("batched", batched);
	return o;
}

static Napi::Value NumPossibleCpus(const Napi::CallbackInfo &info)
{
	int n = libbpf_num_possible_cpus();
	if (n < 0)
		return throw_errno(info.Env(), "count possible CPUs", -n);
	return Napi::Number::New(info.Env(), n);
}

void init_map_ops(Napi::Env env, Napi::Object exports)
{
	exports.Set("mapCreate", Napi::Function::New(env, MapCreate));
	exports.Set("objPin", Napi::Function::New(env, ObjPin));
	exports.Set("objGet", Napi::Function::New(env, ObjGet));
	exports.Set("mapInfo", Napi::Function::New(env, MapInfo));
	exports.Set("close", Napi::Function::New(env, Close));
	exports.Set("dup", Napi::Function::New(env, Dup));
	exports.Set("mapLookup", Napi::Function::New(env, MapLookup));
	exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate));
	exports.Set("mapDelete", Napi::Function::New(env, MapDelete));
	exports.Set("mapKeys", Napi::Function::New(env, MapKeys));
	exports.Set("mapUpdateBatch", Napi::Function::New(env, MapUpdateBatch));
	exports.Set("mapDump", Napi::Function::New(env, MapDump));
	exports.Set("mapDumpChunk", Napi::Function::New(env, MapDumpChunk));
	exports.Set("mapDeleteBatch", Napi::Function::New(env, MapDeleteBatch));
	exports.Set("numPossibleCpus", Napi::Function::New(env, NumPossibleCpus));
}

} // namespace dtsbpf
