// The simulate subcommand: flags -> Scenario/RunOptions, one shared workload
// and forecast, one run per mode, the summary table and the plots.
#include "app/simulate_cmd.h"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "sim/forecasts.h"
#include "sim/runner.h"
#include "sim/svg.h"
#include "sim/workload.h"

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) {
      out.push_back(item);
    }
  }
  return out;
}

const char* color_of(const std::string& label) {
  if (label == "static") {
    return "#7f7f7f";
  }
  if (label == "reactive") {
    return "#d62728";
  }
  if (label == "predictive") {
    return "#1f77b4";
  }
  if (label == "oracle") {
    return "#2ca02c";
  }
  return label.find("0.1") != std::string::npos ? "#9467bd" : "#ff7f0e";
}

// Every `k` points, the max of the block (plots stay small: hourly points).
std::vector<double> block_max(const std::vector<float>& v, size_t k) {
  std::vector<double> out;
  for (size_t i = 0; i < v.size(); i += k) {
    double m = 0;
    for (size_t j = i; j < i + k && j < v.size(); ++j) {
      m = std::max(m, static_cast<double>(v[j]));
    }
    out.push_back(m);
  }
  return out;
}

void write_plots(const std::string& dir, const sim::Workload& w,
                 const std::vector<sim::RunResult>& runs, double threshold) {
  mkdir(dir.c_str(), 0755);
  const double days = w.scenario().days;
  std::vector<sim::Panel> load;
  for (const auto& r : runs) {
    if (r.label.find("noise") != std::string::npos) {
      continue;
    }
    sim::Panel p;
    p.title = r.label + ": every backend's 3-hour peak utilisation (grey), the fleet max (colour)";
    p.y_label = "load / capacity";
    p.y_min = 0;
    p.y_max = 1.6;
    std::vector<double> mx;
    for (const auto& b : r.backend_util) {
      auto y = block_max(b, 36);  // 3-hour peaks keep the file small
      if (mx.empty()) {
        mx.assign(y.size(), 0);
      }
      for (size_t i = 0; i < y.size(); ++i) {
        mx[i] = std::max(mx[i], y[i]);
      }
      p.lines.push_back({"", "#999", std::move(y), 0.6, 0.35});
    }
    p.lines.push_back({"max", color_of(r.label), std::move(mx), 1.5, 1});
    p.refs = {{1.0, "capacity"}, {threshold, "threshold"}};
    load.push_back(std::move(p));
  }
  sim::write_svg(dir + "/sim_load.svg", "Backend load per mode", "day", days, load);
  sim::Panel v, vb, m;
  v.title = "overloaded backend-windows (load > capacity, 10 s), cumulative";
  v.y_label = "windows";
  vb.title = "the same without static";
  vb.y_label = "windows";
  m.title = "bytes moved, cumulative";
  m.y_label = "GB";
  for (const auto& r : runs) {
    // Hourly points (cumulative series: the block max is the last value).
    std::vector<double> a = block_max(r.cum_overloaded, 12), b = block_max(r.cum_bytes, 12);
    for (double& x : b) {
      x /= 1e9;
    }
    v.y_max = std::max(v.y_max, a.empty() ? 0.0 : a.back() * 1.05);
    m.y_max = std::max(m.y_max, b.empty() ? 0.0 : b.back() * 1.05);
    if (r.label != "static") {
      vb.y_max = std::max(vb.y_max, a.empty() ? 0.0 : a.back() * 1.05);
      vb.lines.push_back({r.label, color_of(r.label), a});
    }
    v.lines.push_back({r.label, color_of(r.label), std::move(a)});
    m.lines.push_back({r.label, color_of(r.label), std::move(b)});
  }
  const double fd = static_cast<double>(w.flash_start()) / 86400;
  v.refs = {};
  sim::write_svg(
      dir + "/sim_violations.svg",
      "Overloaded windows over time (flash crowd at day " + std::to_string(fd).substr(0, 5) + ")",
      "day", days, {v, vb});
  sim::write_svg(dir + "/sim_moves.svg", "Data moved over time", "day", days, {m});
}

