// `foreshard forecast ...`: evaluates the forecasting models of forecast/ on
// CSV traces with the rolling-origin protocol of tools/forecast-baselines.py
// (MASE, sMAPE, interval coverage, fit time), optionally writing SVG plots,
// reproducing the reference tool's baselines, or timing fits.
#pragma once

// argv[0] is "forecast". Usage:
//   foreshard forecast eval FILE.csv... [--horizon 1h,1d]
//       [--models auto,prophet,holt-winters,seasonal-naive,naive]
//       [--plot DIR] [--refit 1d|0] [--reference] [--bench [--reps N]]
// Prints a progress line per series and model to stderr and the result
// tables (markdown) to stdout. Returns 0 on success, 1 when a file cannot be
// read or evaluated, 2 on a usage error.
int run_forecast_command(int argc, char** argv);
