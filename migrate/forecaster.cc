// Forecaster: the thread-pool job (fit each series, contain every failure in
// a flagged fallback), its hand-back to the loop, the rolling error of the
// delivered forecasts, and select_inputs(). The pool thread touches only its
// Job; everything else here runs on the loop thread.
#include "migrate/forecaster.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <exception>
#include <limits>

#include "forecast/auto_model.h"
#include "forecast/baselines.h"
#include "migrate/history.h"

namespace migrate {
namespace {

constexpr uint32_t kActualsS = 7200;    // recent actuals kept with each forecast
constexpr size_t kStaleRequests = 288;  // error windows unseen this long are dropped

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The last finite value, or 0.
double last_finite(const std::vector<double>& v) {
  for (auto it = v.rbegin(); it != v.rend(); ++it) {
    if (std::isfinite(*it)) {
      return *it;
    }
  }
  return 0;
}

// Mean |y_t - y_{t-1}| over finite pairs: the one-step naive error, used as
// the MASE scale and the random-walk band; the mean level (or 1) if flat.
double naive_scale(const std::vector<double>& v) {
  double sum = 0, level = 0;
  size_t n = 0, m = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isfinite(v[i])) {
      level += std::abs(v[i]);
      ++m;
      if (i > 0 && std::isfinite(v[i - 1])) {
        sum += std::abs(v[i] - v[i - 1]);
        ++n;
      }
    }
  }
  if (n > 0 && sum > 0) {
    return sum / static_cast<double>(n);
  }
  return m > 0 && level > 0 ? level / static_cast<double>(m) : 1.0;
}

// Fills NaN points with the last finite value and missing or non-finite
// bands with the naive random-walk band yhat +- z * sigma * sqrt(h)
// (Hyndman & Athanasopoulos, FPP3 §5.5), then clamps everything at 0.
void repair(SeriesForecast& f, double sigma) {
  const double z = forecast::normal_quantile(0.9);  // 80% band, Prophet's default width
  double prev = last_finite(f.actuals);
  for (size_t i = 0; i < f.yhat.size(); ++i) {
    double& y = f.yhat[i];
    y = std::isfinite(y) ? y : prev;
    prev = y;
    const double half = z * sigma * std::sqrt(static_cast<double>(i + 1));
    if (!std::isfinite(f.lower[i]) || !std::isfinite(f.upper[i])) {
      f.lower[i] = y - half;
      f.upper[i] = y + half;
    }
    y = std::max(y, 0.0);
    f.lower[i] = std::clamp(f.lower[i], 0.0, y);
    f.upper[i] = std::max(f.upper[i], y);
  }
}

// Fits `model` and predicts `steps`; false (with a reason) on any failure.
bool try_model(const forecast::Model& model, const forecast::TimeSeries& ts, int steps,
               SeriesForecast& f, std::string& why) {
  try {
    auto fitted = model.fit(ts, forecast::ModelParams{});
    if (!fitted.is_ok()) {
      why = std::string(model.name()) + ": " + fitted.status().message();
      return false;
    }
    auto fc = fitted.value()->predict(steps);
    if (!fc.is_ok()) {
      why = std::string(model.name()) + ": " + fc.status().message();
      return false;
    }
    const bool any =
        std::any_of(fc->yhat.begin(), fc->yhat.end(), [](double y) { return std::isfinite(y); });
    if (!any) {
      why = std::string(model.name()) + ": no finite prediction";
      return false;
    }
    f.model = std::string(model.name());
    f.yhat = std::move(fc->yhat);
    f.lower = std::move(fc->lower);
    f.upper = std::move(fc->upper);
    return true;
  } catch (const std::exception& e) {  // Eigen/std allocation: contained here (CONVENTIONS §3)
    why = std::string(model.name()) + ": " + e.what();
  } catch (...) {
    why = std::string(model.name()) + ": unknown exception";
  }
  return false;
}