void print_table(const std::vector<sim::RunResult>& runs) {
  const sim::RunResult* st = nullptr;
  const sim::RunResult* re = nullptr;
  for (const auto& r : runs) {
    st = r.label == "static" ? &r : st;
    re = r.label == "reactive" ? &r : re;
  }
  auto fewer = [](const sim::RunResult* base, uint64_t v) {
    if (base == nullptr || base->overloaded == 0) {
      return std::string("-");
    }
    const double b = static_cast<double>(base->overloaded), x = static_cast<double>(v);
    char out[32];
    if (x > b) {
      std::snprintf(out, sizeof out, "(%.0fx more)", x / b);
    } else {
      std::snprintf(out, sizeof out, "%.1f%%", 100.0 * (1.0 - x / b));
    }
    return std::string(out);
  };
  std::printf(
      "| mode | overloaded backend-windows | fewer than static | fewer than reactive | windows "
      "with any backend over | flash-crowd windows | moves | ping-pongs | splits | merges | GB "
      "moved | "
      "peak max/mean at peak | p99 max/mean, busy windows | mean "
      "latency x | forecast error | run s "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& r : runs) {
    std::printf(
        "| %s | %llu | %s | %s | %llu | %llu | %llu | %llu | %llu | %llu | %.1f | %.3f | %.3f | "
        "%.2f | %.3f | %.1f |\n",
        r.label.c_str(), static_cast<unsigned long long>(r.overloaded),
        fewer(st, r.overloaded).c_str(), fewer(re, r.overloaded).c_str(),
        static_cast<unsigned long long>(r.windows_any),
        static_cast<unsigned long long>(r.flash_overloaded),
        static_cast<unsigned long long>(r.moves), static_cast<unsigned long long>(r.ping_pongs),
        static_cast<unsigned long long>(r.splits), static_cast<unsigned long long>(r.merges),
        r.bytes_moved / 1e9, r.peak_ratio, r.busy_ratio_p99, r.mean_latency, r.mean_profile_error,
        r.wall_seconds);
  }
}

}  // namespace

