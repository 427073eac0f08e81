// TimeSeries helpers and CSV loading. The grid rules (median step rounded to
// minutes, floor-aligned start, bin mean, empty bin = missing) copy
// tools/forecast-baselines.py load_csv/to_grid so both tools score the same
// points. Calendar maths is Howard Hinnant's days_from_civil.
#include "forecast/series.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

namespace forecast {
namespace {


int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

bool parse_uint(std::string_view s, size_t pos, size_t len, unsigned& out) {
  if (pos + len > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

Result<TimeSeries> TimeSeries::make(int64_t start, int64_t step, std::vector<double> values) {
  if (step <= 0) return Status(Code::InvalidArgument, "step must be > 0 seconds");
  for (double v : values) {
    if (std::isinf(v)) return Status(Code::InvalidArgument, "series holds an infinite value");
  }
  return TimeSeries(start, step, std::move(values));
}

int TimeSeries::steps_per_day() const {
  if (step_ <= 0) return 1;
  return std::max(1, static_cast<int>(std::lround(86400.0 / static_cast<double>(step_))));
}

size_t TimeSeries::count_observed() const {
  return static_cast<size_t>(
      std::count_if(values_.begin(), values_.end(), [](double v) { return !std::isnan(v); }));
}

int64_t TimeSeries::observed_span() const {
  size_t first = values_.size(), last = 0;
  for (size_t i = 0; i < values_.size(); ++i) {
    if (std::isnan(values_[i])) continue;
    first = std::min(first, i);
    last = i;
  }
  return first < last ? static_cast<int64_t>(last - first) * step_ : 0;
}

TimeSeries TimeSeries::slice(size_t begin, size_t end) const {
  end = std::min(end, values_.size());
  begin = std::min(begin, end);
  return TimeSeries(time_at(begin), step_,
                    std::vector<double>(values_.begin() + static_cast<std::ptrdiff_t>(begin),
                                        values_.begin() + static_cast<std::ptrdiff_t>(end)));
}

TimeSeries TimeSeries::tail(size_t n) const {
  return slice(values_.size() - std::min(n, values_.size()), values_.size());
}

TimeSeries TimeSeries::window(int64_t from, int64_t to) const {
  // First index with time >= from, first index with time >= to.
  auto index_of = [&](int64_t t) -> size_t {
    if (t <= start_) return 0;
    const int64_t i = (t - start_ + step_ - 1) / step_;
    return static_cast<size_t>(std::min<int64_t>(i, static_cast<int64_t>(values_.size())));
  };
  return slice(index_of(from), index_of(to));
}

Result<TimeSeries> TimeSeries::resample(int64_t new_step) const {
  if (new_step <= 0 || step_ <= 0 || new_step % step_ != 0) {
    return Status(Code::InvalidArgument, "resample step must be a positive multiple of the step");
  }
  if (values_.empty()) return TimeSeries(floor_div(start_, new_step) * new_step, new_step, {});
  const int64_t g0 = floor_div(start_, new_step) * new_step;
  const int64_t last_bin = floor_div(time_at(values_.size() - 1) - g0, new_step);
  std::vector<double> sum(static_cast<size_t>(last_bin) + 1, 0.0);
  std::vector<int> cnt(sum.size(), 0);
  for (size_t i = 0; i < values_.size(); ++i) {
    if (std::isnan(values_[i])) continue;
    const auto b = static_cast<size_t>(floor_div(time_at(i) - g0, new_step));
    sum[b] += values_[i];
    ++cnt[b];
  }
  for (size_t b = 0; b < sum.size(); ++b) sum[b] = cnt[b] > 0 ? sum[b] / cnt[b] : kNaN;
  return TimeSeries(g0, new_step, std::move(sum));
}

TimeSeries TimeSeries::fill_gaps(GapFill how) const {
  std::vector<double> v = values_;
  size_t prev = v.size();  // index of the last observed value, v.size() = none yet
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) continue;
    if (prev == v.size()) {
      for (size_t j = 0; j < i; ++j) v[j] = v[i];  // leading gap takes the first value
    } else if (i > prev + 1) {
      for (size_t j = prev + 1; j < i; ++j) {
        const double a = static_cast<double>(j - prev) / static_cast<double>(i - prev);
        v[j] = how == GapFill::Linear ? v[prev] + a * (v[i] - v[prev]) : v[prev];
      }
    }
    prev = i;
  }
  if (prev != v.size()) {
    for (size_t j = prev + 1; j < v.size(); ++j) v[j] = v[prev];  // trailing gap carries
  }
  return TimeSeries(start_, step_, std::move(v));
}

double lag_change_rms(const std::vector<double>& y, size_t lag) {
  lag = std::max<size_t>(lag, 1);
  double ss = 0;
  size_t n = 0;
  for (size_t t = lag; t < y.size(); ++t) {
    const double d = y[t] - y[t - lag];
    if (!std::isnan(d)) ss += d * d, ++n;
  }
  return n ? std::sqrt(ss / static_cast<double>(n)) : 0.0;
}

Result<int64_t> parse_timestamp(std::string_view s) {
  s = trim(s);
  unsigned Y, M, D, h, m, sec;
  const bool shaped = s.size() >= 19 && s[4] == '-' && s[7] == '-' &&
                      (s[10] == ' ' || s[10] == 'T') && s[13] == ':' && s[16] == ':';
  if (shaped && parse_uint(s, 0, 4, Y) && parse_uint(s, 5, 2, M) && parse_uint(s, 8, 2, D) &&
      parse_uint(s, 11, 2, h) && parse_uint(s, 14, 2, m) && parse_uint(s, 17, 2, sec)) {
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) {
      return Status(Code::ParseError, "timestamp out of range: " + std::string(s));
    }
    return days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec;
  }
  int64_t epoch = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), epoch);
  if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return epoch;
  return Status(Code::ParseError, "not a YYYY-MM-DD HH:MM:SS timestamp: " + std::string(s));
}