// One series, start to end. Never throws (allocation failures of the result
// itself aside, which the job's own catch handles).
SeriesForecast fit_one(SeriesInput& in, const Forecaster::Options& o) {
  auto t0 = std::chrono::steady_clock::now();
  SeriesForecast f;
  f.name = in.name;
  f.step_s = in.step_s;
  const size_t n = in.values.size();
  const uint32_t step = std::max<uint32_t>(in.step_s, 1);
  const int steps = static_cast<int>(std::max<uint32_t>((o.horizon_s + step - 1) / step, 1));
  f.start_unix_s = in.start_unix_s + n * step;
  const size_t keep = std::min<size_t>(n, (kActualsS + step - 1) / step);
  f.actuals.assign(in.values.end() - static_cast<long>(keep), in.values.end());
  f.actuals_start_unix_s = f.start_unix_s - keep * step;
  f.mase_scale = naive_scale(in.values);

  std::string why;
  bool ok = false;
  auto ts = forecast::TimeSeries::make(static_cast<int64_t>(in.start_unix_s), step, in.values);
  if (in.step_s == 0 || !ts.is_ok()) {
    why = in.step_s == 0 ? "step 0" : ts.status().message();
  } else if (n < o.min_points) {
    why = std::to_string(n) + " points < min_points " + std::to_string(o.min_points);
  } else {
    ok = try_model(forecast::AutoModel(), ts.value(), steps, f, why);
  }
  if (!ok) {
    f.fallback = true;
    f.fallback_reason = why;
    std::string ignored;
    const bool day = ts.is_ok() && n > static_cast<size_t>(ts->steps_per_day());
    ok = (day && try_model(forecast::SeasonalNaiveModel(), ts.value(), steps, f, ignored)) ||
         (ts.is_ok() && n > 0 && try_model(forecast::NaiveModel(), ts.value(), steps, f, ignored));
  }
  if (!ok) {
    f.model = "none";  // nothing to go on: the last value (or 0), flat
    f.yhat.assign(static_cast<size_t>(steps), last_finite(in.values));
  }
  f.yhat.resize(static_cast<size_t>(steps), std::numeric_limits<double>::quiet_NaN());
  f.lower.resize(f.yhat.size(), std::numeric_limits<double>::quiet_NaN());
  f.upper.resize(f.yhat.size(), std::numeric_limits<double>::quiet_NaN());
  repair(f, f.mase_scale);
  f.fit_ms = ms_since(t0);
  return f;
}

}  // namespace

struct Forecaster::Job {
  uv_work_t req;
  Forecaster* owner = nullptr;  // null once cancelled: after-work only frees the job
  std::atomic<bool> cancelled{false};
  Options options;
  std::vector<SeriesInput> inputs;
  Done done;
  ForecastSet out;
};

