// Workload construction: traces -> 5-minute unit-mean group series (tiled,
// time-zone shifted), Zipf weights, sizes, capacities and the flash crowd.
#include "sim/workload.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "forecast/series.h"
#include "proxy/segment_map.h"

namespace sim {
namespace {

// Traces with a daily cycle; ec2_network_in (bursts of 10^5 x its median) is
// left out: no capacity plan survives it and it says nothing about balancing.
const char* const kTraces[] = {"nasa_http_5min",
                               "nab_nyc_taxi",
                               "nab_elb_request_count_8c0756",
                               "nab_twitter_volume_AMZN",
                               "nab_rds_cpu_utilization_cc0c53",
                               "nab_occupancy_t4013"};

// The trace on a 5-minute grid, gaps filled linearly, cut to whole days,
// bursts clipped at its 99th percentile (single 5-minute spikes of up to 30x
// the mean in the elb and twitter traces), smoothed, divided by its mean.
forecast::Result<std::vector<double>> unit_trace(const std::string& path, int smooth_points) {
  auto grid = forecast::load_csv(path);
  if (!grid.is_ok()) {
    return grid.status();
  }
  const forecast::TimeSeries s = grid.value().fill_gaps(forecast::GapFill::Linear);
  const int64_t step = s.step();
  const int64_t span = static_cast<int64_t>(s.size() - 1) * step;
  const int64_t n = span / Workload::kTraceStep / 288 * 288;
  if (n < 288) {
    return forecast::Status(forecast::Code::NotEnoughData, path + ": shorter than a day");
  }
  std::vector<double> v(n);
  for (int64_t j = 0; j < n; ++j) {
    // Linear between the trace's own points (the taxi trace steps 30 min).
    const double x = static_cast<double>(j * Workload::kTraceStep) / static_cast<double>(step);
    const size_t i = static_cast<size_t>(x);
    const double f = x - static_cast<double>(i);
    v[j] = i + 1 < s.size() ? s[i] * (1 - f) + s[i + 1] * f : s[i];
  }
  std::vector<double> sorted = v;
  std::nth_element(sorted.begin(), sorted.begin() + n * 99 / 100, sorted.end());
  const double p99 = sorted[n * 99 / 100];
  for (double& x : v) {
    x = std::clamp(x, 0.0, p99);
  }
  // Centred moving average: a group is thousands of segments whose own
  // 5-minute noise averages out; one server's noise on all of them would not.
  if (smooth_points > 1) {
    std::vector<double> prefix(n + 1, 0.0);
    for (int64_t j = 0; j < n; ++j) {
      prefix[j + 1] = prefix[j] + v[j];
    }
    for (int64_t j = 0; j < n; ++j) {
      const int64_t lo = std::max<int64_t>(0, j - smooth_points / 2);
      const int64_t hi = std::min<int64_t>(n, lo + smooth_points);
      v[j] = (prefix[hi] - prefix[lo]) / static_cast<double>(hi - lo);
    }
  }
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(n);
  for (double& x : v) {
    x = mean > 0 ? x / mean : 1.0;
  }
  return v;
}

}  // namespace

forecast::Result<Workload> Workload::build(const Scenario& sc) {
  if (sc.backends < 1 || sc.segments < sc.backends || sc.groups < 1 || sc.days < 1 ||
      sc.slots_per_segment < 1 || sc.peak_utilisation <= 0 || sc.settle_days < 0 ||
      sc.settle_days >= sc.warmup_days) {
    return forecast::Status(forecast::Code::InvalidArgument, "bad scenario sizes");
  }
  Workload w;
  w.sc_ = sc;
  std::mt19937_64 rng(sc.seed);
  const size_t nt = std::size(kTraces);
  std::vector<std::vector<double>> base(nt);
  for (size_t i = 0; i < nt && i < static_cast<size_t>(sc.groups); ++i) {
    auto t =
        unit_trace(sc.trace_dir + "/" + kTraces[i] + ".csv", std::max(1, sc.smooth_minutes / 5));
    if (!t.is_ok()) {
      return t.status();
    }
    base[i] = std::move(t.value());
  }
  // Groups: trace g % 6, shifted by g x zone_hours, tiled over warm-up + run.
  w.warm_points_ = static_cast<int64_t>(sc.warmup_days) * 288;
  const int64_t total = w.warm_points_ + static_cast<int64_t>(sc.days) * 288 + 2;
  for (int g = 0; g < sc.groups; ++g) {
    const auto& b = base[g % nt];
    const int64_t shift = static_cast<int64_t>(g) * sc.zone_hours * 12;
    std::vector<double> v(total);
    for (int64_t j = 0; j < total; ++j) {
      v[j] = b[static_cast<size_t>((j + shift) % static_cast<int64_t>(b.size()))];
    }
    w.trace_.push_back(std::move(v));
    w.names_.push_back(std::string(kTraces[g % nt]) + "+" + std::to_string(g * sc.zone_hours) +
                       "h");
  }
  // Capacities 0.75/1/1.25/1.5 x base, and foreshard's own initial placement.
  std::vector<proxy::BackendWeight> bw;
  for (int b = 0; b < sc.backends; ++b) {
    w.capacity_.push_back(sc.base_capacity * (0.75 + 0.25 * (b % 4)));
    bw.push_back({"b" + std::to_string(b), w.capacity_.back()});
  }
  // Scale: the aggregate peak over the run is peak_utilisation x capacity.
  double peak = 0;
  for (int64_t j = w.warm_points_; j < total; ++j) {
    double s = 0;
    for (const auto& v : w.trace_) {
      s += v[j];
    }
    peak = std::max(peak, s);
  }
  const double cap_total = std::accumulate(w.capacity_.begin(), w.capacity_.end(), 0.0);
  const double group_scale = sc.peak_utilisation * cap_total / peak;
  // Segments: contiguous slot ranges, group g holds a contiguous block
  // (tenants live in key ranges), Zipf ranks shuffled inside the group.
  std::lognormal_distribution<double> size_dist(std::log(sc.segment_bytes) - 0.125, 0.5);
  const uint32_t sps = static_cast<uint32_t>(sc.slots_per_segment);
  for (int g = 0; g < sc.groups; ++g) {
    const int lo = g * sc.segments / sc.groups, hi = (g + 1) * sc.segments / sc.groups;
    std::vector<double> z(hi - lo);
    for (size_t r = 0; r < z.size(); ++r) {
      z[r] = std::pow(static_cast<double>(r + 1), -sc.zipf);
    }
    std::shuffle(z.begin(), z.end(), rng);
    const double zsum = std::accumulate(z.begin(), z.end(), 0.0);
    for (int i = lo; i < hi; ++i) {
      SegmentSpec s;
      s.first = static_cast<uint32_t>(i) * sps;
      s.last = s.first + sps - 1;
      s.group = static_cast<uint32_t>(g);
      s.weight = group_scale * z[i - lo] / zsum;
      s.bytes = size_dist(rng);
      w.segments_.push_back(s);
    }
  }
  auto map = proxy::SegmentMap::initial(static_cast<uint32_t>(sc.segments) * sps, sps, bw);
  if (!map.is_ok()) {
    return forecast::Status(forecast::Code::InvalidArgument, map.status().message());
  }
  for (size_t i = 0; i < w.segments_.size(); ++i) {
    w.owner_.push_back(map.value().segment(static_cast<uint32_t>(i)).owner);
  }
  // Flash crowd: adjacent segments of one group (so, one backend), from a
  // time the forecasts cannot know.
  const int fg = static_cast<int>(rng() % static_cast<uint64_t>(sc.groups));
  const int lo = fg * sc.segments / sc.groups;
  const int width = sc.segments / sc.groups - sc.flash_segments;
  const int at = lo + static_cast<int>(rng() % static_cast<uint64_t>(std::max(1, width)));
  for (int i = 0; i < sc.flash_segments; ++i) {
    w.flash_.push_back(static_cast<uint32_t>(at + i));
  }
  w.flash_each_ = sc.flash_load * sc.base_capacity / std::max(1, sc.flash_segments);
  w.flash_start_ = static_cast<int64_t>(sc.flash_day * 86400);
  return w;
}

double Workload::group_at(size_t g, double t) const {
  const double p = static_cast<double>(warm_points_) + t / kTraceStep;
  const auto& v = trace_[g];
  const size_t i = static_cast<size_t>(std::clamp(p, 0.0, static_cast<double>(v.size() - 2)));
  const double f = std::clamp(p - static_cast<double>(i), 0.0, 1.0);
  return v[i] * (1 - f) + v[i + 1] * f;
}

std::vector<double> Workload::history(size_t g, int64_t end_point) const {
  const auto& v = trace_[g];
  const int64_t end = std::clamp<int64_t>(warm_points_ + end_point, 0, v.size());
  return std::vector<double>(v.begin(), v.begin() + end);
}

bool Workload::is_flash(size_t i) const {
  return std::find(flash_.begin(), flash_.end(), i) != flash_.end();
}

double Workload::flash_at(size_t i, double t) const {
  const double s = static_cast<double>(flash_start_), e = static_cast<double>(flash_end());
  if (t < s || t >= e || !is_flash(i)) {
    return 0;
  }
  return flash_each_ * std::min(1.0, (t - s) / 120.0);  // two-minute ramp
}

}  // namespace sim
