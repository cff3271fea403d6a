{
  "targets": [
    {
      "target_name": "atlas_native",
      "sources": ["native/hash160.cc", "native/ripemd160-avx2.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "OPENSSL_API_COMPAT=0x10100000L", "OPENSSL_SUPPRESS_DEPRECATED"],
      "cflags_cc": ["-O3"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3"] }
    }
  ]
}
