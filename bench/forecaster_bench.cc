// forecaster_bench: the cost of the live forecaster at fleet defaults. Fills
// a History for 16,384 slots and 16 backends with 14 days of synthetic
// seasonal load (skewed per slot), then times select_inputs() and one refit
// for 16,384 one-slot segments (worst case) and for 256 segments, plus the
// per-second ingest, a step close and save/load of the history file.
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "migrate/forecaster.h"
#include "migrate/history.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kSlots = 16384;
constexpr size_t kBackends = 16;
constexpr double kPi = 3.14159265358979323846;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Cumulative counters driven by per-slot rates: a lognormal weight per slot
// (a few hot slots, a long cold tail), one of four daily phases, a weekend dip.
struct Load {
  std::vector<double> weight;
  std::vector<int> phase;
  std::vector<double> reads, writes;  // cumulative, fractional
  migrate::TelemetrySnapshot snap;

  Load() {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> z(0, 2.0);
    for (uint32_t s = 0; s < kSlots; ++s) {
      weight.push_back(0.05 * std::exp(z(rng)));  // ops/s at the daily mean
      phase.push_back(static_cast<int>(rng() % 4));
    }
    reads.assign(kSlots, 0);
    writes.assign(kSlots, 0);
    for (auto* v : {&snap.slot_reads, &snap.slot_writes, &snap.slot_other, &snap.slot_bytes_in,
                    &snap.slot_bytes_out}) {
      v->assign(kSlots, 0);
    }
    for (auto* v : {&snap.backend_reads, &snap.backend_writes, &snap.backend_other,
                    &snap.backend_bytes_in, &snap.backend_bytes_out}) {
      v->assign(kBackends, 0);
    }
    for (int i = 0; i < 300; ++i) {
      snap.sources.emplace_back("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256),
                                0);
    }
  }
  // Advances the counters by dt seconds ending at t.
  const migrate::TelemetrySnapshot& advance(uint64_t t, double dt) {
    double f[4];
    const double day = static_cast<double>(t % 86400) / 86400.0;
    const bool weekend = (t / 86400 + 4) % 7 >= 5;  // 1970-01-01 was a Thursday
    for (int p = 0; p < 4; ++p) {
      f[p] = (1 + 0.6 * std::sin(2 * kPi * (day + 0.25 * p))) * (weekend ? 0.7 : 1.0) * dt;
    }
    std::fill(snap.backend_reads.begin(), snap.backend_reads.end(), 0);
    std::fill(snap.backend_writes.begin(), snap.backend_writes.end(), 0);
    for (uint32_t s = 0; s < kSlots; ++s) {
      const double ops = weight[s] * f[phase[s]];
      reads[s] += 0.8 * ops;
      writes[s] += 0.2 * ops;
      snap.slot_reads[s] = static_cast<uint64_t>(reads[s]);
      snap.slot_writes[s] = static_cast<uint64_t>(writes[s]);
      const size_t b = s * kBackends / kSlots;
      snap.backend_reads[b] += snap.slot_reads[s];
      snap.backend_writes[b] += snap.slot_writes[s];
    }
    for (size_t i = 0; i < snap.sources.size(); ++i) {
      snap.sources[i].second += static_cast<uint64_t>((i % 17 + 1) * dt);
    }
    snap.unix_s = t;
    return snap;
  }
};

struct Refit {
  double wall_ms = 0, fit_ms_total = 0, max_ms = 0;
  size_t series = 0, fallbacks = 0;
};

Refit refit(std::vector<migrate::SeriesInput> inputs) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  Refit r;
  {
    migrate::Forecaster f(&loop, migrate::Forecaster::Options{});
    auto t0 = Clock::now();
    f.request(std::move(inputs), [&](std::shared_ptr<const migrate::ForecastSet> set) {
      r.wall_ms = ms_since(t0);
      r.fit_ms_total = set->fit_ms_total;
      r.series = set->series.size();
      for (const auto& s : set->series) {
        r.max_ms = std::max(r.max_ms, s.fit_ms);
        r.fallbacks += s.fallback ? 1 : 0;
      }
    });
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  if (uv_loop_close(&loop) != 0) {
    std::fprintf(stderr, "loop not clean\n");
    std::exit(1);
  }
  return r;
}

