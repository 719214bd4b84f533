#include "btf-types.h"

#include <bpf/btf.h>
#include <cerrno>
#include <string>
#include <unistd.h>
#include <vector>

namespace dtsbpf {

static int add_type(struct btf *btf, Napi::Object t, int *err);

static int add_int(struct btf *btf, Napi::Object t, int *err)
{
	std::string name = t.Get("name").As<Napi::String>();
	int size = t.Get("size").As<Napi::Number>().Int32Value();
	bool is_signed = t.Has("signed") && t.Get("signed").ToBoolean();
	int id = btf__add_int(btf, name.c_str(), size, is_signed ? BTF_INT_SIGNED : 0);
	if (id < 0)
		*err = id;
	return id;
}

static int add_array(struct btf *btf, Napi::Object t, int *err)
{
	int elem = add_type(btf, t.Get("elem").As<Napi::Object>(), err);
	if (elem < 0)
		return elem;
	/* BTF arrays need an index type; a plain u32 serves. */
	int index = btf__add_int(btf, "__u32", 4, 0);
	if (index < 0) {
		*err = index;
		return index;
	}
	int count = t.Get("count").As<Napi::Number>().Int32Value();
	int id = btf__add_array(btf, index, elem, count);
	if (id < 0)
		*err = id;
	return id;
}

static int add_struct(struct btf *btf, Napi::Object t, int *err)
{
	Napi::Array members = t.Get("members").As<Napi::Array>();
	/* Member types must exist before the struct references them. */
	std::vector<int> ids;
	for (uint32_t i = 0; i < members.Length(); i++) {
		Napi::Object m = members.Get(i).As<Napi::Object>();
		int id = add_type(btf, m.Get("type").As<Napi::Object>(), err);
		if (id < 0)
			return id;
		ids.push_back(id);
	}
	std::string name = t.Get("name").As<Napi::String>();
	int size = t.Get("size").As<Napi::Number>().Int32Value();
	int sid = btf__add_struct(btf, name.c_str(), size);
	if (sid < 0) {
		*err = sid;
		return sid;
	}
	for (uint32_t i = 0; i < members.Length(); i++) {
		Napi::Object m = members.Get(i).As<Napi::Object>();
		std::string mname = m.Get("name").As<Napi::String>();
		int offset = m.Get("offset").As<Napi::Number>().Int32Value();
		int r = btf__add_field(btf, mname.c_str(), ids[i], offset * 8, 0);
		if (r < 0) {
			*err = r;
			return r;
		}
	}
	return sid;
}

static int add_type(struct btf *btf, Napi::Object t, int *err)
{
	std::string kind = t.Get("kind").As<Napi::String>();
	if (kind == "int")
		return add_int(btf, t, err);
	if (kind == "array")
		return add_array(btf, t, err);
	if (kind == "struct")
		return add_struct(btf, t, err);
	*err = -EINVAL;
	return -EINVAL;
}

BtfIds btf_load_kv(Napi::Env env, Napi::Object desc)
{
	BtfIds out = {-1, 0, 0, 0};
	struct btf *btf = btf__new_empty();
	if (!btf) {
		out.err = -errno;
		return out;
	}
	int err = 0;
	int key = add_type(btf, desc.Get("key").As<Napi::Object>(), &err);
	int value = key >= 0 ? add_type(btf, desc.Get("value").As<Napi::Object>(), &err) : -1;
	if (key < 0 || value < 0) {
		out.err = err ? err : -EINVAL;
		btf__free(btf);
		return out;
	}
	err = btf__load_into_kernel(btf);
	if (err) {
		out.err = err;
		btf__free(btf);
		return out;
	}
	/* The kernel keeps the BTF alive through the map; we dup the fd
	 * because btf__free closes its own. */
	out.fd = dup(btf__fd(btf));
	out.key_id = key;
	out.value_id = value;
	btf__free(btf);
	if (out.fd < 0)
		out.err = -errno;
	return out;
}

} // namespace dtsbpf
