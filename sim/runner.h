// One simulated run of the fleet under one balancer mode: 10-second windows,
// backends with capacities and a queueing model, migrations that take
// bytes / rate and load both ends, and migrate::plan() called every plan
// interval. Owns the fleet state of the run; the workload and forecasts are
// shared, read-only, between runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "migrate/balancer.h"
#include "sim/forecasts.h"
#include "sim/workload.h"

namespace sim {

struct RunOptions {
  std::string label;  // "predictive+noise0.3", ...
  migrate::BalancerParams params;
  int64_t window_seconds = 10;
  // A running migration adds this x base capacity of ops/s on both its ends.
  double migration_load = 0.05;
  // Forecast noise: each group's forecast is scaled by (1 + noise x z) with
  // z ~ N(0,1) drawn per group per hour (a forecast that is wrong for hours).
  double noise = 0;
  // Per-backend memory: this x its capacity share of all bytes.
  double memory_factor = 1.6;
  // The planner's profile_error: per group, |forecast made error_lead_seconds
  // ago for now - now's load|, averaged (exponentially, half-life
  // error_halflife_seconds) and divided by the same average of the load.
  int64_t error_lead_seconds = 1800;
  int64_t error_halflife_seconds = 6 * 3600;
  bool progress = true;  // a line per simulated day on stderr
};

// What a run measured. "Overloaded window" = one backend, one 10-s window,
// load > capacity (the M/M/1 queue has no steady state: latency unbounded).
struct RunResult {
  std::string label;
  uint64_t overloaded = 0;        // backend-windows over capacity
  uint64_t windows_any = 0;       // windows with at least one backend over
  uint64_t flash_overloaded = 0;  // backend-windows over capacity in the flash crowd (+30 min)
  uint64_t moves = 0, splits = 0, merges = 0;
  uint64_t ping_pongs = 0;  // moves of a segment back to the owner it left < 24 h before
  double bytes_moved = 0;
  uint64_t waits = 0;   // planned moves held back by the concurrency limit
  uint64_t no_fit = 0;  // plans where a hot backend had no segment that fit anywhere
  // max_b util / mean_b util, util = backend load (clients + migrations) /
  // capacity: at the window of the highest aggregate client load (the same
  // window in every mode), and the 99th percentile over the busy windows
  // (aggregate client load >= 90% of that peak).
  double peak_ratio = 0, busy_ratio_p99 = 0;
  double mean_profile_error = 0;  // mean over plans and groups of profile_error
  double mean_latency = 0;        // mean M/M/1 latency factor 1/(1-rho), rho capped at 0.99
  double wall_seconds = 0;
  // Every 5 minutes: per-backend max utilisation, cumulative counters.
  std::vector<std::vector<float>> backend_util;  // [backend][point]
  std::vector<float> cum_overloaded, cum_bytes;
  std::vector<std::string> first_reasons;  // the first actions' reasons
};

RunResult run(const Workload& w, const GroupForecasts& f, const RunOptions& o);

}  // namespace sim
