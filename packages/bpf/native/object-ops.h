#pragma once
#include <napi.h>
namespace dtsbpf {
void init_object_ops(Napi::Env env, Napi::Object exports);
}
