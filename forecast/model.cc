// Shared parts of the Model interface: the generic predict() (point forecast
// plus a normal band from the model's residual spread), input checks, the
// normal quantile (P. J. Acklam's algorithm) and the name -> model registry.
#include "forecast/model.h"

#include <cmath>

#include "forecast/auto_model.h"
#include "forecast/baselines.h"
#include "forecast/prophet.h"

namespace forecast {

double normal_quantile(double p) {
  if (!(p > 0 && p < 1)) return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double lo = 0.02425;
  if (p < lo) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normal_quantile(1 - p);
  const double q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

Status validate_fit_input(const TimeSeries& s, const ModelParams& p, size_t min_observed) {
  if (s.step() <= 0) return Status(Code::InvalidArgument, "series step must be > 0 seconds");
  if (s.empty()) return Status(Code::NotEnoughData, "empty series");
  if (!(p.interval_width > 0 && p.interval_width < 1)) {
    return Status(Code::InvalidArgument, "interval_width must be in (0, 1)");
  }
  if (p.season_steps < 0) return Status(Code::InvalidArgument, "season_steps must be >= 0");
  for (int h : p.horizons) {
    if (h <= 0) return Status(Code::InvalidArgument, "horizons must be >= 1 step");
  }
  if (s.count_observed() < std::max<size_t>(min_observed, 1)) {
    return Status(Code::NotEnoughData, "need at least " + std::to_string(min_observed) +
                                           " observed values, got " +
                                           std::to_string(s.count_observed()));
  }
  return Status::ok();
}

Result<Forecast> FittedModel::predict(int steps) const {
  if (steps <= 0) return Status(Code::InvalidArgument, "forecast horizon must be >= 1 step");
  if (steps > 10'000'000) return Status(Code::InvalidArgument, "forecast horizon too long");
  Forecast f;
  f.start = last_time_ + step_;
  f.step = step_;
  const double z = normal_quantile(0.5 + 0.5 * interval_width_);
  f.yhat.reserve(static_cast<size_t>(steps));
  for (int i = 1; i <= steps; ++i) {
    const double y = point(i);
    const double half = z * spread(i);
    f.yhat.push_back(y);
    f.lower.push_back(y - half);
    f.upper.push_back(y + half);
  }
  add_components(steps, f.components);
  return f;
}

std::vector<std::string> model_names() {
  return {"auto",
          "prophet",
          "prophet-ridge",
          "holt-winters",
          "holt-winters-undamped",
          "seasonal-naive",
          "seasonal-naive-weekly",
          "naive"};
}

Result<std::unique_ptr<Model>> make_model(std::string_view name) {
  std::unique_ptr<Model> m;
  if (name == "auto") m = std::make_unique<AutoModel>();
  if (name == "prophet") m = std::make_unique<ProphetModel>(ChangepointPrior::Laplace);
  if (name == "prophet-ridge") m = std::make_unique<ProphetModel>(ChangepointPrior::Normal);
  if (name == "holt-winters") m = std::make_unique<HoltWintersModel>(false);
  if (name == "holt-winters-undamped") m = std::make_unique<HoltWintersModel>(true);
  if (name == "seasonal-naive") m = std::make_unique<SeasonalNaiveModel>(false);
  if (name == "seasonal-naive-weekly") m = std::make_unique<SeasonalNaiveModel>(true);
  if (name == "naive") m = std::make_unique<NaiveModel>();
  if (!m) return Status(Code::InvalidArgument, "unknown model '" + std::string(name) + "'");
  return m;
}

}  // namespace forecast
