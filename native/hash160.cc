// hash160 = RIPEMD160(SHA256(data)). SHA-256 is the OpenSSL that the running `node` binary
// exports (the headers ship with Node); RIPEMD-160 of the 32-byte digest is ours (ripemd160.h:
// one block, and 8 digests at once with AVX2), checked against OpenSSL's at load: AVX2 lanes that
// disagree leave the portable version, and a portable version that disagrees leaves OpenSSL's. Arguments are validated (TypeError/RangeError, never a crash). C++
// exceptions are disabled, so errors are raised with ThrowAsJavaScriptException.
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
#include <cstdlib>
#include <cstring>

#include "ripemd160.h"

namespace {

constexpr size_t kHashBytes = 20;
// A batch opens a fresh handle scope every this many items, so that a huge batch does not pin
// one JS handle per item until the call returns.
constexpr uint32_t kItemsPerHandleScope = 256;

namespace rmd = atlas::ripemd160;

enum class Ripemd { kOpenSsl, kPortable, kAvx2 };
Ripemd ChooseRipemd();

// The RIPEMD-160 of a SHA-256 digest in use: chosen once a process, by the first load.
const Ripemd ripemd = ChooseRipemd();

void Sha256(const uint8_t* data, size_t length, uint8_t* digest) {
  SHA256_CTX sha;
  SHA256_Init(&sha);
  SHA256_Update(&sha, data, length);
  SHA256_Final(digest, &sha);
}

void RipemdOpenSsl(const uint8_t* digest, uint8_t* out) {
  RIPEMD160_CTX context;
  RIPEMD160_Init(&context);
  RIPEMD160_Update(&context, digest, rmd::kInputBytes);
  RIPEMD160_Final(out, &context);
}

void RipemdOne(const uint8_t* digest, uint8_t* out) {
  if (ripemd == Ripemd::kOpenSsl) {
    RipemdOpenSsl(digest, out);
  } else {
    rmd::Of32(digest, out);
  }
}

// `out` may overlap `data` (hash160Chain hashes a step into its own first half).
void Hash160(const uint8_t* data, size_t length, uint8_t* out) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  Sha256(data, length, digest);
  RipemdOne(digest, out);
}

// hash160 of many items: SHA-256 one by one, RIPEMD-160 eight digests at a time when the AVX2
// lanes are in use. Finish() hashes what is left; each `out` is written by then.
class BatchHasher {
 public:
  void Add(const uint8_t* data, size_t length, uint8_t* out) {
    if (ripemd != Ripemd::kAvx2) {
      Hash160(data, length, out);
      return;
    }
    Sha256(data, length, digests_[pending_]);
    outs_[pending_] = out;
    if (++pending_ == rmd::kLanes) Flush();
  }

  void Finish() {
    for (size_t i = 0; i < pending_; i++) rmd::Of32(digests_[i], outs_[i]);
    pending_ = 0;
  }

 private:
  void Flush() {
#ifdef ATLAS_RIPEMD160_AVX2
    const uint8_t* in[rmd::kLanes];
    for (size_t i = 0; i < rmd::kLanes; i++) in[i] = digests_[i];
    rmd::Of32x8Avx2(in, outs_);
    pending_ = 0;
#else
    Finish();
#endif
  }

  uint8_t digests_[rmd::kLanes][SHA256_DIGEST_LENGTH];
  uint8_t* outs_[rmd::kLanes] = {};
  size_t pending_ = 0;
};

// Which RIPEMD-160 to use: the AVX2 lanes when the CPU has AVX2 and they agree with OpenSSL's on
// the check below, else the portable one block when it agrees, else OpenSSL's. ATLAS_RIPEMD160
// asks for one ("openssl", "portable", "avx2": the best the CPU allows), to compare them; any
// other value is the default.
Ripemd ChooseRipemd() {
  uint8_t digests[rmd::kLanes][rmd::kInputBytes];
  uint8_t expected[rmd::kLanes][rmd::kDigestBytes];
  uint8_t got[rmd::kLanes][rmd::kDigestBytes];
  for (size_t lane = 0; lane < rmd::kLanes; lane++) {
    for (size_t i = 0; i < rmd::kInputBytes; i++) digests[lane][i] = static_cast<uint8_t>(lane * 97 + i * 31 + (lane == 7 ? 0xff : 0));
    RipemdOpenSsl(digests[lane], expected[lane]);
  }
  const char* asked = std::getenv("ATLAS_RIPEMD160");
  const bool any = asked == nullptr || asked[0] == '\0';
  if (!any && std::strcmp(asked, "openssl") == 0) return Ripemd::kOpenSsl;
  for (size_t lane = 0; lane < rmd::kLanes; lane++) {
    rmd::Of32(digests[lane], got[lane]);
    if (std::memcmp(got[lane], expected[lane], rmd::kDigestBytes) != 0) return Ripemd::kOpenSsl;
  }
  if (!any && std::strcmp(asked, "portable") == 0) return Ripemd::kPortable;
#ifdef ATLAS_RIPEMD160_AVX2
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) {
    const uint8_t* in[rmd::kLanes];
    uint8_t* out[rmd::kLanes];
    for (size_t lane = 0; lane < rmd::kLanes; lane++) {
      in[lane] = digests[lane];
      out[lane] = got[lane];
    }
    std::memset(got, 0, sizeof got);  // so that a lane the AVX2 code does not write fails the check
    rmd::Of32x8Avx2(in, out);
    if (std::memcmp(got, expected, sizeof expected) == 0) return Ripemd::kAvx2;
  }
#endif
  return Ripemd::kPortable;
}

const char* RipemdName(Ripemd chosen) {
  switch (chosen) {
    case Ripemd::kAvx2: return "avx2";
    case Ripemd::kPortable: return "portable";
    default: return "openssl";
  }
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

  BatchHasher hasher;
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
      hasher.Add(bytes.data, bytes.length, out + static_cast<size_t>(i) * kHashBytes);
    }
    napi_close_handle_scope(env, scope);
    if (!ok) return env.Undefined();
  }
  hasher.Finish();
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
  BatchHasher hasher;
  for (size_t i = 0; i < count; i++) {
    hasher.Add(data.data + offsets[i], offsets[i + 1] - offsets[i], out + i * kHashBytes);
  }
  hasher.Finish();
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
  exports.Set("ripemd160", Napi::String::New(env, RipemdName(ripemd)));
  return exports;
}

}  // namespace

NODE_API_MODULE(atlas_native, Init)
