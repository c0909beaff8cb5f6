// Deterministic model math shared by the host backend and CUDA kernels.
//
// Both backends must produce bit-identical token streams, so everything here is built from
// IEEE-754 float32 +, -, *, / (correctly rounded on both sides) and integer operations, in a
// fixed order. Build with -ffp-contract=off (host) and --fmad=false (nvcc) so that no
// multiply-add is fused, and never with fast-math (which would also flush subnormals).
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define WORKER_HD __host__ __device__
#else
#define WORKER_HD
#endif

namespace worker::math {

// The (step + 1)-th output of SplitMix64 seeded with `seed`: a counter-based generator, so
// step k's draw needs no state from steps before it.
WORKER_HD inline std::uint64_t random_u64(std::uint64_t seed, std::uint64_t step) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (step + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform float in [0, 1) with 24 random bits (exactly representable).
WORKER_HD inline float random_unit(std::uint64_t seed, std::uint64_t step) {
  return static_cast<float>(random_u64(seed, step) >> 40) * (1.0f / 16777216.0f);
}

WORKER_HD inline float bits_to_float(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// exp(x) for float32 from basic operations only (Cephes expf: range reduction by ln 2 split
// into two constants, then a degree-6 polynomial). Accurate to ~1 ulp; what matters here is
// that it is the same function on every backend, unlike the libm/CUDA expf.
WORKER_HD inline float det_expf(float x) {
  if (x != x) return x;                      // NaN
  if (x > 88.72283f) return bits_to_float(0x7F800000u);  // +inf
  if (x < -87.33654f) return 0.0f;           // below FLT_MIN: treated as 0
  // k = floor(x * log2(e) + 0.5), by truncation and correction (no libm).
  const float t = x * 1.44269504088896341f + 0.5f;
  int k = static_cast<int>(t);
  if (static_cast<float>(k) > t) k -= 1;
  const float fk = static_cast<float>(k);
  float r = x - fk * 0.693359375f;
  r = r - fk * -2.12194440e-4f;
  const float z = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r;
  p = p + 1.0f;
  // Scale by 2^k through the exponent field; k is in [-126, 128] here. Split the scaling in
  // two factors so k = 128 (x just below the overflow bound) stays representable.
  const int k1 = k / 2;
  const int k2 = k - k1;
  p = p * bits_to_float(static_cast<std::uint32_t>(k1 + 127) << 23);
  return p * bits_to_float(static_cast<std::uint32_t>(k2 + 127) << 23);
}

WORKER_HD inline bool is_finite(float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return (bits & 0x7F800000u) != 0x7F800000u;
}

// logits[v] = sum_i w[v][i] * x[i], in order i = 0..d-1 (the model's definition).
WORKER_HD inline float dot_in_order(const float* w_row, const float* x, int d) {
  float acc = 0.0f;
  for (int i = 0; i < d; ++i) acc = acc + w_row[i] * x[i];
  return acc;
}

// Index of the largest logit, lowest index on ties. Logits must be finite.
WORKER_HD inline int argmax(const float* logits, int n) {
  int best = 0;
  for (int v = 1; v < n; ++v) {
    if (logits[v] > logits[best]) best = v;
  }
  return best;
}

// Draws from p[v] ∝ exp((logits[v] - max) / temperature) by a sequential cumulative sum:
// the first v whose running sum exceeds u * total. Logits must be finite, temperature > 0,
// u in [0, 1).
WORKER_HD inline int sample(const float* logits, int n, float temperature, float u) {
  const float top = logits[argmax(logits, n)];
  float total = 0.0f;
  for (int v = 0; v < n; ++v) total = total + det_expf((logits[v] - top) / temperature);
  const float target = u * total;
  float running = 0.0f;
  int last_positive = 0;
  for (int v = 0; v < n; ++v) {
    const float w = det_expf((logits[v] - top) / temperature);
    if (w > 0.0f) last_positive = v;
    running = running + w;
    if (target < running) return v;
  }
  return last_positive;  // u * total rounded up to total: the last token with weight
}

}  // namespace worker::math