std::string format_timestamp(int64_t t) {
  const int64_t days = floor_div(t, 86400);
  const int64_t rem = t - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld:%02lld", static_cast<long long>(y),
                m, d, static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return buf;
}

Result<std::vector<Sample>> parse_csv(std::string_view text) {
  std::vector<Sample> out;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (++line_no == 1 || line.empty()) continue;  // header, blank lines
    const size_t c1 = line.find(',');
    if (c1 == std::string_view::npos) {
      return Status(Code::ParseError, "line " + std::to_string(line_no) + ": no comma");
    }
    const size_t c2 = line.find(',', c1 + 1);
    std::string_view ts = line.substr(0, c1);
    std::string_view val =
        trim(line.substr(c1 + 1, c2 == std::string_view::npos ? c2 : c2 - c1 - 1));
    if (val.empty()) continue;  // an empty value is a gap, like an absent row
    auto t = parse_timestamp(ts);
    if (!t.is_ok()) {
      return Status(Code::ParseError,
                    "line " + std::to_string(line_no) + ": " + t.status().message());
    }
    double v = 0;
    auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), v);
    if (ec != std::errc() || p != val.data() + val.size() || !std::isfinite(v)) {
      return Status(Code::ParseError,
                    "line " + std::to_string(line_no) + ": bad value '" + std::string(val) + "'");
    }
    out.push_back({t.value(), v});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Sample& a, const Sample& b) { return a.time < b.time; });
  return out;
}

Result<TimeSeries> to_grid(const std::vector<Sample>& samples, int64_t step) {
  if (samples.empty()) return Status(Code::NotEnoughData, "no samples");
  if (step < 0) return Status(Code::InvalidArgument, "step must be > 0 seconds");
  if (step == 0) {
    std::vector<int64_t> d;
    for (size_t i = 1; i < samples.size(); ++i) {
      if (samples[i].time > samples[i - 1].time) d.push_back(samples[i].time - samples[i - 1].time);
    }
    if (d.empty()) return Status(Code::NotEnoughData, "fewer than two distinct timestamps");
    // Median as numpy takes it (mean of the two middle values), then whole
    // minutes with round-half-even like Python's round().
    std::sort(d.begin(), d.end());
    const size_t k = d.size() / 2;
    const double med =
        d.size() % 2 ? static_cast<double>(d[k]) : 0.5 * static_cast<double>(d[k - 1] + d[k]);
    step = std::max<int64_t>(60, static_cast<int64_t>(std::nearbyint(med / 60.0)) * 60);
  }
  const int64_t g0 = floor_div(samples.front().time, step) * step;
  const int64_t n = floor_div(samples.back().time - g0, step) + 1;
  if (n > 100'000'000) return Status(Code::InvalidArgument, "grid too large (over 1e8 steps)");
  std::vector<double> sum(static_cast<size_t>(n), 0.0);
  std::vector<int> cnt(sum.size(), 0);
  for (const Sample& s : samples) {
    const auto i = static_cast<size_t>(floor_div(s.time - g0, step));
    sum[i] += s.value;
    ++cnt[i];
  }
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = cnt[i] > 0 ? sum[i] / cnt[i] : kNaN;
  return TimeSeries::make(g0, step, std::move(sum));
}

Result<TimeSeries> load_csv(const std::string& path, int64_t step) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::NotFound, "cannot open " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  auto samples = parse_csv(buf.str());
  if (!samples.is_ok())
    return Status(samples.status().code(), path + ": " + samples.status().message());
  auto grid = to_grid(samples.value(), step);
  if (!grid.is_ok()) return Status(grid.status().code(), path + ": " + grid.status().message());
  return grid;
}

}  // namespace forecast
