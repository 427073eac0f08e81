// The simulated workload: groups of segments, each group following one trace
// of ../shared/data/traces (normalised, phase-shifted by a time zone, tiled to
// the run's length), Zipf-skewed weights inside a group, segment sizes, and
// one flash crowd the forecasts do not know about. Owns no fleet state.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "forecast/status.h"

namespace sim {

struct Scenario {
  int days = 14;
  int warmup_days = 7;  // history before t = 0 that the forecaster trains on
  // The balancer already runs over the last settle_days of the warm-up (not
  // counted), so the counts measure a running fleet, not the first hours
  // after foreshard's initial placement (which every mode shares).
  int settle_days = 1;
  int backends = 64;
  int segments = 16384;
  int slots_per_segment = 4;  // so a segment can be split (never below 1 slot)
  int groups = 8;
  int zone_hours = 3;              // group g is shifted g x zone_hours (time zones)
  double peak_utilisation = 0.75;  // aggregate peak / total capacity
  int smooth_minutes = 60;         // centred moving average over the 5-minute traces
  double zipf = 0.8;               // exponent of the load skew inside a group
  double base_capacity = 100000;   // ops/s; capacities are 0.75/1/1.25/1.5 x this
  double segment_bytes = 2e9;      // mean; lognormal(sigma 0.5) around it
  // Flash crowd: flash_segments segments of one group get extra load worth
  // flash_load x base_capacity in total, from flash_day for flash_minutes.
  double flash_day = 9.55;
  int flash_minutes = 60;
  int flash_segments = 4;
  double flash_load = 0.6;
  uint64_t seed = 1;
  std::string trace_dir;  // folder of the traces' CSV files
};

struct SegmentSpec {
  uint32_t first = 0, last = 0;  // slot range
  uint32_t group = 0;
  double weight = 0;  // share of its group's load (ops/s per unit of the trace)
  double bytes = 0;
};

class Workload {
 public:
  static constexpr int64_t kTraceStep = 300;  // group traces: 5-minute points

  // Reads the traces and builds everything; fails if a trace cannot be read.
  static forecast::Result<Workload> build(const Scenario& sc);

  const Scenario& scenario() const { return sc_; }
  const std::vector<SegmentSpec>& segments() const { return segments_; }
  const std::vector<double>& capacities() const { return capacity_; }
  // Owner per segment from proxy::SegmentMap::initial (what foreshard does:
  // contiguous ranges in backend order, sized by capacity).
  const std::vector<uint16_t>& initial_owners() const { return owner_; }
  const std::vector<uint32_t>& flash_segments() const { return flash_; }
  size_t groups() const { return trace_.size(); }
  const std::string& group_name(size_t g) const { return names_[g]; }
  int64_t duration() const { return static_cast<int64_t>(sc_.days) * 86400; }

  // Group g's unit load at time t (seconds from the start; negative = warm-up),
  // linear between the 5-minute points. Multiply by a segment's weight.
  double group_at(size_t g, double t) const;
  // The 5-minute points from the warm-up start up to (excluding) point `end`
  // counted from t = 0: what the forecaster may have seen.
  std::vector<double> history(size_t g, int64_t end_point) const;
  // Extra load of segment index i at time t (the flash crowd), 0 outside it.
  double flash_at(size_t i, double t) const;
  bool is_flash(size_t i) const;
  int64_t flash_start() const { return flash_start_; }
  int64_t flash_end() const { return flash_start_ + sc_.flash_minutes * 60; }

 private:
  Scenario sc_;
  std::vector<std::string> names_;
  std::vector<std::vector<double>> trace_;  // [group][point], point 0 = warm-up start
  int64_t warm_points_ = 0;
  std::vector<SegmentSpec> segments_;
  std::vector<double> capacity_;
  std::vector<uint16_t> owner_;
  std::vector<uint32_t> flash_;  // segment indices
  double flash_each_ = 0;
  int64_t flash_start_ = 0;
};

}  // namespace sim
