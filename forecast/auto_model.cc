// The "auto" forecaster: candidates from one Prophet fit (Taylor & Letham 2017) and the
// history, blended per lead by greedy ensemble selection with replacement (Caruana et al.
// 2004) on the training tail, then refitted; level shifts found by a two-sample test on
// the deseasonalised last day (single change point on an hourly grid).
#include "forecast/auto_model.h"
#include "forecast/series.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "forecast/prophet.h"
#include "forecast/solver.h"

namespace forecast {
namespace {

constexpr double kShiftT = 6.0;       // standard errors that make a level shift
constexpr int kSelectionRounds = 10;  // ensemble-selection rounds (weights in tenths)
constexpr size_t kLadStride = 4;      // LAD fits use every 4th origin

// The candidates the blend chooses from. All but the last three are baselines.
enum Cand {
  kNaive,       // last observed value
  kSnaiveDay,   // value k days before the target (reference tool's snaive_d)
  kSnaiveWeek,  // value k weeks before the target
  kMedianHour,  // median of the last hour: robust to bursts (MAE-optimal level)
  kSeasLevel,   // seasonality + deseasonalised level (last day, or since a shift)
  kSeasLad,     // seasonality + LAD-weighted mix of last value, last hour, level
  kCandCount
};
const char* const kCandNames[kCandCount] = {
    "naive",       "seasonal-naive", "seasonal-naive-weekly",
    "median-hour", "season+level",   "season+lad-level"};

struct Setup {
  size_t day = 1, hour = 1;  // steps
  std::vector<int> leads;    // the leads weights are tuned for
  // 1 / sqrt(1/hours_after + 1/hours_before) for a split k hours back: the
  // standard error factor of a difference of means of hourly-mean noise.
  std::vector<double> split_factor;
};

// y, z = y - seasonality and the shift-aware level of z at every step so
// far, with prefix sums of z so that window means cost O(1).
class History {
 public:
  void reserve(size_t n) {
    for (auto* v : {&y_, &z_, &cz_, &level_}) v->reserve(n);
    cn_.reserve(n);
    last_.reserve(n);
  }
  // Empties the history but keeps its memory for the next fit.
  void clear() {
    for (auto* v : {&y_, &z_, &cz_, &level_}) v->clear();
    cn_.clear();
    last_.clear();
  }
  // Appends one step with its seasonality s.
  void push(double y, double s, const Setup& su, double hour_sd) {
    const bool ok = !std::isnan(y);
    y_.push_back(y);
    z_.push_back(y - s);
    last_.push_back(ok ? static_cast<uint32_t>(y_.size() - 1)
                       : (last_.empty() ? kNone : last_.back()));
    cz_.push_back((cz_.empty() ? 0.0 : cz_.back()) + (ok ? y - s : 0.0));
    cn_.push_back((cn_.empty() ? 0u : cn_.back()) + (ok ? 1u : 0u));
    level_.push_back(shift_aware_level(y_.size() - 1, su, hour_sd));
  }
  size_t size() const { return y_.size(); }
  double y(size_t i) const { return y_[i]; }
  double z(size_t i) const { return z_[i]; }
  double last_y(size_t o) const { return last_[o] == kNone ? kNaN : y_[last_[o]]; }
  double last_z(size_t o) const { return last_[o] == kNone ? kNaN : z_[last_[o]]; }
  double level(size_t o) const { return level_[o]; }
  // Mean of z over the window (o - k, o]; NaN if it holds no observation.
  double mean_z(size_t o, size_t k) const {
    const long c = count(o, k);
    return c > 0 ? sum(cz_, o, k) / static_cast<double>(c) : kNaN;
  }
  // Median of the observed y in (o - k, o] (at most the latest 64 of them).
  double median_y(size_t o, size_t k) const {
    std::array<double, 64> buf;
    size_t c = 0;
    for (size_t i = o + 1, lo = o + 1 - std::min(k, o + 1); i > lo && c < buf.size(); --i) {
      if (!std::isnan(y_[i - 1])) buf[c++] = y_[i - 1];
    }
    if (c == 0) return kNaN;
    std::nth_element(buf.begin(), buf.begin() + c / 2, buf.begin() + c);
    const double hi = buf[c / 2];
    return c % 2 ? hi : 0.5 * (hi + *std::max_element(buf.begin(), buf.begin() + c / 2));
  }

