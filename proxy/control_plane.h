// ControlPlane: what the data plane may ask of the control plane (migrate/
// implements it; proxy/ never includes migrate/). Every method is called on
// worker threads or the metrics thread, so implementations answer from
// immutable snapshots they publish atomically, never by touching loop state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace proxy {

// Per-backend figures for Prometheus gauges.
struct BackendForecastGauge {
  std::string backend;
  double observed_ops = 0;    // load over the last telemetry step, ops/s
  double predicted_ops = 0;   // highest predicted load over the horizon, ops/s
  double predicted_upper = 0; // upper bound of the interval at that point
  double forecast_error = 0;  // rolling error of this backend's forecasts (sMAPE, 0..2)
};

// A Prometheus histogram kept by the control plane (seconds).
struct SecondsHistogram {
  std::vector<double> bounds;   // upper bounds, ascending; +Inf is implied
  std::vector<uint64_t> counts; // per bucket, not cumulative; bounds.size() + 1
  double sum = 0;
  uint64_t count = 0;

  explicit SecondsHistogram(std::vector<double> b = {})
      : bounds(std::move(b)), counts(bounds.size() + 1, 0) {}
  void observe(double v) {
    size_t i = 0;
    while (i < bounds.size() && v > bounds[i]) {
      ++i;
    }
    ++counts[i];
    sum += v;
    ++count;
  }
};

// Migration and balancer figures for Prometheus.
struct MigrationGauges {
  uint64_t done = 0, aborted = 0;       // moves finished, by result
  uint64_t keys_copied = 0, bytes_copied = 0;
  uint64_t mismatches = 0;              // validation mismatches (each one re-copied or aborted)
  uint64_t connections_killed = 0;      // source connections killed for lost write replies
  uint64_t destination_reads = 0;       // reads answered by a destination during catch-up
  uint64_t dirty_keys = 0;              // of the running move
  std::string running_phase;            // metric label of the running move's phase; "" = none
  SecondsHistogram switch_pause;
  std::vector<std::pair<std::string, SecondsHistogram>> phase_durations;
  int balancer_enabled = -1;            // -1: no balancer in this build
  std::string balancer_mode;            // static | reactive | predictive
  std::vector<std::pair<std::string, uint64_t>> balancer_decisions;  // action -> count
};

class ControlPlane {
 public:
  virtual ~ControlPlane() = default;
  // FORESHARD FORECAST [target]: a bulk text report (forecast, interval,
  // recent actuals) of a backend name, "segment N", or all backends.
  virtual std::string forecast_report(std::string_view target) const = 0;
  // FORESHARD STATUS: one line per control-plane component.
  virtual std::string status_report() const = 0;
  virtual std::vector<BackendForecastGauge> backend_gauges() const = 0;
  virtual MigrationGauges migration_gauges() const = 0;
  // FORESHARD MIGRATE | MIGRATIONS | ABORT | SPLIT | MERGE | DRAIN: args[0] is
  // the upper-cased subcommand. The reply text, or an error text ("ERR ...")
  // with *error set.
  virtual std::string admin(const std::vector<std::string>& args, bool* error) = 0;
  // Main thread, on SIGINT/SIGTERM: close timers and handles so the control
  // loop can end (a fit in flight finishes first).
  virtual void shutdown() = 0;
};

}  // namespace proxy
