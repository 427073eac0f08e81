// Rolls the forecaster over each group's trace: fit, predict, observe.
#include "sim/forecasts.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "forecast/model.h"
#include "forecast/series.h"

namespace sim {

namespace {
// A midnight UTC, so the model's daily/weekly features see whole days.
constexpr int64_t kEpoch = 1'700'006'400;
}  // namespace

forecast::Result<GroupForecasts> GroupForecasts::build(const Workload& w, const ForecastOptions& o,
                                                       void (*progress)(size_t, size_t)) {
  auto model = forecast::make_model(o.model);
  if (!model.is_ok()) {
    return model.status();
  }
  auto naive = forecast::make_model("naive");
  GroupForecasts f;
  f.h_ = std::max(1, o.horizon_points);
  f.first_ = -static_cast<int64_t>(w.scenario().settle_days) * 288;
  const int64_t points = static_cast<int64_t>(w.scenario().days) * 288 - f.first_;
  const int64_t refit = std::max<int64_t>(1, o.refit_seconds / Workload::kTraceStep);
  const int64_t window = static_cast<int64_t>(o.window_days) * 288;
  const int64_t warm = static_cast<int64_t>(w.scenario().warmup_days) * 288;
  forecast::ModelParams params;
  f.v_.resize(w.groups());
  for (size_t g = 0; g < w.groups(); ++g) {
    auto& out = f.v_[g];
    out.resize(static_cast<size_t>(points) * static_cast<size_t>(f.h_ + 1));
    // The whole trace up to the end; fits see only what precedes their point.
    const std::vector<double> all = w.history(g, points + f.first_);
    std::unique_ptr<forecast::FittedModel> m;
    for (int64_t i = 0; i < points; ++i) {
      const int64_t end = warm + f.first_ + i;  // index in `all` of the point (not yet seen)
      if (i % refit == 0) {
        const int64_t from = std::max<int64_t>(0, end - window);
        auto ts = forecast::TimeSeries::make(
            kEpoch + (from - warm) * Workload::kTraceStep, Workload::kTraceStep,
            std::vector<double>(all.begin() + from, all.begin() + end));
        const auto t0 = std::chrono::steady_clock::now();
        auto fit = model.value()->fit(ts.value(), params);
        if (!fit.is_ok()) {
          fit = naive.value()->fit(ts.value(), params);
        }
        f.fit_seconds_ +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ++f.fits_;
        if (fit.is_ok()) {
          m = std::move(fit.value());
        }
      }
      float* row = &out[static_cast<size_t>(i) * static_cast<size_t>(f.h_ + 1)];
      for (int k = 0; k <= f.h_; ++k) {
        const double y = m ? m->point(k + 1) : all[end - 1];
        row[k] = static_cast<float>(std::isfinite(y) ? std::max(0.0, y) : all[end - 1]);
      }
      if (m) {
        m->observe(all[end]);
      }
    }
    if (progress != nullptr) {
      progress(g + 1, w.groups());
    }
  }
  return f;
}

}  // namespace sim