 private:
  static constexpr uint32_t kNone = ~uint32_t{0};
  long count(size_t o, size_t k) const {
    const size_t lo = o + 1 - std::min(k, o + 1);
    return static_cast<long>(cn_[o]) - (lo ? static_cast<long>(cn_[lo - 1]) : 0L);
  }
  double sum(const std::vector<double>& c, size_t o, size_t k) const {
    const size_t lo = o + 1 - std::min(k, o + 1);
    return c[o] - (lo ? c[lo - 1] : 0.0);
  }
  // Mean of z over the last day, or over the part after the hourly split
  // point whose two sides differ most, when they differ by more than kShiftT
  // standard errors (hourly-mean noise, so slow wander is not a "shift").
  double shift_aware_level(size_t o, const Setup& su, double hour_sd) const {
    const double day_mean = mean_z(o, su.day);
    if (su.split_factor.empty() || o + 1 < su.day || !(hour_sd > 0)) return day_mean;
    const double limit = kShiftT * hour_sd;
    double best = limit, level = day_mean;
    const size_t lo = o + 1 - su.day;  // first index of the day window
    const double cz_lo = lo ? cz_[lo - 1] : 0.0;
    const double cn_lo = lo ? cn_[lo - 1] : 0.0;
    for (size_t j = 1; j < su.split_factor.size(); ++j) {
      const size_t split = o - j * su.hour;  // last index before the recent part
      const double n1 = cn_[o] - static_cast<double>(cn_[split]), n2 = cn_[split] - cn_lo;
      const double s1 = cz_[o] - cz_[split], s2 = cz_[split] - cz_lo;
      // |s1/n1 - s2/n2| * factor > best, without dividing (this runs per step
      // and split); n1 = 0 or n2 = 0 makes both sides 0 and never passes.
      const double lhs = std::abs(s1 * n2 - s2 * n1) * su.split_factor[j];
      if (lhs > best * n1 * n2 && n1 > 0 && n2 > 0) {
        best = lhs / (n1 * n2);
        level = s1 / n1;
      }
    }
    return level;
  }

  std::vector<double> y_, z_, cz_, level_;
  std::vector<uint32_t> cn_;    // observed values up to each step
  std::vector<uint32_t> last_;  // index of the last observed value at each step
};

// One fit on y[0, end): the Prophet curve, the history on its seasonality
// and the per-lead LAD level weights.
struct Core {
  std::unique_ptr<FittedProphet> prophet;  // null if Prophet could not be fitted
  History hist;
  std::vector<std::array<double, 3>> lad;  // per lead: weights on [last z, hour z, level]
  double hour_sd = 0;                      // robust sd of hourly means of z
  int64_t start = 0, step = 1;

  std::vector<double> season;  // seasonality at steps [0, n + longest lead)

