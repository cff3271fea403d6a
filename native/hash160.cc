// hash160 = RIPEMD160(SHA256(data)), computed by the OpenSSL that the running `node` binary
// exports (the headers ship with Node). No crypto is implemented here: this file only moves bytes
// between JavaScript and OpenSSL, and validates its arguments (TypeError/RangeError, never a
// crash). C++ exceptions are disabled, so errors are raised with ThrowAsJavaScriptException.
//
// The low-level SHA256_Init/RIPEMD160_Init API is used on purpose: in OpenSSL 3 the one-shot
// SHA256()/RIPEMD160() helpers go through EVP_Q_digest, which fetches the algorithm from a
// provider on every call and costs more than hashing a small chunk. The low-level contexts call
// the assembly block functions directly (SHA-NI where the CPU has it).
#include <napi.h>
#include <openssl/crypto.h>
#include <openssl/ripemd.h>
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>

namespace {

constexpr size_t kHashBytes = 20;
// A batch opens a fresh handle scope every this many items, so that a huge batch does not pin
// one JS handle per item until the call returns.
constexpr uint32_t kItemsPerHandleScope = 256;

void Hash160(const uint8_t* data, size_t length, uint8_t* out) {
  SHA256_CTX sha;
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_Init(&sha);
  SHA256_Update(&sha, data, length);
  SHA256_Final(digest, &sha);
  RIPEMD160_CTX ripemd;
  RIPEMD160_Init(&ripemd);
  RIPEMD160_Update(&ripemd, digest, sizeof digest);
  RIPEMD160_Final(out, &ripemd);
}

napi_value Throw(napi_env env, bool range, const char* message) {
  if (range) {
    Napi::RangeError::New(env, message).ThrowAsJavaScriptException();
  } else {
    Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  }
  return nullptr;
}

struct Bytes {
  const uint8_t* data;
  size_t length;
};

// Reads a Uint8Array (a Buffer is one) without copying. Returns false for anything else.
// napi_get_typedarray_info itself refuses (napi_invalid_arg, no pending exception) anything that
// is not a typed array, so one call both checks and reads: it runs once per item of a batch.
bool ReadUint8Array(napi_env env, napi_value value, Bytes* out) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, nullptr, nullptr) != napi_ok) return false;
  if (type != napi_uint8_array) return false;
  // A detached or empty array may report a null pointer; hashing zero bytes from it is fine.
  out->data = static_cast<const uint8_t*>(data);
  out->length = length;
  return true;
}

bool ReadUint32Array(napi_env env, napi_value value, const uint32_t** data, size_t* length) {
  napi_typedarray_type type;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, nullptr, nullptr) != napi_ok) return false;
  if (type != napi_uint32_array) return false;
  *data = static_cast<const uint32_t*>(raw);
  return true;
}

// hash160(data: Uint8Array): Buffer (20 bytes)
Napi::Value Hash160One(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes bytes{};
  if (info.Length() < 1 || !ReadUint8Array(env, info[0], &bytes)) {
    return Napi::Value(env, Throw(env, false, "hash160: expected a Uint8Array"));
  }
  uint8_t out[kHashBytes];
  Hash160(bytes.data, bytes.length, out);
  return Napi::Buffer<uint8_t>::Copy(env, out, kHashBytes);
}

// hash160Batch(chunks: Uint8Array[]): Buffer (20 * chunks.length bytes, digest i at 20 * i)
Napi::Value Hash160Batch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    return Napi::Value(env, Throw(env, false, "hash160Batch: expected an array of Uint8Array"));
  }
  napi_value array = info[0];
  uint32_t count = 0;
  if (napi_get_array_length(env, array, &count) != napi_ok) {
    return Napi::Value(env, Throw(env, false, "hash160Batch: expected an array of Uint8Array"));
  }
  Napi::Buffer<uint8_t> result = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(count) * kHashBytes);
  if (env.IsExceptionPending()) return env.Undefined();
  uint8_t* out = result.Data();

  for (uint32_t start = 0; start < count; start += kItemsPerHandleScope) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) {
      return Napi::Value(env, Throw(env, false, "hash160Batch: cannot open a handle scope"));
    }
    const uint32_t end = count - start < kItemsPerHandleScope ? count : start + kItemsPerHandleScope;
    bool ok = true;
    for (uint32_t i = start; i < end; i++) {
      napi_value item;
      Bytes bytes{};
      // An element getter may throw (a Proxy or an accessor on the array): that pending
      // exception propagates as is.
      if (napi_get_element(env, array, i, &item) != napi_ok) {
        ok = false;
        break;
      }
      if (!ReadUint8Array(env, item, &bytes)) {
        ok = false;
        Throw(env, false, "hash160Batch: every item must be a Uint8Array");
        break;
      }
      Hash160(bytes.data, bytes.length, out + static_cast<size_t>(i) * kHashBytes);
    }
    napi_close_handle_scope(env, scope);
    if (!ok) return env.Undefined();
  }
  return result;
}

