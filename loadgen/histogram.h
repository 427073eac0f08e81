// Histogram: latency in nanoseconds, log-linear buckets (HDR style: 32 sub-buckets per power
// of two, under 3.2% relative error), fixed size, no allocation after construction, so
// recording costs a few instructions on the reply path. Exact max. Percentiles report the
// midpoint of the bucket that holds the rank.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace loadgen {

class Histogram {
 public:
  void record(uint64_t ns) {
    ++buckets_[index(ns)];
    ++count_;
    max_ = std::max(max_, ns);
  }

  void merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) {
      buckets_[i] += o.buckets_[i];
    }
    count_ += o.count_;
    max_ = std::max(max_, o.max_);
  }

  void reset() { *this = Histogram(); }
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }

  // q in [0, 1]; 0 when empty. Never above max().
  uint64_t percentile(double q) const {
    if (count_ == 0) {
      return 0;
    }
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i];
      if (seen >= rank) {
        return std::min(midpoint(i), max_);
      }
    }
    return max_;
  }

 private:
  static constexpr int kSubBits = 5;                   // 32 sub-buckets per octave
  static constexpr uint64_t kLinear = 2u << kSubBits;  // values below 64 have their own bucket
  static constexpr size_t kBuckets = kLinear + (64 - kSubBits - 1) * (1u << kSubBits);

  static size_t index(uint64_t v) {
    if (v < kLinear) {
      return static_cast<size_t>(v);
    }
    int shift = 63 - std::countl_zero(v) - kSubBits;  // >= 1 here
    uint64_t sub = (v >> shift) - (1u << kSubBits);   // 0..31
    return kLinear + static_cast<size_t>(shift - 1) * (1u << kSubBits) + sub;
  }

  static uint64_t midpoint(size_t i) {
    if (i < kLinear) {
      return i;
    }
    size_t k = i - kLinear;
    int shift = static_cast<int>(k >> kSubBits) + 1;
    uint64_t low = ((k & ((1u << kSubBits) - 1)) + (1u << kSubBits)) << shift;
    return low + ((uint64_t{1} << shift) >> 1);
  }

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace loadgen
