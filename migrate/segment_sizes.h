// SegmentSizes: how many bytes each slot holds on its owner, estimated from
// random samples, so that the balancer's "fewest bytes moved" rule and its
// move durations work from real sizes (DESIGN §8).
//
// Plain Redis cannot count keys per slot (COUNTKEYSINSLOT is cluster-only)
// and a SCAN of every backend is too costly to repeat, so each round takes,
// per backend, `samples` RANDOMKEYs and the MEMORY USAGE of each (two
// pipelined round trips), and spreads DBSIZE x the mean sampled size over the
// slots that backend owns in proportion to the bytes sampled in each slot.
// Per-slot estimates are smoothed across rounds, so a segment's estimate (a
// sum over its slots) converges even though any one slot is rarely sampled.
// Rounds run on a thread of their own (blocking hiredis); the control loop
// starts them and reads the result under a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "proxy/context.h"

namespace migrate {

// One backend's round: (slot, bytes) of every sampled key, and its DBSIZE.
struct SizeSample {
  std::vector<std::pair<uint32_t, double>> keys;
  uint64_t dbsize = 0;
};

// Pure: the round's estimate for the slots `owned` (true = the backend owns
// the slot) of one backend. Samples of slots it does not own (copies of a
// moving segment) count in the mean size but are not attributed.
void estimate_slots(const SizeSample& s, const std::vector<bool>& owned,
                    std::vector<double>& slot_bytes, std::vector<bool>& updated);

class SegmentSizes {
 public:
  explicit SegmentSizes(proxy::ProxyContext& ctx) : ctx_(ctx) {}
  ~SegmentSizes();  // waits for a round in progress
  SegmentSizes(const SegmentSizes&) = delete;
  SegmentSizes& operator=(const SegmentSizes&) = delete;

  // Control loop: starts a round (balancer.sizeSamples keys per backend) if
  // none is running and the last began at least `period_s` ago.
  void maybe_sample(uint64_t now_s, uint64_t period_s);
  // Estimated bytes in slots [first, last]; false if those slots were never
  // estimated (no round yet, or their owner was unreachable).
  bool bytes(uint32_t first, uint32_t last, double* out) const;
  uint64_t rounds() const { return rounds_.load(); }

 private:
  void round(std::vector<proxy::BackendConfig> backends, std::vector<std::vector<bool>> owned,
             int samples, int timeout_ms);

  proxy::ProxyContext& ctx_;
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> rounds_{0};
  uint64_t last_start_s_ = 0;
  mutable std::mutex mu_;
  std::vector<double> slot_bytes_;  // per slot, smoothed
  std::vector<bool> known_;         // per slot: estimated at least once
};

}  // namespace migrate