  double seasonal(size_t i) const {
    if (i < season.size()) return season[i];
    return prophet
               ? prophet->seasonal_at(static_cast<double>(start + static_cast<int64_t>(i) * step))
               : 0.0;
  }
  void push(double y, const Setup& su) { hist.push(y, seasonal(hist.size()), su, hour_sd); }
  double snaive(size_t o, int h, size_t period) const {
    const auto p = static_cast<long>(period);
    const long target = static_cast<long>(o) + h;
    for (long k = std::max<long>(1, (h + p - 1) / p); k <= 8; ++k) {
      const long j = target - k * p;
      if (j < 0) return kNaN;
      if (!std::isnan(hist.y(static_cast<size_t>(j)))) return hist.y(static_cast<size_t>(j));
    }
    return kNaN;
  }
  // Candidate c for the target o + h from origin o (lead index li).
  double cand(int c, size_t o, int h, size_t li, const Setup& su) const {
    const double st = seasonal(o + static_cast<size_t>(h));
    switch (c) {
      case kNaive:
        return hist.last_y(o);
      case kSnaiveDay:
        return snaive(o, h, su.day);
      case kSnaiveWeek:
        return snaive(o, h, 7 * su.day);
      case kMedianHour:
        return hist.median_y(o, su.hour);
      case kSeasLevel:
        return st + hist.level(o);
      case kSeasLad: {
        const auto& w = lad[li];
        return st + w[0] * hist.last_z(o) + w[1] * hist.mean_z(o, su.hour) + w[2] * hist.level(o);
      }
    }
    return kNaN;
  }
};

double median_of(std::vector<double>& v) {
  if (v.empty()) return 0.0;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Robust sd (1.4826 MAD of successive differences / sqrt 2) of the hourly
// means of z = y - seasonality over y[0, end).
double hourly_noise(const TimeSeries& s, size_t end, const Core& core, const Setup& su) {
  std::vector<double> diffs;
  double prev = kNaN;
  for (size_t h0 = 0; h0 + su.hour <= end; h0 += su.hour) {
    double sum = 0;
    int cnt = 0;
    for (size_t i = h0; i < h0 + su.hour; ++i) {
      if (!std::isnan(s[i])) sum += s[i] - core.seasonal(i), ++cnt;
    }
    const double m = cnt ? sum / cnt : kNaN;
    if (!std::isnan(m) && !std::isnan(prev)) diffs.push_back(std::abs(m - prev));
    prev = m;
  }
  return 1.4826 * median_of(diffs) / std::sqrt(2.0);
}

// LAD for z(o+h) = w . [last z, hour mean z, level] with sum(w) = 1, so a
// level shift passes through unchanged: regress z(o+h) - level on the other
// two minus level. Defaults to the level alone when there is too little data.
std::array<double, 3> fit_lad_level(const TimeSeries& s, size_t end, const Core& core,
                                    const Setup& su, int h) {
  std::vector<double> x0, x1, y;
  for (size_t o = su.day; o + static_cast<size_t>(h) < end; o += kLadStride) {
    const size_t T = o + static_cast<size_t>(h);
    const double a = core.hist.last_z(o), b = core.hist.mean_z(o, su.hour), c = core.hist.level(o);
    if (std::isnan(s[T]) || !std::isfinite(a) || !std::isfinite(b) || !std::isfinite(c)) continue;
    x0.push_back(a - c);
    x1.push_back(b - c);
    y.push_back(core.hist.z(T) - c);
  }
  if (y.size() < 20) return {0, 0, 1};
  Eigen::MatrixXd x(static_cast<Eigen::Index>(y.size()), 2);
  x.col(0) = Eigen::Map<Eigen::VectorXd>(x0.data(), x.rows());
  x.col(1) = Eigen::Map<Eigen::VectorXd>(x1.data(), x.rows());
  auto r = solve_lad(x, Eigen::Map<Eigen::VectorXd>(y.data(), x.rows()),
                     1e-6 * static_cast<double>(y.size()));
  if (!r.is_ok()) return {0, 0, 1};
  return {r.value()[0], r.value()[1], 1 - r.value()[0] - r.value()[1]};
}

// Fits `core` on y[0, end) and fills its history with all of y, reusing the
// memory the core already holds (the validation core becomes the final one).
void build_core(Core& core, const TimeSeries& s, size_t end, const ModelParams& p,
                const Setup& su) {
  core.start = s.start();
  core.step = s.step();
  auto pf = fit_prophet(s.slice(0, end), p, ChangepointPrior::Laplace);
  core.prophet = pf.is_ok() ? std::move(pf.value()) : nullptr;
  const int longest = *std::max_element(su.leads.begin(), su.leads.end());
  core.season.resize(core.prophet ? s.size() + static_cast<size_t>(longest) : 0);
  // Daily and weekly terms repeat every week of steps when a day is a whole
  // number of steps: evaluate one week and copy (the trig is most of the cost).
  size_t period = core.season.size();
  if (core.prophet && 86400 % s.step() == 0) {
    period = su.day;
    for (const Seasonality& z : core.prophet->spec().seasonalities) {
      if (z.period_days == 7.0) period = 7 * su.day;
      if (z.period_days != 1.0 && z.period_days != 7.0) period = core.season.size();
    }
  }
  for (size_t i = 0; i < core.season.size(); ++i) {
    core.season[i] = i < period ? core.prophet->seasonal_at(static_cast<double>(s.time_at(i)))
                                : core.season[i - period];
  }
  core.hour_sd = hourly_noise(s, end, core, su);
  core.hist.clear();
  core.hist.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size(); ++i) core.push(s[i], su);
  core.lad.clear();
  for (int h : su.leads) core.lad.push_back(fit_lad_level(s, end, core, su, h));
}

size_t nearest_lead(const std::vector<int>& leads, int lead) {
  size_t best = 0;
  double bd = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < leads.size(); ++i) {
    const double d = std::abs(std::log(static_cast<double>(leads[i]) / lead));
    if (d < bd) bd = d, best = i;
  }
  return best;
}

// Greedy ensemble selection with replacement: start empty, add the candidate
// that most lowers the mean absolute error of the running average, repeat.
// p[c] are candidate forecasts (empty = not available) for targets y.
std::vector<double> select_weights(const std::vector<std::vector<double>>& p,
                                   const std::vector<double>& y) {
  const size_t nc = p.size(), n = y.size();
  std::vector<double> cur(n, 0.0), w(nc, 0.0);
  for (int r = 0; r < kSelectionRounds; ++r) {
    size_t best = nc;
    double best_err = std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < nc; ++c) {
      if (p[c].empty()) continue;
      double err = 0;
      for (size_t i = 0; i < n; ++i) err += std::abs(y[i] - (cur[i] * r + p[c][i]) / (r + 1));
      if (err < best_err) best_err = err, best = c;
    }
    if (best == nc) break;
    for (size_t i = 0; i < n; ++i) cur[i] = (cur[i] * r + p[best][i]) / (r + 1);
    w[best] += 1.0 / kSelectionRounds;
  }
  if (std::all_of(w.begin(), w.end(), [](double v) { return v == 0; })) w[kNaive] = 1;
  return w;
}