const SeriesForecast* ForecastSet::find(const std::string& name) const {
  for (const SeriesForecast& f : series) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

Forecaster::Forecaster(uv_loop_t* loop, Options options) : loop_(loop), options_(options) {
  options_.error_window = std::max<uint32_t>(options_.error_window, 1);
}

Forecaster::~Forecaster() { cancel(); }

bool Forecaster::request(std::vector<SeriesInput> inputs, Done done) {
  if (job_ != nullptr || !done) {
    return false;
  }
  ++requests_;
  score_inputs(inputs);
  auto job = std::make_unique<Job>();
  job->req.data = job.get();
  job->owner = this;
  job->options = options_;
  job->inputs = std::move(inputs);
  job->done = std::move(done);
  job->out.made_at_unix_s = static_cast<uint64_t>(std::time(nullptr));
  if (uv_queue_work(loop_, &job->req, work_cb, after_work_cb) != 0) {
    return false;
  }
  job_ = job.release();  // the pool owns it until after_work_cb
  return true;
}

void Forecaster::work_cb(uv_work_t* req) {
  Job* job = static_cast<Job*>(req->data);
  auto t0 = std::chrono::steady_clock::now();
  try {
    job->out.series.reserve(job->inputs.size());
    for (SeriesInput& in : job->inputs) {
      if (job->cancelled.load(std::memory_order_relaxed)) {
        break;  // nobody will read the result
      }
      job->out.series.push_back(fit_one(in, job->options));
    }
  } catch (...) {
    // Out of memory for the results themselves: deliver what was fitted.
  }
  job->out.fit_ms_total = ms_since(t0);
}

void Forecaster::after_work_cb(uv_work_t* req, int status) {
  Job* job = static_cast<Job*>(req->data);
  if (job->owner == nullptr) {
    delete job;  // cancelled: nobody is told
    return;
  }
  job->owner->on_done(job, status);
}

// status is 0 here: only cancel() calls uv_cancel, and it detaches the job first.
void Forecaster::on_done(Job* job, int /*status*/) {
  job_ = nullptr;
  std::unique_ptr<Job> hold(job);
  auto set = std::make_shared<const ForecastSet>(std::move(job->out));
  latest_ = set;
  if (reference_ == nullptr) {
    reference_ = set;
  }
  Done done = std::move(hold->done);
  hold.reset();
  done(std::move(set));  // last: it may destroy this Forecaster
}

void Forecaster::cancel() {
  if (job_ == nullptr) {
    return;
  }
  job_->owner = nullptr;
  job_->cancelled.store(true, std::memory_order_relaxed);
  uv_cancel(reinterpret_cast<uv_req_t*>(&job_->req));  // EBUSY if already running: fine
  job_ = nullptr;
}

// ---- rolling error

void Forecaster::score(const SeriesForecast& f, uint64_t unix_s, double actual) {
  if (f.step_s == 0 || unix_s < f.start_unix_s || (unix_s - f.start_unix_s) % f.step_s != 0 ||
      !std::isfinite(actual)) {
    return;
  }
  const size_t i = (unix_s - f.start_unix_s) / f.step_s;
  ErrorWindow& w = errors_[f.name];
  if (i >= f.yhat.size() || unix_s < w.scored_until) {
    return;
  }
  const double p = f.yhat[i], err = std::abs(actual - p);
  const double denom = std::abs(actual) + std::abs(p);
  const std::pair<double, double> e{denom > 0 ? 200.0 * err / denom : 0.0, err / f.mase_scale};
  if (w.ring.size() < options_.error_window) {
    w.ring.push_back(e);
  } else {
    w.ring[w.next] = e;
  }
  w.next = (w.next + 1) % options_.error_window;
  // Summed afresh (at most error_window terms) so no drift builds up.
  w.smape_sum = w.mase_sum = 0;
  for (const auto& [s, m] : w.ring) {
    w.smape_sum += s;
    w.mase_sum += m;
  }
  w.scored_until = unix_s + 1;
}

void Forecaster::observe(const std::string& name, uint64_t unix_s, double actual) {
  const SeriesForecast* f = reference_ ? reference_->find(name) : nullptr;
  if (f != nullptr) {
    score(*f, unix_s, actual);
  }
}

void Forecaster::score_inputs(const std::vector<SeriesInput>& inputs) {
  uint64_t inputs_end = 0;
  for (const SeriesInput& in : inputs) {
    errors_[in.name].last_request = requests_;
    inputs_end = std::max(inputs_end, in.start_unix_s + in.values.size() * in.step_s);
    const SeriesForecast* f = reference_ ? reference_->find(in.name) : nullptr;
    if (f == nullptr || in.step_s != f->step_s || in.step_s == 0) {
      continue;
    }
    for (size_t i = 0; i < f->yhat.size(); ++i) {
      const uint64_t t = f->start_unix_s + i * f->step_s;
      if (t >= in.start_unix_s && (t - in.start_unix_s) % in.step_s == 0 &&
          (t - in.start_unix_s) / in.step_s < in.values.size()) {
        score(*f, t, in.values[(t - in.start_unix_s) / in.step_s]);
      }
    }
  }
  // Once the reference's whole horizon has happened, the next set replaces it.
  if (reference_ != nullptr) {
    uint64_t ref_end = 0;
    for (const SeriesForecast& f : reference_->series) {
      ref_end = std::max(ref_end, f.start_unix_s + f.yhat.size() * f.step_s);
    }
    if (inputs_end >= ref_end) {
      reference_ = nullptr;
    }
  }
  for (auto it = errors_.begin(); it != errors_.end();) {
    it = requests_ - it->second.last_request > kStaleRequests ? errors_.erase(it) : std::next(it);
  }
}

ErrorStats Forecaster::rolling_errors(const std::string& name) const {
  auto it = errors_.find(name);
  if (it == errors_.end() || it->second.ring.empty()) {
    return {std::nan(""), std::nan(""), 0};
  }
  const double n = static_cast<double>(it->second.ring.size());
  return {it->second.smape_sum / n, it->second.mase_sum / n, it->second.ring.size()};
}

double Forecaster::rolling_error(const std::string& name) const {
  return rolling_errors(name).smape;
}

// ---- choosing the series

std::vector<SeriesInput> select_inputs(
    const History& history, const std::vector<std::pair<uint32_t, uint32_t>>& segment_slot_ranges,
    double segment_share, size_t recent_points) {
  std::vector<SeriesInput> out;
  auto add = [&out](std::string name, Series s) {
    out.push_back({std::move(name), s.start_unix_s, s.step_s, std::move(s.values)});
  };
  for (size_t b = 0; b < history.backend_names().size(); ++b) {
    add("backend " + history.backend_names()[b], history.forecast_input_backend(b));
  }
  const std::vector<double> rates = history.recent_slot_rates(recent_points);
  double total = 0;
  for (double r : rates) {
    total += r;
  }
  // "other" = all slots - the chosen segments: O(points) per segment instead
  // of a pass over every slot's ring (16,384 rings at defaults).
  Series other = history.forecast_input_all();
  for (size_t i = 0; i < segment_slot_ranges.size(); ++i) {
    const auto [first, last] = segment_slot_ranges[i];
    double load = 0;
    for (uint64_t s = first; s <= last && s < rates.size(); ++s) {
      load += rates[s];
    }
    if (total > 0 && load > 0 && load >= segment_share * total) {
      Series seg = history.forecast_input_segment(first, last);
      for (size_t k = 0; k < seg.values.size() && k < other.values.size(); ++k) {
        other.values[k] -= seg.values[k];
      }
      add("segment " + std::to_string(i), std::move(seg));
    }
  }
  for (double& v : other.values) {
    v = std::max(v, 0.0);  // rounding of the subtraction, never real load
  }
  add("other", std::move(other));
  return out;
}

}  // namespace migrate
