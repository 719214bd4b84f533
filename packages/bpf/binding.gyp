{
  "targets": [
    {
      "target_name": "dnsdist_bpf",
      "sources": [
        "native/addon.cc",
        "native/errors.cc",
        "native/libbpf-log.cc",
        "native/map-ops.cc",
        "native/btf-types.cc",
        "native/object-ops.cc",
        "native/attach-ops.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["<!@(pkg-config --libs libbpf)"]
    }
  ]
}
