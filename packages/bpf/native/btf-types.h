#pragma once

#include <napi.h>

namespace dtsbpf {

/*
 * Build and load a BTF blob describing a map's key and value so that
 * `bpftool map dump` pretty-prints entries. The description comes from JS:
 * { key: Type, value: Type } where Type is
 *   { kind: "int", name, size, signed? }
 *   { kind: "array", elem: Type, count }
 *   { kind: "struct", name, size, members: [{ name, type: Type, offset }] }
 * Returns the BTF fd (caller closes) and the key/value type ids.
 */
struct BtfIds {
	int fd;
	int key_id;
	int value_id;
	int err;
};

BtfIds btf_load_kv(Napi::Env env, Napi::Object desc);

} // namespace dtsbpf
