// Rolling-origin backtest per tools/forecast-baselines.py (its docstring is
// the protocol): MASE (Hyndman & Koehler 2006) with a one-day seasonal scale,
// M4 sMAPE, naive fallback, fit timing; origins handled as Origins says.
#include "forecast/backtest.h"
#include "forecast/series.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace forecast {
namespace {


}  // namespace

double ModelScore::median_fit_ms() const { return median(fit_seconds) * 1e3; }

double geometric_mean(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  double s = 0;
  for (double x : v) s += std::log(x);
  return std::exp(s / static_cast<double>(v.size()));
}

double median(std::vector<double> v) {
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const size_t k = v.size() / 2;
  return v.size() % 2 ? v[k] : 0.5 * (v[k - 1] + v[k]);
}

std::vector<int> default_horizons(int64_t step) {
  if (step <= 0) return {};
  const int hour = std::max(1, static_cast<int>(std::lround(3600.0 / static_cast<double>(step))));
  const int day = std::max(1, static_cast<int>(std::lround(86400.0 / static_cast<double>(step))));
  return {hour, day};
}

Result<Split> make_split(const TimeSeries& s, double frac) {
  if (s.step() <= 0) return Status(Code::InvalidArgument, "series step must be > 0 seconds");
  if (!(frac > 0 && frac < 1))
    return Status(Code::InvalidArgument, "test fraction must be in (0, 1)");
  Split sp;
  sp.season = s.steps_per_day();
  sp.test_start = static_cast<size_t>(std::floor(static_cast<double>(s.size()) * (1 - frac)));
  const auto m = static_cast<size_t>(sp.season);
  double sum = 0;
  size_t cnt = 0;
  for (size_t t = m; t < sp.test_start; ++t) {
    if (std::isnan(s[t]) || std::isnan(s[t - m])) continue;
    sum += std::abs(s[t] - s[t - m]);
    ++cnt;
  }
  if (cnt == 0) return Status(Code::NotEnoughData, "training part has no pair one day apart");
  sp.scale = sum / static_cast<double>(cnt);
  for (size_t t = sp.test_start; t < s.size(); ++t) {
    if (!std::isnan(s[t])) sp.targets.push_back(t);
  }
  if (sp.targets.empty()) return Status(Code::NotEnoughData, "test part has no observation");
  return sp;
}

std::vector<double> naive_forecasts(const TimeSeries& s, const std::vector<size_t>& targets,
                                    int h) {
  std::vector<double> out;
  out.reserve(targets.size());
  for (size_t T : targets) {
    double v = kNaN;
    for (long j = static_cast<long>(T) - h; j >= 0; --j) {
      if (!std::isnan(s[static_cast<size_t>(j)])) {
        v = s[static_cast<size_t>(j)];
        break;
      }
    }
    out.push_back(v);
  }
  return out;
}

Accuracy accuracy(const TimeSeries& s, const std::vector<size_t>& targets,
                  const std::vector<double>& f, double scale) {
  double ae = 0, sm = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    const double a = s[targets[i]], err = std::abs(a - f[i]);
    const double den = std::abs(a) + std::abs(f[i]);
    ae += err;
    sm += den > 0 ? 200.0 * err / den : 0.0;
  }
  const double n = static_cast<double>(targets.size());
  return {scale > 0 ? ae / n / scale : kNaN, sm / n};
}