// hash160Packed(data: Uint8Array, offsets: Uint32Array): Buffer (20 * (offsets.length - 1))
// Chunk i is data[offsets[i], offsets[i + 1]); offsets must be non-decreasing and within data.
Napi::Value Hash160Packed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes data{};
  const uint32_t* offsets = nullptr;
  size_t boundaries = 0;
  if (info.Length() < 2 || !ReadUint8Array(env, info[0], &data) ||
      !ReadUint32Array(env, info[1], &offsets, &boundaries)) {
    return Napi::Value(env, Throw(env, false, "hash160Packed: expected (data: Uint8Array, offsets: Uint32Array)"));
  }
  if (boundaries == 0) {
    return Napi::Value(env, Throw(env, true, "hash160Packed: offsets needs at least one entry (n chunks take n + 1)"));
  }
  // Validate everything before hashing anything, so a bad call has no partial effect.
  for (size_t i = 0; i < boundaries; i++) {
    if (offsets[i] > data.length || (i > 0 && offsets[i] < offsets[i - 1])) {
      return Napi::Value(env, Throw(env, true, "hash160Packed: offsets must be non-decreasing and at most data.length"));
    }
  }
  const size_t count = boundaries - 1;
  Napi::Buffer<uint8_t> result = Napi::Buffer<uint8_t>::New(env, count * kHashBytes);
  if (env.IsExceptionPending()) return env.Undefined();
  uint8_t* out = result.Data();
  for (size_t i = 0; i < count; i++) {
    Hash160(data.data + offsets[i], offsets[i + 1] - offsets[i], out + i * kHashBytes);
  }
  return result;
}

// hash160Chain(previous: Uint8Array (20 bytes), addresses: Uint8Array (20 * n)): Buffer (20 bytes)
// The digest chain d = hash160(d || address) over every 20-byte address in turn, from previous.
Napi::Value Hash160Chain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes previous{};
  Bytes addresses{};
  if (info.Length() < 2 || !ReadUint8Array(env, info[0], &previous) || !ReadUint8Array(env, info[1], &addresses)) {
    return Napi::Value(env, Throw(env, false, "hash160Chain: expected (previous: Uint8Array, addresses: Uint8Array)"));
  }
  if (previous.length != kHashBytes || addresses.length % kHashBytes != 0) {
    return Napi::Value(env, Throw(env, true, "hash160Chain: previous must be 20 bytes and addresses a multiple of 20 bytes"));
  }
  uint8_t step[2 * kHashBytes];
  for (size_t i = 0; i < kHashBytes; i++) step[i] = previous.data[i];
  for (size_t at = 0; at < addresses.length; at += kHashBytes) {
    for (size_t i = 0; i < kHashBytes; i++) step[kHashBytes + i] = addresses.data[at + i];
    Hash160(step, sizeof step, step);  // the digest becomes the first half of the next step
  }
  return Napi::Buffer<uint8_t>::Copy(env, step, kHashBytes);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("hash160", Napi::Function::New(env, Hash160One, "hash160"));
  exports.Set("hash160Batch", Napi::Function::New(env, Hash160Batch, "hash160Batch"));
  exports.Set("hash160Packed", Napi::Function::New(env, Hash160Packed, "hash160Packed"));
  exports.Set("hash160Chain", Napi::Function::New(env, Hash160Chain, "hash160Chain"));
  exports.Set("openssl", Napi::String::New(env, OpenSSL_version(OPENSSL_VERSION)));
  return exports;
}

}  // namespace

NODE_API_MODULE(atlas_native, Init)
