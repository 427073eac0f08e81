// Rolling-origin evaluation (Tashman 2000) with the protocol of tools/forecast-baselines.py:
// last 20% of the grid as test, forecasts from T - h, MASE (Hyndman & Koehler 2006) with a
// one-day season and M4 sMAPE, naive fallback, fit timing, and the per-series pick.
// It owns no model: anything behind model.h can be scored.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "forecast/model.h"

namespace forecast {

// Where the first forecasts come from (the reference tool uses two of these).
enum class Origins {
  // Fit on data up to the earliest origin (test start - longest horizon) and
  // observe forward: nothing after an origin is ever used. The default.
  Strict,
  // Fit on the training part; origins before its end get no forecast (naive
  // fallback). The reference tool's prophet_r.
  AfterTraining,
  // Fit on the training part, then replay the state from the start up to the
  // earliest origin with those parameters. The reference tool's hw/hw_damped.
  Replay,
};

struct BacktestOptions {
  double test_fraction = 0.2;
  std::vector<int> horizons;  // in steps; empty = 1 hour and 1 day
  int refit_every = -1;       // steps between refits: 0 = never, -1 = one day
  Origins origins = Origins::Strict;
  bool keep_predictions = false;  // fill HorizonScore::yhat/lower/upper
};

// The protocol's fixed quantities for one series.
struct Split {
  size_t test_start = 0;        // first test index: floor(n * (1 - test_fraction))
  int season = 1;               // one day of steps (MASE season)
  double scale = 0;             // mean |y_t - y_{t-season}| over the training part
  std::vector<size_t> targets;  // observed test indices
};
Result<Split> make_split(const TimeSeries& series, double test_fraction);

struct HorizonScore {
  int horizon = 0;  // steps
  double mase = 0, smape = 0;
  size_t fallbacks = 0;  // points scored with the naive fallback
  double coverage = 0;   // share of targets inside [lower, upper] (fallbacks count as outside)
  // Per target (Split::targets order) when keep_predictions is set.
  std::vector<double> yhat, lower, upper;
};

struct ModelScore {
  std::string model;
  std::vector<HorizonScore> horizons;
  std::vector<double> fit_seconds;  // one entry per fit (initial + refits)
  size_t failed_fits = 0;
  double median_fit_ms() const;
};

// The horizons of the protocol for a step: 1 hour and 1 day, in steps.
std::vector<int> default_horizons(int64_t step_seconds);

// Runs the rolling-origin protocol for one model. Fails on bad options or a
// series too short to split; a model whose fit fails is scored with the
// naive fallback and counted in failed_fits.
Result<ModelScore> evaluate(const Model& model, const ModelParams& params, const TimeSeries& series,
                            const BacktestOptions& options);

// Naive forecast of every target from origin T - h (the fallback).
std::vector<double> naive_forecasts(const TimeSeries& series, const std::vector<size_t>& targets,
                                    int horizon);

// MASE and sMAPE (0..200, 0/0 -> 0) of forecasts f for targets.
struct Accuracy {
  double mase = 0, smape = 0;
};
Accuracy accuracy(const TimeSeries& series, const std::vector<size_t>& targets,
                  const std::vector<double>& f, double scale);

// Picks the model with the lowest geometric-mean MASE over the horizons,
// evaluating each on `series` (callers pass a training part only).
Result<std::string> pick(const std::vector<const Model*>& models, const ModelParams& params,
                         const TimeSeries& series, const BacktestOptions& options);

double geometric_mean(const std::vector<double>& values);
double median(std::vector<double> values);

}  // namespace forecast
