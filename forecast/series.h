// TimeSeries: a fixed-step series (NaN = missing step) with gap filling, resampling and
// windows, and loading of the traces' CSV onto a regular grid exactly as
// tools/forecast-baselines.py does (median step, bin mean). Owns no model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "forecast/status.h"

namespace forecast {

// The value of a missing step, and of any figure that cannot be computed.
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// How fill_gaps() replaces missing (NaN) steps.
enum class GapFill {
  Linear,  // straight line between the observed neighbours; ends carry the nearest value
  Carry,   // last observed value carried forward; a leading gap takes the first value
};

class TimeSeries {
 public:
  TimeSeries() = default;

  // Validates: step > 0; values may contain NaN (missing) but not +-inf.
  static Result<TimeSeries> make(int64_t start, int64_t step, std::vector<double> values);

  int64_t start() const { return start_; }
  int64_t step() const { return step_; }
  size_t size() const { return values_.size(); }
  bool empty() const { return values_.empty(); }
  const std::vector<double>& values() const { return values_; }
  double operator[](size_t i) const { return values_[i]; }

  // Epoch seconds of step i (i may be past the end: used for forecast times).
  int64_t time_at(size_t i) const { return start_ + static_cast<int64_t>(i) * step_; }
  // Steps per day (rounded; at least 1): the season of the daily baselines.
  int steps_per_day() const;
  size_t count_observed() const;  // non-NaN values
  // Time from the first to the last observed value, in seconds (0 if < 2 observed).
  int64_t observed_span() const;

  // Steps [begin, end), clamped to the series; start moves with begin.
  TimeSeries slice(size_t begin, size_t end) const;
  // The last n steps (or all of them).
  TimeSeries tail(size_t n) const;
  // Steps whose time lies in [from, to).
  TimeSeries window(int64_t from, int64_t to) const;

  // Means of the observed values in bins of new_step seconds aligned to
  // multiples of new_step; a bin with no observation is NaN. new_step must be
  // a positive multiple of step().
  Result<TimeSeries> resample(int64_t new_step) const;
  // A copy with every NaN replaced (see GapFill); an all-NaN series stays NaN.
  TimeSeries fill_gaps(GapFill how) const;

  // Appends one step (NaN = missing).
  void push_back(double v) { values_.push_back(v); }

 private:
  TimeSeries(int64_t start, int64_t step, std::vector<double> values)
      : start_(start), step_(step), values_(std::move(values)) {}

  int64_t start_ = 0;
  int64_t step_ = 0;
  std::vector<double> values_;
};

// Root mean square of y[t] - y[t - lag] over the pairs where both are observed
// (0 if none): the typical size of a change over `lag` steps.
double lag_change_rms(const std::vector<double>& y, size_t lag);

// One CSV row: epoch seconds (naive wall clock read as UTC) and a value.
struct Sample {
  int64_t time = 0;
  double value = 0;
};

// "YYYY-MM-DD HH:MM:SS" (or with 'T') <-> epoch seconds; the clock is naive and
// read as UTC, as the traces README says. A bare integer is taken as epoch seconds.
Result<int64_t> parse_timestamp(std::string_view text);
std::string format_timestamp(int64_t epoch_seconds);

// Parses "timestamp,value" CSV text: the first line is a header; blank lines
// and rows with an empty value are skipped; rows are sorted by time (stable).
Result<std::vector<Sample>> parse_csv(std::string_view text);

// Puts samples on a regular grid: step = the median positive spacing rounded
// to whole minutes (at least 60 s) unless step > 0 is given; the grid starts at
// floor(first / step) * step; each step holds the mean of its samples, NaN if none.
Result<TimeSeries> to_grid(const std::vector<Sample>& samples, int64_t step = 0);

// Reads a CSV file and grids it (to_grid).
Result<TimeSeries> load_csv(const std::string& path, int64_t step = 0);

}  // namespace forecast
