// Group forecasts for the simulator: the project's forecaster (forecast/,
// model "auto" by default) fitted on each group's 5-minute trace every
// `refit_seconds` over a trailing window, advanced with observe() between
// refits. They depend on the workload only, so every mode shares them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "forecast/status.h"
#include "sim/workload.h"

namespace sim {

struct ForecastOptions {
  std::string model = "auto";
  int horizon_points = 24;       // 5-minute points ahead (2 h)
  int64_t refit_seconds = 3600;  // hourly
  int window_days = 7;           // trailing history per fit
};

class GroupForecasts {
 public:
  // Fits and rolls every group through the run; `progress` is called after
  // each group with (done, total). Fails only on an unknown model name.
  static forecast::Result<GroupForecasts> build(const Workload& w, const ForecastOptions& o,
                                                void (*progress)(size_t, size_t) = nullptr);

  int horizon_points() const { return h_; }
  // The forecast made at 5-minute point i (i = -settle_days x 288 .. days x
  // 288 - 1), as seen at point i: value k (0 .. horizon_points) is for point i + k.
  const float* at(size_t g, int64_t i) const {
    return &v_[g][static_cast<size_t>(i - first_) * static_cast<size_t>(h_ + 1)];
  }
  double fit_seconds() const { return fit_seconds_; }  // wall time spent fitting
  size_t fits() const { return fits_; }

 private:
  int h_ = 0;
  int64_t first_ = 0;  // point of v_[g][0]
  std::vector<std::vector<float>> v_;
  double fit_seconds_ = 0;
  size_t fits_ = 0;
};

}  // namespace sim