int run_simulate_command(int argc, char** argv) {
  const auto t0 = std::chrono::steady_clock::now();
  CLI::App app{
      "foreshard simulate: replay a trace workload on a simulated fleet per balancer mode"};
  sim::Scenario sc;
  sim::ForecastOptions fo;
  sim::RunOptions base;
  auto& bp = base.params;
  bp.load_threshold = 0.9;
  bp.max_concurrent_migrations = 2;
  bp.rate.bytes_per_second = 25e6;
  bp.rate.fixed_seconds = 10;
  sc.trace_dir = "../shared/data/traces";
  std::string modes = "static,reactive,predictive,oracle", noise = "0.1,0.3", plot_dir;
  double rate_mb = 25, seg_mb = 2000, horizon_min = 115, cooldown_min = 60, return_block_h = 12,
         error_lead_min = 30;
  bp.max_mean_target = 1.2;
  bp.level_floor = 0.95;
  bp.min_predicted_excess = 0.5;
  bp.trust_error_low = 0.1;
  bp.trust_error_high = 0.25;
  int reasons = 0;
  bool forecast_errors = false;
  app.add_option("--traces", sc.trace_dir, "folder of the trace CSV files")->capture_default_str();
  app.add_option("--days", sc.days, "simulated days")->capture_default_str();
  app.add_option("--settle-days", sc.settle_days, "days the balancer runs before counting starts")
      ->capture_default_str();
  app.add_option("--backends", sc.backends)->capture_default_str();
  app.add_option("--segments", sc.segments)->capture_default_str();
  app.add_option("--groups", sc.groups, "workload groups (trace + time zone)")
      ->capture_default_str();
  app.add_option("--zone-hours", sc.zone_hours, "phase shift between groups")
      ->capture_default_str();
  app.add_option("--peak", sc.peak_utilisation, "aggregate peak / total capacity")
      ->capture_default_str();
  app.add_option("--smooth-min", sc.smooth_minutes, "moving average over the traces, minutes")
      ->capture_default_str();
  app.add_option("--zipf", sc.zipf, "load skew inside a group")->capture_default_str();
  app.add_option("--segment-mb", seg_mb, "mean segment size, MB")->capture_default_str();
  app.add_option("--flash-load", sc.flash_load, "flash crowd, x base capacity")
      ->capture_default_str();
  app.add_option("--flash-day", sc.flash_day, "flash crowd start, days")->capture_default_str();
  app.add_option("--seed", sc.seed)->capture_default_str();
  app.add_option("--modes", modes, "comma list of static,reactive,predictive,oracle")
      ->capture_default_str();
  app.add_option("--noise", noise,
                 "predictive runs with noisy forecasts (comma list of sigma; '' = none)")
      ->capture_default_str();
  app.add_option("--threshold", bp.load_threshold, "loadThreshold")->capture_default_str();
  app.add_option("--horizon-min", horizon_min, "forecast horizon, minutes (multiple of 5)")
      ->capture_default_str();
  app.add_option("--plan-interval", bp.plan_interval_seconds, "seconds between plans")
      ->capture_default_str();
  app.add_option("--max-concurrent", bp.max_concurrent_migrations, "migrations at once, fleet-wide")
      ->capture_default_str();
  app.add_option("--early-start", bp.early_start_seconds,
                 "seconds before its start-by time a move may use a free slot (0 = never early)")
      ->capture_default_str();
  app.add_option("--rate-mb", rate_mb, "migration rate, MB/s")->capture_default_str();
  app.add_option("--migration-load", base.migration_load,
                 "load a migration adds on both ends, x base capacity")
      ->capture_default_str();
  app.add_option("--split-share", bp.split_share)->capture_default_str();
  app.add_option("--relief-margin", bp.relief_margin,
                 "hot backends are relieved to (1 - this) x threshold")
      ->capture_default_str();
  app.add_option("--min-excess", bp.min_predicted_excess,
                 "predicted excess under this x a migration's load triggers no move")
      ->capture_default_str();
  app.add_option("--max-mean-target", bp.max_mean_target,
                 "levelling: predicted peak max/mean above this moves load (0 = off)")
      ->capture_default_str();
  app.add_option("--level-floor", bp.level_floor,
                 "levelling only when the top backend is over this x threshold")
      ->capture_default_str();
  app.add_option("--trust-low", bp.trust_error_low, "forecast error with full trust")
      ->capture_default_str();
  app.add_option("--trust-high", bp.trust_error_high, "forecast error with no trust (reactive)")
      ->capture_default_str();
  app.add_option("--error-lead-min", error_lead_min, "lead of the measured forecast error, minutes")
      ->capture_default_str();
  app.add_option("--cooldown-min", cooldown_min, "a moved segment stays put this long")
      ->capture_default_str();
  app.add_option("--return-block-h", return_block_h,
                 "no move back to the previous owner this long (unless it is over capacity)")
      ->capture_default_str();
  app.add_option("--merge-max-slots", bp.merge_max_slots, "0 = never merge")->capture_default_str();
  app.add_option("--model", fo.model, "forecast model (forecast/model.h names)")
      ->capture_default_str();
  app.add_option("--refit", fo.refit_seconds, "seconds between forecaster refits")
      ->capture_default_str();
  app.add_option("--plot", plot_dir, "write sim_*.svg into this folder");
  app.add_flag("--forecast-errors", forecast_errors,
               "print each group's forecast error (MAE / mean) at leads 5, 30, 60, 115 min");
  app.add_option("--reasons", reasons, "print the first N planner reasons of each mode");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  sc.segment_bytes = seg_mb * 1e6;
  bp.rate.bytes_per_second = rate_mb * 1e6;
  fo.horizon_points = static_cast<int>(horizon_min / 5) + 1;
  bp.migration_load = base.migration_load * sc.base_capacity;
  base.error_lead_seconds = static_cast<int64_t>(error_lead_min * 60);
  bp.cooldown_seconds = static_cast<int64_t>(cooldown_min * 60);
  bp.return_block_seconds = static_cast<int64_t>(return_block_h * 3600);
  bp.step_seconds = sim::Workload::kTraceStep;
  bp.horizon_seconds = static_cast<int64_t>(fo.horizon_points - 1) * bp.step_seconds;

  std::vector<sim::RunOptions> runs;
  for (const auto& m : split_list(modes)) {
    sim::RunOptions o = base;
    if (!migrate::parse_balancer_mode(m, o.params.mode)) {
      std::cerr << "foreshard simulate: unknown mode '" << m << "'\n";
      return 2;
    }
    o.label = m;
    runs.push_back(o);
  }
  for (const auto& n : split_list(noise)) {
    sim::RunOptions o = base;
    o.params.mode = migrate::BalancerMode::Predictive;
    o.noise = std::stod(n);
    o.label = "predictive+noise" + n;
    runs.push_back(o);
  }
  std::fprintf(stderr, "simulate: %d days, %d backends, %d segments, %d groups, peak %.0f%%\n",
               sc.days, sc.backends, sc.segments, sc.groups, 100 * sc.peak_utilisation);
  auto w = sim::Workload::build(sc);
  if (!w.is_ok()) {
    std::cerr << "foreshard simulate: " << w.status().message() << " (see --traces)\n";
    return 1;
  }
  auto f = sim::GroupForecasts::build(w.value(), fo, [](size_t d, size_t n) {
    std::fprintf(stderr, "  forecasts: group %zu/%zu\n", d, n);
  });
  if (!f.is_ok()) {
    std::cerr << "foreshard simulate: " << f.status().message() << "\n";
    return 2;
  }
  std::fprintf(stderr, "  forecasts: %zu fits of model %s in %.1f s\n", f.value().fits(),
               fo.model.c_str(), f.value().fit_seconds());
  if (forecast_errors) {
    for (size_t g = 0; g < w.value().groups(); ++g) {
      for (int lead : {1, 6, 12, 23}) {
        double err = 0, sum = 0, under = 0;
        const int64_t n = static_cast<int64_t>(sc.days) * 288 - lead;
        for (int64_t i = 0; i < n; ++i) {
          const double truth = w.value().group_at(g, static_cast<double>((i + lead) * 300));
          const double e = f.value().at(g, i)[lead] - truth;
          err += std::abs(e);
          under += e < -0.1 * truth ? 1 : 0;
          sum += truth;
        }
        std::fprintf(stderr, "  forecast g%zu lead %3d min: MAE/mean %.3f, under by >10%% %.1f%%\n",
                     g, lead * 5, err / sum, 100 * under / n);
      }
    }
  }
  std::vector<sim::RunResult> results;
  for (const auto& o : runs) {
    results.push_back(sim::run(w.value(), f.value(), o));
    std::fprintf(stderr, "  %s: done in %.1f s\n", o.label.c_str(), results.back().wall_seconds);
  }
  for (size_t g = 0; g < w.value().groups(); ++g) {
    std::printf("%sgroup %zu: %s", g == 0 ? "groups: " : ", ", g, w.value().group_name(g).c_str());
  }
  std::printf("\nflash crowd: day %.2f for %d min\n\n",
              static_cast<double>(w.value().flash_start()) / 86400, sc.flash_minutes);
  print_table(results);
  for (const auto& r : results) {
    std::fprintf(stderr,
                 "  %s: %llu moves held back by the concurrency limit, %llu plans with a "
                 "hot backend nothing fitted\n",
                 r.label.c_str(), static_cast<unsigned long long>(r.waits),
                 static_cast<unsigned long long>(r.no_fit));
  }
  for (const auto& r : results) {
    for (int i = 0; i < reasons && i < static_cast<int>(r.first_reasons.size()); ++i) {
      std::printf("%s> %s\n", i == 0 ? ("\n" + r.label + ":\n").c_str() : "",
                  r.first_reasons[i].c_str());
    }
  }
  if (!plot_dir.empty()) {
    write_plots(plot_dir, w.value(), results, bp.load_threshold);
    std::fprintf(stderr, "  plots: %s/sim_load.svg, sim_violations.svg, sim_moves.svg\n",
                 plot_dir.c_str());
  }
  std::fprintf(stderr, "simulate: %.1f s in all\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}
