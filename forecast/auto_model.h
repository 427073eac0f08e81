// "auto", the default forecaster: Prophet seasonality (Taylor & Letham 2017) plus a
// shift-aware level correction, blended per lead with simple baselines by ensemble
// selection (Caruana et al. 2004) on a backtest over the tail of the training data.
// Owns the blend, not the candidates' maths (prophet.h, solver.h).
#pragma once

#include <memory>

#include "forecast/model.h"

namespace forecast {

// fit(series):
//  1. Fits Prophet on all but the last fifth of the series (at least a day) and
//     builds the candidates: naive, seasonal naive (day, week), median of the
//     last hour, seasonality + level, seasonality + LAD mix of last value, last
//     hour and level. "Level" is the deseasonalised mean of the last day, or of
//     the part after a level shift when one is found inside that day.
//  2. Rolls every candidate through the held-back fifth (origins there see only
//     data up to themselves) and picks per lead (params.horizons, default 1 hour
//     and 1 day) the blend weights that minimise the mean absolute error.
//  3. Refits the candidates on the whole series; the weights stay. The band is
//     the interval_width quantile of the blend's backtest errors.
// Series too short to backtest (under three days) get an even blend of naive,
// median-of-hour and seasonality + level.
class AutoModel : public Model {
 public:
  std::string_view name() const override { return "auto"; }
  Result<std::unique_ptr<FittedModel>> fit(const TimeSeries& series,
                                           const ModelParams& params) const override;
};

}  // namespace forecast
