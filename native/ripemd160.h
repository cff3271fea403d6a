// RIPEMD-160 of one 32-byte message: the second half of hash160 = RIPEMD160(SHA256(data)), whose
// input is always a SHA-256 digest. A 32-byte message is one block with fixed padding, so the
// hash is one compression of that block: no context, no buffering, no length bookkeeping. That
// halves what OpenSSL's general RIPEMD160_Init/Update/Final costs for it, and the same
// compression written over SIMD lanes hashes 8 digests at once (ripemd160-avx2.cc).
//
// The algorithm is RIPEMD-160 as published by Dobbertin, Bosselaers and Preneel (1996): two
// lines of five 16-step rounds over the message words, recombined with the initial value. Each
// implementation is checked against OpenSSL's on eight digests when the addon loads (hash160.cc),
// and not used if it disagrees; the tests compare every path with node:crypto.
#ifndef ATLAS_RIPEMD160_H
#define ATLAS_RIPEMD160_H

#include <cstddef>
#include <cstdint>

namespace atlas {
namespace ripemd160 {
// Internal to each file that includes it: ripemd160-avx2.cc compiles these for AVX2, and none of
// its copies may stand in for another file's.
namespace {

constexpr size_t kInputBytes = 32;
constexpr size_t kDigestBytes = 20;

// Message word used by each step, left and right line.
constexpr uint8_t kWordLeft[80] = {
    0, 1, 2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 7,  4,  13, 1,  10, 6,  15, 3,  12, 0,  9,
    5, 2, 14, 11, 8,  3,  10, 14, 4,  9,  15, 8,  1,  2,  7,  0,  6,  13, 11, 5,  12, 1,  9,  11, 10, 0,  8,
    12, 4, 13, 3, 7,  15, 14, 5,  6,  2,  4,  0,  5,  9,  7,  12, 2,  10, 14, 1,  3,  8,  11, 6,  15, 13};
constexpr uint8_t kWordRight[80] = {
    5,  14, 7,  0, 9, 2,  11, 4,  13, 6,  15, 8,  1,  10, 3,  12, 6,  11, 3,  7,  0, 13, 5,  10, 14, 15, 8,
    12, 4,  9,  1, 2, 15, 5,  1,  3,  7,  14, 6,  9,  11, 8,  12, 2,  10, 0,  4,  13, 8,  6,  4,  1,  3,  11,
    15, 0,  5,  12, 2, 13, 9,  7,  10, 14, 12, 15, 10, 4,  1,  5,  8,  7,  6,  2,  13, 14, 0,  3,  9,  11};
// Left rotation of each step, left and right line.
constexpr uint8_t kRotateLeft[80] = {
    11, 14, 15, 12, 5,  8,  7,  9,  11, 13, 14, 15, 6,  7,  9,  8,  7,  6,  8,  13, 11, 9,  7,  15, 7,  12, 15,
    9,  11, 7,  13, 12, 11, 13, 6,  7,  14, 9,  13, 15, 14, 8,  13, 6,  5,  12, 7,  5,  11, 12, 14, 15, 14, 15,
    9,  8,  9,  14, 5,  6,  8,  6,  5,  12, 9,  15, 5,  11, 6,  8,  13, 12, 5,  12, 13, 14, 11, 8,  5,  6};
constexpr uint8_t kRotateRight[80] = {
    8,  9,  9,  11, 13, 15, 15, 5,  7,  7,  8,  11, 14, 14, 12, 6,  9,  13, 15, 7,  12, 8,  9,  11, 7,  7,  12,
    7,  6,  15, 13, 11, 9,  7,  15, 11, 8,  6,  6,  14, 12, 13, 5,  14, 13, 13, 7,  5,  15, 5,  8,  11, 14, 14,
    6,  14, 6,  9,  12, 9,  12, 5,  15, 8,  8,  5,  12, 9,  12, 5,  14, 6,  8,  13, 6,  5,  15, 13, 11, 11};
// Additive constant of each round, left and right line.
constexpr uint32_t kRoundLeft[5] = {0x00000000u, 0x5A827999u, 0x6ED9EBA1u, 0x8F1BBCDCu, 0xA953FD4Eu};
constexpr uint32_t kRoundRight[5] = {0x50A28BE6u, 0x5C4DD124u, 0x6D703EF3u, 0x7A6D76E9u, 0x00000000u};
constexpr uint32_t kInitial[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};

// The boolean function of round j of the left line (the right line runs them in reverse order).
template <class Ops, class V>
inline V RoundFunction(int j, V x, V y, V z) {
  switch (j) {
    case 0: return Ops::Xor(Ops::Xor(x, y), z);
    case 1: return Ops::Or(Ops::And(x, y), Ops::AndNot(x, z));
    case 2: return Ops::Xor(Ops::Or(x, Ops::Not(y)), z);
    case 3: return Ops::Or(Ops::And(x, z), Ops::AndNot(z, y));
    default: return Ops::Xor(x, Ops::Or(y, Ops::Not(z)));
  }
}

// The chaining value after compressing the 16 message words `x` from the initial value, in each
// lane of V at once. Ops supplies V's 32-bit lane operations (AndNot(a, b) = ~a & b).
template <class Ops, class V>
inline void Compress(const V* x, V* h) {
  V al = Ops::Set(kInitial[0]), bl = Ops::Set(kInitial[1]), cl = Ops::Set(kInitial[2]), dl = Ops::Set(kInitial[3]),
    el = Ops::Set(kInitial[4]);
  V ar = al, br = bl, cr = cl, dr = dl, er = el;
#if defined(__clang__)
#pragma unroll 80
#elif defined(__GNUC__)
#pragma GCC unroll 80
#endif
  for (int i = 0; i < 80; i++) {
    const int j = i >> 4;
    V t = Ops::Add(al, RoundFunction<Ops>(j, bl, cl, dl));
    t = Ops::Add(Ops::Rotate(Ops::Add(t, Ops::Add(x[kWordLeft[i]], Ops::Set(kRoundLeft[j]))), kRotateLeft[i]), el);
    al = el;
    el = dl;
    dl = Ops::Rotate(cl, 10);
    cl = bl;
    bl = t;
    t = Ops::Add(ar, RoundFunction<Ops>(4 - j, br, cr, dr));
    t = Ops::Add(Ops::Rotate(Ops::Add(t, Ops::Add(x[kWordRight[i]], Ops::Set(kRoundRight[j]))), kRotateRight[i]), er);
    ar = er;
    er = dr;
    dr = Ops::Rotate(cr, 10);
    cr = br;
    br = t;
  }
  const V first = Ops::Add(Ops::Add(Ops::Set(kInitial[1]), cl), dr);
  h[1] = Ops::Add(Ops::Add(Ops::Set(kInitial[2]), dl), er);
  h[2] = Ops::Add(Ops::Add(Ops::Set(kInitial[3]), el), ar);
  h[3] = Ops::Add(Ops::Add(Ops::Set(kInitial[4]), al), br);
  h[4] = Ops::Add(Ops::Add(Ops::Set(kInitial[0]), bl), cr);
  h[0] = first;
}

// Words are little-endian in RIPEMD-160 (read byte by byte: any host order).
inline uint32_t LoadWord(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

inline void StoreWord(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

// Message word i (0-15) of the one block of a 32-byte message: the message, a 1 bit, zeros, and
// the length in bits (256) in word 14.
constexpr uint32_t kPaddingWord8 = 0x80u;
constexpr uint32_t kLengthWord14 = 8 * kInputBytes;

struct ScalarOps {
  static uint32_t Set(uint32_t v) { return v; }
  static uint32_t Add(uint32_t a, uint32_t b) { return a + b; }
  static uint32_t Xor(uint32_t a, uint32_t b) { return a ^ b; }
  static uint32_t Or(uint32_t a, uint32_t b) { return a | b; }
  static uint32_t And(uint32_t a, uint32_t b) { return a & b; }
  static uint32_t AndNot(uint32_t a, uint32_t b) { return ~a & b; }
  static uint32_t Not(uint32_t a) { return ~a; }
  static uint32_t Rotate(uint32_t a, int s) { return (a << s) | (a >> (32 - s)); }
};

// RIPEMD160 of the 32 bytes at `in`, into the 20 bytes at `out` (which may overlap `in`).
inline void Of32(const uint8_t* in, uint8_t* out) {
  uint32_t x[16] = {0};
  for (int i = 0; i < 8; i++) x[i] = LoadWord(in + 4 * i);
  x[8] = kPaddingWord8;
  x[14] = kLengthWord14;
  uint32_t h[5];
  Compress<ScalarOps>(x, h);
  for (int i = 0; i < 5; i++) StoreWord(out + 4 * i, h[i]);
}

// Lanes hashed at once by Of32x8Avx2.
constexpr size_t kLanes = 8;

}  // namespace

// Whether this build has the 8-lane AVX2 compression (x86-64 with GCC or Clang). Whether the CPU
// running it has AVX2 is asked at run time (hash160.cc).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(_MSC_VER)
#define ATLAS_RIPEMD160_AVX2 1
// RIPEMD160 of in[k] (32 bytes each) into out[k] (20 bytes each) for the 8 lanes k. AVX2 only.
void Of32x8Avx2(const uint8_t* const* in, uint8_t* const* out);
#endif

}  // namespace ripemd160
}  // namespace atlas

#endif  // ATLAS_RIPEMD160_H