class FittedAuto : public FittedModel {
 public:
  FittedAuto(const TimeSeries& s, double width, Core core, Setup su,
             std::vector<std::vector<double>> weights, std::vector<double> spread)
      : FittedModel(s.time_at(s.size() - 1), s.step(), width),
        core_(std::move(core)),
        su_(std::move(su)),
        weights_(std::move(weights)),
        spread_(std::move(spread)) {}
  std::string_view name() const override { return "auto"; }
  void observe(double y) override {
    core_.push(y, su_);
    advance();
  }
  double point(int lead) const override {
    if (lead < 1) return kNaN;
    const size_t li = nearest_lead(su_.leads, lead), o = core_.hist.size() - 1;
    const double fallback = core_.hist.last_y(o);
    double v = 0;
    for (int c = 0; c < kCandCount; ++c) {
      const double w = weights_[li][static_cast<size_t>(c)];
      if (w == 0) continue;
      const double x = core_.cand(c, o, lead, li, su_);
      v += w * (std::isfinite(x) ? x : fallback);
    }
    return v;
  }
  double spread(int lead) const override { return spread_[nearest_lead(su_.leads, lead)]; }
  Status replay(const TimeSeries& h) override {
    if (h.empty()) return Status(Code::NotEnoughData, "replay: empty history");
    core_.hist = History();
    for (size_t i = 0; i < h.size(); ++i) core_.push(h[i], su_);
    set_last_time(h.time_at(h.size() - 1));
    return Status::ok();
  }

 protected:
  void add_components(int steps, std::vector<Component>& out) const override {
    // The blend is additive in its candidates: each weighted candidate is a part.
    const size_t o = core_.hist.size() - 1;
    for (int c = 0; c < kCandCount; ++c) {
      Component part{kCandNames[c], {}};
      bool used = false;
      for (int i = 1; i <= steps; ++i) {
        const size_t li = nearest_lead(su_.leads, i);
        const double w = weights_[li][static_cast<size_t>(c)];
        const double x = core_.cand(c, o, i, li, su_);
        used |= w > 0;
        part.values.push_back(w * (std::isfinite(x) ? x : core_.hist.last_y(o)));
      }
      if (used) out.push_back(std::move(part));
    }
  }

