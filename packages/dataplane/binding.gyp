{
  "targets": [
    {
      "target_name": "dnsdist_udp",
      "sources": [
        "native/addon.cc",
        "native/errors.cc",
        "native/socket-address.cc",
        "native/bind-socket.cc",
        "native/udp-socket.cc",
        "native/privileges.cc",
        "native/sd-notify.cc",
        "native/tcp-listen.cc",
        "native/tcp-stream.cc",
        "native/loop-callback.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
    }
  ]
}
