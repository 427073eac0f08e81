// Workload: what the load generator asks for and how much, as pure functions of real time
// since the start. The keyspace is split into groups of contiguous hash-slot ranges (equal
// widths, like foreshard's initial segments); key names are precomputed per group with
// proxy::key_slot, the proxy's own CRC16. Each group follows a daily cycle
//   w_g(h) = 1 + A_g cos(2 pi (h - peak_g) / 24)
// with its own peak hour (time zone) and amplitude, so the hot slot ranges move across the
// simulated day; one simulated day lasts `day_seconds` real seconds. An optional flash crowd
// multiplies the traffic of the keys in a slot range by `flash_mult` for a while, on top.
// Inside a group keys are uniform, or Zipf-skewed (hot keys scattered over the group's slots).
// No I/O, no clock: driver.cc owns time and sockets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/status.h"

namespace loadgen {

// SplitMix64: the generator behind every random choice (seeded by --seed).
inline uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct WorkloadConfig {
  uint32_t slots = 16384;
  uint32_t groups = 4;
  uint64_t keys = 100000;
  std::string key_prefix = "lg:";
  double day_seconds = 60;   // real seconds per simulated day
  double start_hour = 0;     // simulated hour of day at t = 0
  double peak_ops = 20000;   // aggregate ops/s at the daily peak (flash crowd excluded)
  double peak_hour = 14;     // centre of the group peaks
  double phase_spread = 12;  // group peaks spread evenly over this many hours around peak_hour
  double amplitude = 0.8;    // A_g = amplitude * (0.75 .. 1.0), drawn from the seed
  std::vector<double> group_peaks;  // explicit peak hour per group (overrides the two above)
  std::vector<double> group_amps;   // explicit amplitude per group, each in [0, 1]
  double flash_at = -1;             // real second the flash crowd starts; < 0: none
  double flash_duration = 0;        // real seconds; 0: one simulated hour
  uint32_t flash_first = 0, flash_last = 0;  // slot range of the flash crowd
  double flash_mult = 5;
  double zipf = 0;  // key skew inside a group: rank r drawn with weight 1/(r+1)^zipf; 0 uniform
  uint64_t seed = 1;
};

struct Group {
  uint32_t first_slot, last_slot;
  double peak_hour, amplitude;
  uint32_t key_begin, key_end;      // this group's keys: [key_begin, key_end), sorted by slot
  uint32_t flash_begin, flash_end;  // its keys in the flash slot range (may be empty)
};

// One weighted choice of the picker: a group's keys, or a group's flash-crowd keys.
struct Pick {
  uint32_t key;
  uint16_t group;
  bool flash;
};

class Workload {
 public:
  static proxy::Result<Workload> build(const WorkloadConfig& cfg);

  const WorkloadConfig& config() const { return cfg_; }
  const std::vector<Group>& groups() const { return groups_; }
  uint32_t key_count() const { return static_cast<uint32_t>(offsets_.size() - 1); }
  uint32_t flash_key_count() const { return flash_keys_; }
  // RESP bulk string of key i: "$<len>\r\n<name>\r\n".
  std::string_view encoded_key(uint32_t i) const {
    return {arena_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]};
  }

  double hour_at(double t) const;  // simulated hour of day in [0, 24)
  double group_weight(uint32_t g, double hour) const;
  bool flash_active(double t) const;
  double target_rate(double t) const;  // aggregate ops/s, flash crowd included

  // Recomputes the picker's weights for real time t; pick() then follows them.
  void refresh(double t);
  // u01 in [0, 1) chooses the group (or flash set), r the key inside it.
  Pick pick(double u01, uint64_t r) const;

 private:
  double base_weight(double hour) const;               // sum of group weights
  double flash_weight(uint32_t g, double hour) const;  // extra weight of g's flash keys

  WorkloadConfig cfg_;
  std::vector<Group> groups_;
  std::vector<char> arena_;
  std::vector<uint32_t> offsets_;
  uint32_t flash_keys_ = 0;
  double norm_ = 1;                    // max over the day of base_weight
  std::vector<double> cum_;            // cumulative weights: groups, then their flash sets
  std::vector<double> zipf_cdf_;       // cumulative rank weights (zipf > 0 only)
  std::vector<uint32_t> rank_to_key_;  // per group: rank -> key index, a seeded shuffle
};

}  // namespace loadgen
