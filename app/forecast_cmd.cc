// `foreshard forecast eval`: the protocol of tools/forecast-baselines.py run on
// the C++ models (forecast/backtest.h), result tables in markdown, hand-written
// SVG plots of the rolling forecasts, a reference mode that reruns the tool's
// own baselines with its exact settings, and a fit-time benchmark.
#include "app/forecast_cmd.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "forecast/backtest.h"
#include "forecast/model.h"
#include "forecast/series.h"

namespace {

using forecast::BacktestOptions;
using forecast::ModelScore;
using forecast::TimeSeries;

const char* const kUsage =
    "usage: foreshard forecast eval FILE.csv... [options]\n"
    "  --horizon LIST   forecast horizons, e.g. 1h,1d or 30m (default 1h,1d)\n"
    "  --models LIST    models to evaluate (default "
    "auto,prophet,holt-winters,seasonal-naive,naive);\n"
    "                   known: auto, prophet, prophet-ridge, holt-winters, holt-winters-undamped,\n"
    "                   seasonal-naive, seasonal-naive-weekly, naive\n"
    "  --plot DIR       write one SVG per series and horizon (first model) into DIR\n"
    "  --refit D        refit interval, e.g. 1d (default) or 0 (fit once)\n"
    "  --head F         evaluate on the first fraction F of each series (other test windows)\n"
    "  --reference      rerun tools/forecast-baselines.py's six baselines with its exact settings\n"
    "  --bench          time fits on the first 14 days of each file instead of evaluating\n"
    "  --reps N         fits per model in --bench (default 51)\n";

// One evaluation setting: which model, how the backtest runs, label in tables.
struct Run {
  std::string label;
  std::string model;
  forecast::ModelParams params;
  BacktestOptions options;
  int min_training_days = 0;  // skipped ("-") on series whose training part is shorter
};

// One evaluated series: a score per run (no horizons = skipped).
struct Row {
  std::string file;
  int64_t step;
  double days;
  std::vector<ModelScore> scores;
};

struct Options {
  std::vector<std::string> files;
  std::vector<std::string> horizons{"1h", "1d"};
  std::vector<std::string> models{"auto", "prophet", "holt-winters", "seasonal-naive", "naive"};
  std::string plot_dir;
  std::string refit = "1d";
  double head = 1.0;
  bool reference = false;
  bool bench = false;
  int reps = 51;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// "90s", "30m", "1h", "1d", "1w" -> seconds; 0 is allowed ("0" = never); -1 on error.
long long parse_duration(const std::string& s) {
  if (s == "0") return 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !(v > 0)) return -1;
  const std::string unit(end);
  const std::map<std::string, double> mult{
      {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800}};
  auto it = mult.find(unit);
  if (it == mult.end()) return -1;
  return std::llround(v * it->second);
}

std::string basename_of(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

std::string fmt(const char* f, double a, double b = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

// ---------------------------------------------------------------- SVG plot
// History tail (grey), actuals (black), rolling forecast (blue) and its band.
bool write_svg(const std::string& path, const TimeSeries& s, const forecast::Split& sp,
               const forecast::HorizonScore& hs, const std::string& title) {
  const double w = 1000, h = 360, left = 70, right = 15, top = 30, bottom = 40;
  const size_t tail = std::min(sp.test_start, static_cast<size_t>(2 * sp.season));
  const size_t i0 = sp.test_start - tail, i1 = s.size();
  // Value range from what is plotted, bands clipped to it (bursts would flatten the rest).
  double lo = INFINITY, hi = -INFINITY;
  for (size_t i = i0; i < i1; ++i) {
    if (!std::isnan(s[i])) lo = std::min(lo, s[i]), hi = std::max(hi, s[i]);
  }
  for (double v : hs.yhat) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(hi > lo)) hi = lo + 1;
  auto x_of = [&](size_t i) {
    return left +
           (w - left - right) * static_cast<double>(i - i0) / static_cast<double>(i1 - 1 - i0);
  };
  auto y_of = [&](double v) {
    return top + (h - top - bottom) * (1 - (std::clamp(v, lo, hi) - lo) / (hi - lo));
  };
  std::ofstream out(path);
  if (!out) return false;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
      << "\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" "
         "fill=\"white\"/>\n"
      << "<text x=\"" << left << "\" y=\"18\" font-size=\"13\">" << title << "</text>\n";
  // Band: upper edge forwards, lower edge backwards, one polygon per run of finite values.
  auto polygon = [&](size_t a, size_t b) {
    out << "<polygon fill=\"#9ecae1\" fill-opacity=\"0.5\" stroke=\"none\" points=\"";
    for (size_t k = a; k < b; ++k) out << fmt("%.1f,%.1f ", x_of(sp.targets[k]), y_of(hs.upper[k]));
    for (size_t k = b; k-- > a;) out << fmt("%.1f,%.1f ", x_of(sp.targets[k]), y_of(hs.lower[k]));
    out << "\"/>\n";
  };
  for (size_t k = 0; k < hs.upper.size();) {
    size_t e = k;
    while (e < hs.upper.size() && std::isfinite(hs.upper[e]) &&
           (e == k || sp.targets[e] == sp.targets[e - 1] + 1))
      ++e;
    if (e > k + 1) polygon(k, e);
    k = std::max(e, k + 1);
  }
  // Lines break at missing steps.
  auto polyline = [&](const char* colour, double width, auto value_at, size_t a, size_t b) {
    std::string pts;
    auto flush = [&] {
      if (pts.size() > 20)
        out << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"" << width
            << "\" points=\"" << pts << "\"/>\n";
      pts.clear();
    };
    for (size_t i = a; i < b; ++i) {
      const double v = value_at(i);
      if (std::isnan(v))
        flush();
      else
        pts += fmt("%.1f,%.1f ", x_of(i), y_of(v));
    }
    flush();
  };
  polyline(
      "#888888", 1, [&](size_t i) { return s[i]; }, i0, sp.test_start);
  polyline(
      "#000000", 1, [&](size_t i) { return s[i]; }, sp.test_start, i1);
  std::vector<double> f(s.size(), NAN);
  for (size_t k = 0; k < sp.targets.size(); ++k) f[sp.targets[k]] = hs.yhat[k];
  polyline(
      "#1f77b4", 1.2, [&](size_t i) { return f[i]; }, sp.test_start, i1);
  // Axes: test start marker, value ticks, one date label per day (at most ~10).
  const double xs = x_of(sp.test_start);
  out << fmt("<line x1=\"%.1f\" y1=\"", xs) << top << fmt("\" x2=\"%.1f\" y2=\"", xs) << h - bottom
      << "\" stroke=\"#d62728\" stroke-dasharray=\"4,3\"/>\n";
  for (int k = 0; k <= 4; ++k) {
    const double v = lo + (hi - lo) * k / 4.0;
    out << fmt("<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">", left - 6, y_of(v) + 4)
        << fmt("%.5g", v) << "</text>\n";
  }
  const size_t day = static_cast<size_t>(sp.season),
               every = std::max<size_t>(1, (i1 - i0) / day / 10 + 1) * day;
  for (size_t i = i0; i < i1; i += every) {
    out << fmt("<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">", x_of(i), h - bottom + 16)
        << forecast::format_timestamp(s.time_at(i)).substr(0, 10) << "</text>\n";
  }
  out << "<text x=\"" << w - right << "\" y=\"" << h - 6
      << "\" text-anchor=\"end\" fill=\"#555\">grey: history, "
      << "black: actual, blue: forecast from T - horizon, band: interval</text>\n</svg>\n";
  return static_cast<bool>(out);
}

// ---------------------------------------------------------------- runs
std::vector<Run> make_runs(const Options& o, long long refit_seconds, int64_t step) {
  std::vector<Run> runs;
  const int refit =
      refit_seconds <= 0
          ? 0
          : std::max(1, static_cast<int>(std::llround(static_cast<double>(refit_seconds) /
                                                      static_cast<double>(step))));
  if (o.reference) {
    // tools/forecast-baselines.py: naive and seasonal naive need no fit; hw is
    // fitted once on the training part and replayed; prophet_r is refitted
    // daily from the end of the training part with daily 10 / weekly 3 terms.
    auto add = [&](const char* label, const char* model, forecast::Origins org, int refit_every) {
      Run r{label, model, {}, {}, 0};
      r.options.origins = org;
      r.options.refit_every = refit_every;
      if (std::string(model) == "prophet-ridge")
        r.params.features.daily_order = 10, r.params.features.weekly_order = 3;
      runs.push_back(r);
    };
    add("naive", "naive", forecast::Origins::Strict, 0);
    add("snaive_d", "seasonal-naive", forecast::Origins::Strict, 0);
    add("snaive_w", "seasonal-naive-weekly", forecast::Origins::Strict, 0);
    runs.back().min_training_days = 7;  // the tool reports snaive_w only then
    add("hw", "holt-winters-undamped", forecast::Origins::Replay, 0);
    add("hw_damped", "holt-winters", forecast::Origins::Replay, 0);
    add("prophet_r", "prophet-ridge", forecast::Origins::AfterTraining, -1);
    return runs;
  }
  for (const std::string& m : o.models) {
    Run r{m, m, {}, {}, 0};
    r.options.refit_every = refit;
    runs.push_back(r);
  }
  return runs;
}

// Fit time on the first 14 days of each file: wall-clock and process CPU time
// (the machine may be shared; CPU time leaves out waiting for a core).
int bench(const Options& o) {
  std::printf(
      "| series | points | model | median fit ms | median CPU ms | min fit ms "
      "|\n|---|---|---|---|---|---|\n");
  for (const std::string& file : o.files) {
    auto s = forecast::load_csv(file);
    if (!s.is_ok()) return std::fprintf(stderr, "%s\n", s.status().message().c_str()), 1;
    const TimeSeries part = s->slice(0, static_cast<size_t>(14 * s->steps_per_day()));
    for (const std::string& name : o.models) {
      auto m = forecast::make_model(name);
      if (!m.is_ok()) return std::fprintf(stderr, "%s\n", m.status().message().c_str()), 2;
      std::vector<double> wall, cpu;
      for (int r = 0; r < o.reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        const std::clock_t c0 = std::clock();
        auto f = m.value()->fit(part, forecast::ModelParams{});
        cpu.push_back(1e3 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
        wall.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count());
        if (!f.is_ok())
          return std::fprintf(stderr, "%s: %s\n", name.c_str(), f.status().message().c_str()), 1;
      }
      std::printf("| %s | %zu | %s | %.2f | %.2f | %.2f |\n", basename_of(file).c_str(),
                  part.size(), name.c_str(), forecast::median(wall), forecast::median(cpu),
                  *std::min_element(wall.begin(), wall.end()));
      std::fflush(stdout);
    }
  }
  return 0;
}

// MASE (sMAPE) with geometric means, interval coverage, then fit times.
void print_tables(const std::vector<Row>& rows, const std::vector<std::string>& labels,
                  const std::vector<std::string>& horizons) {
  auto header = [&](const char* first, int leading, bool per_horizon) {
    std::printf("| %s |", first);
    for (const auto& l : labels) {
      if (!per_horizon)
        std::printf(" %s |", l.c_str());
      else
        for (const auto& h : horizons) std::printf(" %s %s |", l.c_str(), h.c_str());
    }
    std::printf("\n|");
    for (size_t i = 0;
         i < static_cast<size_t>(leading) + labels.size() * (per_horizon ? horizons.size() : 1);
         ++i)
      std::printf("---|");
    std::printf("\n");
  };
  std::printf("MASE (sMAPE %%) per model and horizon\n\n");
  header("series | step | days", 3, true);
  std::vector<std::vector<double>> by_col(labels.size() * horizons.size());
  for (const Row& r : rows) {
    std::printf("| %s | %lldm | %.1f |", r.file.c_str(), static_cast<long long>(r.step / 60),
                r.days);
    for (size_t m = 0; m < r.scores.size(); ++m) {
      for (size_t k = 0; k < horizons.size(); ++k) {
        if (r.scores[m].horizons.empty()) {
          std::printf(" - |");
          continue;
        }
        const auto& h = r.scores[m].horizons[k];
        std::printf(" %.3f (%.1f) |", h.mase, h.smape);
        by_col[m * horizons.size() + k].push_back(h.mase);
      }
    }
    std::printf("\n");
  }
  std::printf("| geometric mean MASE | | |");
  for (const auto& c : by_col) std::printf(" **%.3f** |", forecast::geometric_mean(c));
  std::printf("\n\nInterval coverage (nominal 80%%)\n\n");
  header("series", 1, true);
  for (const Row& r : rows) {
    std::printf("| %s |", r.file.c_str());
    for (const auto& sc : r.scores) {
      if (sc.horizons.empty())
        for (size_t k = 0; k < horizons.size(); ++k) std::printf(" - |");
      for (const auto& h : sc.horizons) std::printf(" %.0f%% |", 100 * h.coverage);
    }
    std::printf("\n");
  }
  std::printf("\nMedian fit time in ms (number of fits)\n\n");
  header("series", 1, false);
  std::vector<std::vector<double>> all_fits(labels.size());
  for (const Row& r : rows) {
    std::printf("| %s |", r.file.c_str());
    for (size_t m = 0; m < r.scores.size(); ++m) {
      if (r.scores[m].fit_seconds.empty()) {
        std::printf(" - |");
        continue;
      }
      std::printf(" %.2f (%zu) |", r.scores[m].median_fit_ms(), r.scores[m].fit_seconds.size());
      for (double f : r.scores[m].fit_seconds) all_fits[m].push_back(f * 1e3);
    }
    std::printf("\n");
  }
  std::printf("| all fits |");
  for (const auto& f : all_fits) std::printf(" %.2f |", forecast::median(f));
  std::printf("\n");
}

int eval(const Options& o) {
  const long long refit_seconds = parse_duration(o.refit);
  if (refit_seconds < 0)
    return std::fprintf(stderr, "bad --refit '%s'\n%s", o.refit.c_str(), kUsage), 2;
  std::vector<long long> hsec;
  for (const std::string& h : o.horizons) {
    hsec.push_back(parse_duration(h));
    if (hsec.back() <= 0) return std::fprintf(stderr, "bad horizon '%s'\n%s", h.c_str(), kUsage), 2;
  }
  if (!o.plot_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.plot_dir, ec);
    if (ec)
      return std::fprintf(stderr, "cannot create %s: %s\n", o.plot_dir.c_str(),
                          ec.message().c_str()),
             1;
  }
  std::vector<Row> rows;
  std::vector<std::string> labels;
  for (size_t fi = 0; fi < o.files.size(); ++fi) {
    auto s = forecast::load_csv(o.files[fi]);
    if (!s.is_ok()) return std::fprintf(stderr, "%s\n", s.status().message().c_str()), 1;
    if (o.head < 1) s = s->slice(0, static_cast<size_t>(static_cast<double>(s->size()) * o.head));
    auto sp = forecast::make_split(s.value(), 0.2);
    if (!sp.is_ok())
      return std::fprintf(stderr, "%s: %s\n", o.files[fi].c_str(), sp.status().message().c_str()),
             1;
    std::vector<int> hs;
    for (long long sec : hsec)
      hs.push_back(std::max(1, static_cast<int>(std::llround(static_cast<double>(sec) /
                                                             static_cast<double>(s->step())))));
    Row row{basename_of(o.files[fi]),
            s->step(),
            static_cast<double>(s->size() * s->step()) / 86400.0,
            {}};
    const std::vector<Run> runs = make_runs(o, refit_seconds, s->step());
    labels.clear();
    for (size_t ri = 0; ri < runs.size(); ++ri) {
      const Run& r = runs[ri];
      labels.push_back(r.label);
      auto model = forecast::make_model(r.model);
      if (!model.is_ok())
        return std::fprintf(stderr, "%s\n%s", model.status().message().c_str(), kUsage), 2;
      if (sp->test_start < static_cast<size_t>(r.min_training_days * sp->season)) {
        row.scores.push_back(ModelScore{r.label, {}, {}, 0});
        continue;
      }
      BacktestOptions bo = r.options;
      bo.horizons = hs;
      bo.keep_predictions = !o.plot_dir.empty() && ri == 0;
      const auto t0 = std::chrono::steady_clock::now();
      auto sc = forecast::evaluate(*model.value(), r.params, s.value(), bo);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!sc.is_ok())
        return std::fprintf(stderr, "%s %s: %s\n", row.file.c_str(), r.label.c_str(),
                            sc.status().message().c_str()),
               1;
      for (size_t k = 0; k < hs.size(); ++k) {
        const auto& h = sc->horizons[k];
        std::fprintf(stderr,
                     "[%zu/%zu] %s %-14s %-4s MASE %.3f sMAPE %5.1f cover %3.0f%% fit %.2f ms x%zu "
                     "(%.1fs)\n",
                     fi + 1, o.files.size(), row.file.c_str(), r.label.c_str(),
                     o.horizons[k].c_str(), h.mase, h.smape, 100 * h.coverage, sc->median_fit_ms(),
                     sc->fit_seconds.size(), secs);
        if (bo.keep_predictions) {
          const std::string path = o.plot_dir + "/" +
                                   std::filesystem::path(row.file).stem().string() + "_" +
                                   o.horizons[k] + ".svg";
          if (!write_svg(path, s.value(), sp.value(), h,
                         row.file + ": " + r.label + ", horizon " + o.horizons[k] +
                             fmt(", MASE %.3f", h.mase))) {
            return std::fprintf(stderr, "cannot write %s\n", path.c_str()), 1;
          }
        }
      }
      row.scores.push_back(std::move(sc.value()));
    }
    rows.push_back(std::move(row));
  }

  print_tables(rows, labels, o.horizons);
  return 0;
}

}  // namespace

int run_forecast_command(int argc, char** argv) {
  if (argc >= 2 && (std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help")) {
    std::printf("%s", kUsage);
    return 0;
  }
  if (argc < 2 || std::string(argv[1]) != "eval") {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  Options o;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--horizon" && value(v))
      o.horizons = split_list(v);
    else if (a == "--models" && value(v))
      o.models = split_list(v);
    else if (a == "--plot" && value(v))
      o.plot_dir = v;
    else if (a == "--refit" && value(v))
      o.refit = v;
    else if (a == "--reps" && value(v))
      o.reps = std::max(1, std::atoi(v.c_str()));
    else if (a == "--head" && value(v))
      o.head = std::atof(v.c_str());
    else if (a == "--reference")
      o.reference = true;
    else if (a == "--bench")
      o.bench = true;
    else if (a == "-h" || a == "--help")
      return std::printf("%s", kUsage), 0;
    else if (!a.empty() && a[0] == '-')
      return std::fprintf(stderr, "unknown or incomplete option %s\n%s", a.c_str(), kUsage), 2;
    else
      o.files.push_back(a);
  }
  if (o.files.empty() || o.horizons.empty() || o.models.empty() || !(o.head > 0 && o.head <= 1)) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  return o.bench ? bench(o) : eval(o);
}
