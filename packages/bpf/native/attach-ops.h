#pragma once
#include <napi.h>
namespace dtsbpf {
void init_attach_ops(Napi::Env env, Napi::Object exports);
}