void report(const char* what, size_t segments, const migrate::History& h) {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  const uint32_t width = kSlots / static_cast<uint32_t>(segments);
  for (uint32_t i = 0; i < segments; ++i) {
    ranges.emplace_back(i * width, i * width + width - 1);
  }
  auto t0 = Clock::now();
  auto inputs = migrate::select_inputs(h, ranges, migrate::Forecaster::Options{}.segment_share);
  const double select_ms = ms_since(t0);
  const Refit r = refit(std::move(inputs));
  std::printf(
      "%s: %zu segments -> select_inputs %.1f ms, series %zu, refit ms "
      "%.0f wall "
      "(fits %.0f ms, slowest series %.1f ms, %zu fallbacks)\n",
      what, segments, select_ms, r.series, r.wall_ms, r.fit_ms_total, r.max_ms, r.fallbacks);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp";
  std::vector<std::string> names;
  for (size_t b = 0; b < kBackends; ++b) {
    names.push_back("redis-" + std::to_string(b + 1));
  }
  migrate::History h(migrate::History::Options{}, kSlots, names);
  Load load;
  const uint32_t step = h.step_s();
  const uint64_t t0 = 1'700'006'400;  // midnight UTC
  auto f0 = Clock::now();
  h.ingest(load.advance(t0, 0));
  const size_t steps = h.backend_capacity() + 1;  // fill even the 14-day backend rings
  double close_ms = 0;
  for (size_t k = 1; k <= steps; ++k) {
    const auto& s = load.advance(t0 + k * step, step);
    auto c0 = Clock::now();
    h.ingest(s);
    close_ms = std::max(close_ms, ms_since(c0));
  }
  std::printf("filled %zu steps of %u s in %.0f ms\n", steps, step, ms_since(f0));
  std::printf(
      "History memory %zu bytes (%.1f MiB; budget %.0f MiB), %zu "
      "points per slot "
      "(%.1f days), %zu per backend (%.1f days)\n",
      h.memory_bytes(), h.memory_bytes() / 1048576.0,
      migrate::History::Options{}.memory_budget_bytes / 1048576.0, h.slot_capacity(),
      h.slot_capacity() * step / 86400.0, h.backend_capacity(),
      h.backend_capacity() * step / 86400.0);

  // The control loop's per-second cost: 60 ingests 1 s apart inside one step.
  uint64_t t = t0 + steps * step;
  auto i0 = Clock::now();
  for (int i = 1; i <= 60; ++i) {
    h.ingest(load.advance(t + i, 1));
  }
  std::printf(
      "ingest %.0f us per 1 s snapshot; slowest ingest with a step "
      "close %.1f ms\n",
      ms_since(i0) * 1000 / 60, close_ms);

  report("worst case", kSlots, h);
  report("default", 256, h);

  const std::string path = dir + "/forecaster_bench.history";
  auto s0 = Clock::now();
  migrate::Status st = h.save(path);
  const double save_ms = ms_since(s0);
  auto l0 = Clock::now();
  auto loaded = migrate::History::load(path, migrate::History::Options{}, kSlots, names);
  const double load_ms = ms_since(l0);
  std::FILE* fp = std::fopen(path.c_str(), "rb");
  long size = -1;
  if (fp != nullptr) {
    std::fseek(fp, 0, SEEK_END);
    size = std::ftell(fp);
    std::fclose(fp);
  }
  std::remove(path.c_str());
  std::printf("save %s %.0f ms (%.1f MiB file, fsync included), load %s %.0f ms\n",
              st.is_ok() ? "ok" : st.message().c_str(), save_ms, size / 1048576.0,
              loaded.is_ok() ? "ok" : loaded.status().message().c_str(), load_ms);
  return st.is_ok() && loaded.is_ok() ? 0 : 1;
}
