// The 8-lane RIPEMD-160 compression of ripemd160.h over AVX2 registers: eight 32-byte messages
// hashed in the time of about two. Everything in this file is compiled for AVX2 (the pragma
// below), and only called when the CPU has it (hash160.cc asks at load).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(_MSC_VER)

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

// From here on every function defined or instantiated is compiled for AVX2, the header's included.
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2")
#endif

#include "ripemd160.h"

namespace atlas {
namespace ripemd160 {
namespace {

struct Avx2Ops {
  static __m256i Set(uint32_t v) { return _mm256_set1_epi32(static_cast<int>(v)); }
  static __m256i Add(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }
  static __m256i Xor(__m256i a, __m256i b) { return _mm256_xor_si256(a, b); }
  static __m256i Or(__m256i a, __m256i b) { return _mm256_or_si256(a, b); }
  static __m256i And(__m256i a, __m256i b) { return _mm256_and_si256(a, b); }
  static __m256i AndNot(__m256i a, __m256i b) { return _mm256_andnot_si256(a, b); }
  static __m256i Not(__m256i a) { return _mm256_xor_si256(a, _mm256_set1_epi32(-1)); }
  static __m256i Rotate(__m256i a, int s) { return _mm256_or_si256(_mm256_slli_epi32(a, s), _mm256_srli_epi32(a, 32 - s)); }
};

}  // namespace

void Of32x8Avx2(const uint8_t* const* in, uint8_t* const* out) {
  alignas(32) uint32_t words[8][kLanes];
  for (int i = 0; i < 8; i++) {
    for (size_t lane = 0; lane < kLanes; lane++) words[i][lane] = LoadWord(in[lane] + 4 * i);
  }
  __m256i x[16];
  for (int i = 0; i < 8; i++) x[i] = _mm256_load_si256(reinterpret_cast<const __m256i*>(words[i]));
  for (int i = 8; i < 16; i++) x[i] = _mm256_setzero_si256();
  x[8] = Avx2Ops::Set(kPaddingWord8);
  x[14] = Avx2Ops::Set(kLengthWord14);
  __m256i h[5];
  Compress<Avx2Ops>(x, h);
  alignas(32) uint32_t digest[5][kLanes];
  for (int i = 0; i < 5; i++) _mm256_store_si256(reinterpret_cast<__m256i*>(digest[i]), h[i]);
  for (size_t lane = 0; lane < kLanes; lane++) {
    for (int i = 0; i < 5; i++) StoreWord(out[lane] + 4 * i, digest[i][lane]);
  }
}

}  // namespace ripemd160
}  // namespace atlas

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif  // x86-64 with GCC or Clang