 private:
  Core core_;
  Setup su_;
  std::vector<std::vector<double>> weights_;  // per lead, per candidate
  std::vector<double> spread_;                // per lead
};

}  // namespace

Result<std::unique_ptr<FittedModel>> AutoModel::fit(const TimeSeries& s,
                                                    const ModelParams& p) const {
  if (Status st = validate_fit_input(s, p, 2); !st.is_ok()) return st;
  Setup su;
  su.day = static_cast<size_t>(s.steps_per_day());
  su.hour = static_cast<size_t>(std::max(1L, std::lround(3600.0 / static_cast<double>(s.step()))));
  su.leads = p.horizons;
  if (su.leads.empty()) su.leads = {static_cast<int>(su.hour), static_cast<int>(su.day)};
  if (su.day >= 2 * su.hour) {
    const double hours = static_cast<double>(su.day) / static_cast<double>(su.hour);
    su.split_factor.assign(su.day / su.hour, 0.0);  // entry j: split j hours back (j >= 1)
    for (size_t j = 1; j < su.split_factor.size(); ++j) {
      const double a = static_cast<double>(j);
      su.split_factor[j] = 1.0 / std::sqrt(1.0 / a + 1.0 / (hours - a));
    }
  }
  const size_t n = s.size();
  const double z = normal_quantile(0.5 + 0.5 * p.interval_width);

  // Backtest on the last fifth of the data (at least a day) with candidates
  // fitted on what precedes it; needs two days before it for the seasonality.
  const size_t val = std::max(n / 5, su.day);
  const size_t v0 = n > val ? n - val : 0;
  std::vector<std::vector<double>> weights;
  std::vector<double> spreads;
  Core core;  // first fitted on the head for the backtest, then on everything
  const bool backtest = v0 >= 2 * su.day;
  if (backtest) build_core(core, s, v0, p, su);
  for (size_t li = 0; li < su.leads.size(); ++li) {
    const int h = su.leads[li];
    if (!backtest) {
      // Too short to backtest: an even mix of level-following candidates, and
      // the spread of h-step changes as the error scale.
      std::vector<double> w(kCandCount, 0.0);
      w[kNaive] = w[kMedianHour] = w[kSeasLevel] = 1.0 / 3;
      weights.push_back(std::move(w));
      spreads.push_back(lag_change_rms(
          s.values(), static_cast<size_t>(std::min<long>(h, static_cast<long>(n) / 2))));
      continue;
    }
    std::vector<std::vector<double>> pc(kCandCount);
    std::vector<double> ys;
    for (size_t o = v0 - std::min(v0, static_cast<size_t>(h)); o + static_cast<size_t>(h) < n;
         ++o) {
      const size_t T = o + static_cast<size_t>(h);
      if (std::isnan(s[T])) continue;
      const double fb = core.hist.last_y(o);  // the protocol's naive fallback
      if (!std::isfinite(fb)) continue;
      ys.push_back(s[T]);
      for (int c = 0; c < kCandCount; ++c) {
        const double x = core.cand(c, o, h, li, su);
        pc[static_cast<size_t>(c)].push_back(std::isfinite(x) ? x : fb);
      }
    }
    std::vector<double> w = select_weights(pc, ys);
    // Interval: the interval_width quantile of |error| of the blend, as a
    // normal sd so predict() can scale it.
    std::vector<double> err;
    for (size_t i = 0; i < ys.size(); ++i) {
      double f = 0;
      for (size_t c = 0; c < pc.size(); ++c) f += w[c] > 0 ? w[c] * pc[c][i] : 0.0;
      err.push_back(std::abs(ys[i] - f));
    }
    double q = kNaN;
    if (!err.empty()) {
      const auto qi = std::min(
          err.size() - 1, static_cast<size_t>(p.interval_width * static_cast<double>(err.size())));
      std::nth_element(err.begin(), err.begin() + static_cast<long>(qi), err.end());
      q = err[qi];
    }
    weights.push_back(std::move(w));
    spreads.push_back(q / z);
  }
  build_core(core, s, n, p, su);
  return std::unique_ptr<FittedModel>(new FittedAuto(
      s, p.interval_width, std::move(core), std::move(su), std::move(weights), std::move(spreads)));
}

}  // namespace forecast
