#pragma once
#include <napi.h>
namespace dtsbpf {
void init_map_ops(Napi::Env env, Napi::Object exports);
}