Result<ModelScore> evaluate(const Model& model, const ModelParams& params, const TimeSeries& s,
                            const BacktestOptions& opt) {
  auto split = make_split(s, opt.test_fraction);
  if (!split.is_ok()) return split.status();
  const Split& sp = split.value();
  const std::vector<int> hs = opt.horizons.empty() ? default_horizons(s.step()) : opt.horizons;
  if (hs.empty()) return Status(Code::InvalidArgument, "no horizons");
  for (int h : hs) {
    if (h <= 0) return Status(Code::InvalidArgument, "horizon must be >= 1 step");
  }
  const int hmax = *std::max_element(hs.begin(), hs.end());
  const size_t n = s.size(), ts = sp.test_start;
  if (ts < 2) return Status(Code::NotEnoughData, "training part too short");
  const int refit = opt.refit_every < 0 ? sp.season : opt.refit_every;

  ModelParams mp = params;
  if (mp.horizons.empty()) mp.horizons = hs;
  ModelScore out;
  out.model = std::string(model.name());
  std::unique_ptr<FittedModel> fm;
  auto fit_on = [&](size_t end) {  // fits on steps [0, end)
    const auto t0 = std::chrono::steady_clock::now();
    auto r = model.fit(s.slice(0, end), mp);
    out.fit_seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (r.is_ok()) {
      fm = std::move(r.value());
    } else {
      fm.reset();
      ++out.failed_fits;
    }
  };

  // Earliest origin whose forecasts land in the test set.
  const size_t earliest = ts > static_cast<size_t>(hmax) ? ts - static_cast<size_t>(hmax) : 0;
  size_t first = earliest;
  switch (opt.origins) {
    case Origins::Strict:
      fit_on(first + 1);
      break;
    case Origins::AfterTraining:
      first = ts - 1;
      fit_on(ts);
      break;
    case Origins::Replay:
      fit_on(ts);
      if (fm && !fm->replay(s.slice(0, first + 1)).is_ok()) fm.reset();
      break;
  }
  // Refits happen every `refit` steps from the first origin (Strict) or from
  // the last training step (the reference tool's daily prophet_r refits).
  const size_t refit_base = opt.origins == Origins::Strict ? first : ts - 1;
  const auto nh = hs.size();
  std::vector<std::vector<double>> pred(nh, std::vector<double>(n, kNaN));
  std::vector<std::vector<double>> band(nh, std::vector<double>(n, kNaN));
  for (size_t o = first; o + 1 < n; ++o) {
    if (refit > 0 && o > refit_base && (o - refit_base) % static_cast<size_t>(refit) == 0) {
      fit_on(o + 1);
    }
    if (fm) {
      for (size_t k = 0; k < nh; ++k) {
        const size_t T = o + static_cast<size_t>(hs[k]);
        if (T < ts || T >= n) continue;
        pred[k][T] = fm->point(hs[k]);
        band[k][T] = fm->spread(hs[k]);
      }
      fm->observe(s[o + 1]);
    }
  }

  const double z = normal_quantile(0.5 + 0.5 * params.interval_width);
  for (size_t k = 0; k < nh; ++k) {
    HorizonScore hsc;
    hsc.horizon = hs[k];
    const std::vector<double> fb = naive_forecasts(s, sp.targets, hs[k]);
    std::vector<double> f(sp.targets.size());
    size_t inside = 0;
    for (size_t i = 0; i < sp.targets.size(); ++i) {
      const double v = pred[k][sp.targets[i]];
      const bool ok = std::isfinite(v);
      f[i] = ok ? v : fb[i];
      hsc.fallbacks += ok ? 0 : 1;
      const double b = ok ? band[k][sp.targets[i]] : kNaN;
      const double lo = std::isfinite(b) ? f[i] - z * b : kNaN,
                   hi = std::isfinite(b) ? f[i] + z * b : kNaN;
      const double a = s[sp.targets[i]];
      inside += (a >= lo && a <= hi) ? 1 : 0;  // false for NaN bounds
      if (opt.keep_predictions) {
        hsc.yhat.push_back(f[i]);
        hsc.lower.push_back(lo);
        hsc.upper.push_back(hi);
      }
    }
    hsc.coverage = static_cast<double>(inside) / static_cast<double>(sp.targets.size());
    const Accuracy acc = accuracy(s, sp.targets, f, sp.scale);
    hsc.mase = acc.mase;
    hsc.smape = acc.smape;
    out.horizons.push_back(std::move(hsc));
  }
  return out;
}

Result<std::string> pick(const std::vector<const Model*>& models, const ModelParams& params,
                         const TimeSeries& series, const BacktestOptions& options) {
  std::string best;
  double best_score = std::numeric_limits<double>::infinity();
  for (const Model* m : models) {
    if (!m) continue;
    auto r = evaluate(*m, params, series, options);
    if (!r.is_ok()) return r.status();
    std::vector<double> mases;
    for (const HorizonScore& h : r->horizons) mases.push_back(h.mase);
    const double g = geometric_mean(mases);
    if (g < best_score) best_score = g, best = std::string(m->name());
  }
  if (best.empty()) return Status(Code::InvalidArgument, "pick: no model could be scored");
  return best;
}

}  // namespace forecast
