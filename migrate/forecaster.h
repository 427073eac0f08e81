// Forecaster: fits the forecast library's default ("auto") model to a set of
// load series on the libuv thread pool, one uv_queue_work job at a time
// (series in by value, a ForecastSet out), and scores its own past forecasts
// against what happened. select_inputs() picks the series from a History.
// It owns no timers and decides nothing: the controller says when to refit.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace migrate {

class History;

// One series to forecast, in ops/s (or any unit: the forecast keeps it).
struct SeriesInput {
  std::string name;  // "backend redis-1", "segment 17", "other"
  uint64_t start_unix_s = 0;
  uint32_t step_s = 0;
  std::vector<double> values;
};

struct SeriesForecast {
  std::string name;
  std::string model;      // "auto", or the fallback's name ("seasonal-naive", "naive", "none")
  bool fallback = false;  // the default model was not used (too short, fit failed, ...)
  std::string fallback_reason;
  uint64_t start_unix_s = 0;  // the first predicted step
  uint32_t step_s = 0;
  std::vector<double> yhat, lower, upper;  // clamped at 0: load is never negative
  uint64_t actuals_start_unix_s = 0;       // the last ~2 h of the input
  std::vector<double> actuals;
  double mase_scale = 0;  // mean |y_t - y_{t-1}| of the input: the MASE denominator
  double fit_ms = 0;
};

struct ForecastSet {
  uint64_t made_at_unix_s = 0;  // wall clock when request() was called
  std::vector<SeriesForecast> series;
  double fit_ms_total = 0;

  const SeriesForecast* find(const std::string& name) const;
};

// Rolling accuracy of one series over the last Options::error_window scored points.
struct ErrorStats {
  double smape = 0;  // M4 sMAPE in percent (0..200; 0/0 counts as 0)
  double mase = 0;   // mean |error| / SeriesForecast::mase_scale (a one-step naive scale)
  size_t points = 0;
};

class Forecaster {
 public:
  struct Options {
    uint32_t horizon_s = 3600;
    uint32_t min_points = 24;      // fewer points: a naive fallback, flagged
    double segment_share = 0.005;  // see select_inputs()
    uint32_t error_window = 288;   // scored points kept per series for rolling_error()
  };
  using Done = std::function<void(std::shared_ptr<const ForecastSet>)>;

  // `loop` must outlive this object; all methods are for its thread only.
  Forecaster(uv_loop_t* loop, Options options);
  // Cancels (see cancel()). The loop must still be run until it drains.
  ~Forecaster();
  Forecaster(const Forecaster&) = delete;
  Forecaster& operator=(const Forecaster&) = delete;

  // False if a job is in flight or uv_queue_work fails: `done` is then never
  // called. Otherwise the inputs move into one thread-pool job that fits each
  // series (no exception leaves it; a failed fit gets a seasonal-naive or
  // naive fallback, flagged), and `done` runs exactly once, on the loop
  // thread, unless cancel() comes first. `done` may call request() again or
  // destroy this Forecaster. Before queueing, the inputs score the last
  // delivered forecasts (see rolling_error()).
  bool request(std::vector<SeriesInput> inputs, Done done);
  bool busy() const { return job_ != nullptr; }

  // After cancel() `done` is never called. A job not yet started is dropped
  // (uv_cancel); a running one stops between two series. Either way its
  // uv_work_t stays active until its after-work callback has run on the
  // loop, so the owner's shutdown is: cancel() (or destroy this object), run
  // the loop until uv_run() returns 0, then uv_loop_close() == 0.
  void cancel();

  // Score one actual against the reference forecast (also done by request()
  // for every input step after the reference's data). A point is scored once.
  void observe(const std::string& name, uint64_t unix_s, double actual);
  // Rolling sMAPE (percent) of `name`; NaN until a point has been scored.
  double rolling_error(const std::string& name) const;
  ErrorStats rolling_errors(const std::string& name) const;

  // The last delivered set (null before the first).
  std::shared_ptr<const ForecastSet> latest() const { return latest_; }
  const Options& options() const { return options_; }

 private:
  struct Job;
  struct ErrorWindow {
    std::vector<std::pair<double, double>> ring;  // (sMAPE term, |error| / scale)
    size_t next = 0;
    double smape_sum = 0, mase_sum = 0;
    uint64_t scored_until = 0;  // unix start of the last scored step + 1
    uint64_t last_request = 0;  // request count when last seen (prunes old names)
  };
  static void work_cb(uv_work_t* req);
  static void after_work_cb(uv_work_t* req, int status);
  void on_done(Job* job, int status);
  void score_inputs(const std::vector<SeriesInput>& inputs);
  void score(const SeriesForecast& f, uint64_t unix_s, double actual);

  uv_loop_t* loop_;
  Options options_;
  Job* job_ = nullptr;  // in flight; owned by the pool until its after-work callback
  std::shared_ptr<const ForecastSet> latest_;
  // The set actuals are scored against: kept until its horizon has passed,
  // so every lead of the horizon gets scored, not only the first few.
  std::shared_ptr<const ForecastSet> reference_;
  std::unordered_map<std::string, ErrorWindow> errors_;
  uint64_t requests_ = 0;
};

// The series worth a fit: every backend ("backend <name>", ops), every
// segment (index i of `segment_slot_ranges`: "segment <i>") whose share of
// the load over the last `recent_points` steps is at least `segment_share`,
// and "other" (all slots minus the chosen segments, so slots outside every
// range count there). At most backends + 1/segment_share + 1 series,
// whatever the number of segments; the cost is O(slots * recent_points)
// plus O(points) per chosen segment's slot.
std::vector<SeriesInput> select_inputs(
    const History& history, const std::vector<std::pair<uint32_t, uint32_t>>& segment_slot_ranges,
    double segment_share, size_t recent_points = 24);

}  // namespace migrate
