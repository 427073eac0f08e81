// Controller implementation: the 1 s tick (telemetry roll-up, refit and save
// schedule), the refit job hand-off, and the text reports of FORESHARD
// FORECAST / STATUS built from the published snapshot.
#include "migrate/controller.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

#include "migrate/clock_text.h"
#include "proxy/log.h"
#include "proxy/worker.h"

namespace migrate {

namespace {

History open_history(const proxy::Config& cfg, const std::string& path, std::string& note) {
  History::Options o;
  o.memory_budget_bytes = cfg.telemetry.memory_bytes;
  o.step_s = cfg.telemetry.step_s;
  std::vector<std::string> names;
  for (const auto& b : cfg.backends) {
    names.push_back(b.name);
  }
  auto loaded = History::load(path, o, cfg.slots, names);
  if (loaded.is_ok()) {
    note = "history loaded from " + path;
    return std::move(loaded).value();
  }
  note = "history started fresh (" + loaded.status().message() + ")";
  return History(o, cfg.slots, names);
}

std::string fmt(double v) {
  char b[32];
  snprintf(b, sizeof b, v >= 100 ? "%.0f" : "%.2f", v);
  return b;
}

}  // namespace

Controller::Controller(proxy::ProxyContext& ctx, uv_loop_t* loop)
    : ctx_(ctx),
      loop_(loop),
      history_(open_history(*ctx.config, ctx.config->data_dir + "/history", load_note_)),
      forecaster_(loop, Forecaster::Options{ctx.config->prediction_horizon_s}),
      authority_(ctx),
      migrations_(ctx, authority_),
      sizes_(ctx),
      balancer_(ctx, authority_, migrations_, &sizes_),
      config_seen_(ctx.config.get()) {
  LOG_INFO("control", "{}; {} points per slot at {} s steps, {} MB", load_note_,
           history_.slot_capacity(), history_.step_s(), history_.memory_bytes() >> 20);
  publish();  // STATUS answers from the first moment
  uv_timer_init(loop_, &tick_);
  tick_.data = this;
  uv_timer_start(&tick_, on_tick_cb, 1000, 1000);
  uv_timer_init(loop_, &moves_);
  moves_.data = this;
  uv_timer_start(
      &moves_, [](uv_timer_t* t) { static_cast<Controller*>(t->data)->migrations_.poll(); }, 100,
      100);
  last_refit_s_ = last_save_s_ = last_plan_s_ = uint64_t(time(nullptr));
}

Controller::~Controller() = default;

std::string Controller::history_path() const { return ctx_.config->data_dir + "/history"; }

void Controller::on_tick_cb(uv_timer_t* t) { static_cast<Controller*>(t->data)->tick(); }

TelemetrySnapshot Controller::snapshot() const {
  TelemetrySnapshot s;
  s.unix_s = uint64_t(time(nullptr));
  size_t slots = ctx_.config->slots, nb = history_.backend_names().size();
  for (auto* v : {&s.slot_reads, &s.slot_writes, &s.slot_other, &s.slot_bytes_in, &s.slot_bytes_out}) {
    v->assign(slots, 0);
  }
  for (auto* v : {&s.backend_reads, &s.backend_writes, &s.backend_other, &s.backend_bytes_in,
                  &s.backend_bytes_out}) {
    v->assign(nb, 0);
  }
  auto add = [](const proxy::LoadCells& c, size_t i, std::vector<uint64_t>& r,
                std::vector<uint64_t>& w, std::vector<uint64_t>& o, std::vector<uint64_t>& in,
                std::vector<uint64_t>& out) {
    r[i] += proxy::read(c.ops[0]);
    w[i] += proxy::read(c.ops[1]);
    o[i] += proxy::read(c.ops[2]);
    in[i] += proxy::read(c.bytes_in);
    out[i] += proxy::read(c.bytes_out);
  };
  std::map<std::string, uint64_t> sources;
  std::vector<std::pair<std::string, uint64_t>> one;
  for (proxy::Worker* w : ctx_.workers) {
    const proxy::WorkerCounters& c = w->counters();
    for (size_t i = 0; i < slots; ++i) {
      add(c.slot_load(i), i, s.slot_reads, s.slot_writes, s.slot_other, s.slot_bytes_in,
          s.slot_bytes_out);
    }
    for (size_t b = 0; b < nb; ++b) {
      add(c.backend_load(b), b, s.backend_reads, s.backend_writes, s.backend_other,
          s.backend_bytes_in, s.backend_bytes_out);
    }
    one.clear();
    w->read_sources(one);
    for (auto& [name, ops] : one) {
      sources[name] += ops;
    }
  }
  s.sources.assign(sources.begin(), sources.end());
  return s;
}

void Controller::follow_config() {
  const proxy::Config* now = ctx_.config.get();
  if (now != config_seen_) {
    for (size_t b = history_.backend_names().size(); b < now->backends.size(); ++b) {
      history_.add_backend(now->backends[b].name);
    }
    balancer_.reconfigured(*config_seen_, *now);
    config_seen_ = now;
  }
  auto map = authority_.current();
  const size_t ready = std::min(ctx_.ready_backends(), now->backends.size());
  if (map->backend_names().size() < ready) {
    std::vector<std::string> names;
    for (size_t b = 0; b < ready; ++b) {
      names.push_back(now->backends[b].name);
    }
    auto r = authority_.apply(
        [&](const proxy::SegmentMap& m) { return m.with_backends(names); },
        "backends joined after a config reload");
    if (r.is_ok()) {
      for (size_t b = map->backend_names().size(); b < ready; ++b) {
        LOG_INFO("control", "b {} joined: every worker has a link; it can receive segments",
                 names[b]);
      }
    } else {
      LOG_WARN_EVERY("control", "cannot add backends to the map: {}", r.status().message());
    }
  }
}

void Controller::tick() {
  follow_config();
  history_.ingest(snapshot());
  uint64_t now = uint64_t(time(nullptr));
  const proxy::TelemetryConfig& t = ctx_.config->telemetry;
  if (now - last_refit_s_ >= t.refit_s && !forecaster_.busy()) {
    refit();
  }
  if (now - last_save_s_ >= t.save_s) {
    last_save_s_ = now;
    if (proxy::Status st = history_.save(history_path()); !st.is_ok()) {
      LOG_WARN_EVERY("control", "cannot save the history: {}", st.message());
    }
  }
  // Sizes are sampled half an interval before each plan uses them.
  sizes_.maybe_sample(now, ctx_.config->balancer.interval_s);
  if (now - last_plan_s_ >= ctx_.config->balancer.interval_s) {
    last_plan_s_ = now;
    balancer_.run(history_, forecaster_.latest(), now,
                  [this](const std::string& s) { return forecaster_.rolling_error(s); });
  }
  if (++ticks_ % 5 == 0) {
    publish();  // observed load moves every step; forecasts on each refit
  }
}

void Controller::refit() {
  last_refit_s_ = uint64_t(time(nullptr));
  auto map = ctx_.current_map();
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  for (uint32_t i = 0; i < map->size(); ++i) {
    ranges.emplace_back(map->segment(i).first, map->segment(i).last);
  }
  auto inputs = select_inputs(history_, ranges, forecaster_.options().segment_share);
  // Compressed time: the forecaster sees scaled clocks (telemetry.timeScale).
  const uint32_t scale = ctx_.config->telemetry.time_scale;
  for (SeriesInput& in : inputs) {
    in.start_unix_s *= scale;
    in.step_s *= scale;
  }
  [[maybe_unused]] size_t n = inputs.size();  // LOG_DEBUG is compiled out with NDEBUG
  bool started = forecaster_.request(std::move(inputs), [this](std::shared_ptr<const ForecastSet> set) {
    ++refits_;
    LOG_INFO("control", "forecast refit {}: {} series in {:.1f} ms", refits_, set->series.size(),
             set->fit_ms_total);
    publish();
  });
  if (started) {
    LOG_DEBUG("control", "refit of {} series queued", n);
  }
}

void Controller::publish() {
  auto p = std::make_shared<Published>();
  p->forecasts = forecaster_.latest();
  const auto& names = history_.backend_names();
  for (size_t b = 0; b < names.size(); ++b) {
    proxy::BackendForecastGauge g;
    g.backend = names[b];
    Series recent = history_.recent_backend(b, 1);
    g.observed_ops = recent.values.empty() ? 0 : recent.values.back();
    if (p->forecasts) {
      if (const SeriesForecast* f = p->forecasts->find("backend " + names[b])) {
        auto it = std::max_element(f->yhat.begin(), f->yhat.end());
        if (it != f->yhat.end()) {
          g.predicted_ops = *it;
          g.predicted_upper = f->upper[size_t(it - f->yhat.begin())];
        }
      }
    }
    g.forecast_error = forecaster_.rolling_error("backend " + names[b]);
    p->gauges.push_back(g);
  }
  p->status = "telemetry: " + load_note_ + "\n" + "history: " + std::to_string(history_.points()) +
              " of " + std::to_string(history_.slot_capacity()) + " points per slot, step " +
              std::to_string(history_.step_s()) + " s, " +
              std::to_string(history_.memory_bytes() >> 20) + " MB\n" +
              "forecaster: " + std::to_string(refits_) + " refits" +
              (p->forecasts ? ", last at " + utc_clock(p->forecasts->made_at_unix_s) + " UTC with " +
                                  std::to_string(p->forecasts->series.size()) + " series in " +
                                  fmt(p->forecasts->fit_ms_total) + " ms"
                            : std::string(", none yet")) +
              "\n";
  published_.store(std::move(p));
}

std::string Controller::status_report() const { return published_.load()->status; }

std::vector<proxy::BackendForecastGauge> Controller::backend_gauges() const {
  return published_.load()->gauges;
}

proxy::MigrationGauges Controller::migration_gauges() const {
  proxy::MigrationGauges g = migrations_.gauges();
  g.balancer_enabled = balancer_.enabled() ? 1 : 0;
  g.balancer_mode = balancer_mode_name(balancer_.mode());
  g.balancer_decisions = balancer_.decisions();
  return g;
}

std::string Controller::forecast_report(std::string_view target) const {
  auto p = published_.load();
  if (!p->forecasts) {
    return "no forecast yet: the first refit runs telemetry.refit after start, once the "
           "history has points (" + p->status + ")";
  }
  std::string want(target);
  if (!want.empty() && want.rfind("segment ", 0) != 0 && want.rfind("backend ", 0) != 0 &&
      want != "other") {
    want = "backend " + want;
  }
  std::string out;
  if (want.empty()) {
    out = "series            model            err%   now ops/s  peak ops/s [interval] over the horizon\n";
    for (const proxy::BackendForecastGauge& g : p->gauges) {
      const SeriesForecast* f = p->forecasts->find("backend " + g.backend);
      char line[256];
      snprintf(line, sizeof line, "%-17s %-16s %5.1f %11s %11s [%s .. %s]\n",
               ("backend " + g.backend).c_str(), f ? f->model.c_str() : "-", g.forecast_error,
               fmt(g.observed_ops).c_str(), fmt(g.predicted_ops).c_str(),
               f && !f->lower.empty() ? fmt(*std::min_element(f->lower.begin(), f->lower.end())).c_str() : "-",
               fmt(g.predicted_upper).c_str());
      out += line;
    }
    size_t segs = 0;
    for (const auto& s : p->forecasts->series) {
      segs += s.name.rfind("segment ", 0) == 0;
    }
    out += std::to_string(segs) + " segments forecast on their own; FORESHARD FORECAST segment N for one\n";
    return out;
  }
  const SeriesForecast* f = p->forecasts->find(want);
  if (f == nullptr) {
    return want + ": not forecast on its own (unknown, or below the load share of a separate "
                  "forecast: it is part of 'other')\n";
  }
  out = want + ": model " + f->model + (f->fallback ? " (fallback: " + f->fallback_reason + ")" : "") +
        ", step " + std::to_string(f->step_s) + " s, fit " + fmt(f->fit_ms) + " ms\n";
  out += "time (UTC)  actual ops/s\n";
  for (size_t i = 0; i < f->actuals.size(); ++i) {
    out += utc_clock(f->actuals_start_unix_s + i * f->step_s) + "    " + fmt(f->actuals[i]) + "\n";
  }
  out += "time (UTC)  forecast ops/s  [lower .. upper]\n";
  for (size_t i = 0; i < f->yhat.size(); ++i) {
    out += utc_clock(f->start_unix_s + i * f->step_s) + "    " + fmt(f->yhat[i]) + "  [" +
           fmt(f->lower[i]) + " .. " + fmt(f->upper[i]) + "]\n";
  }
  return out;
}

std::string Controller::admin(const std::vector<std::string>& args, bool* error) {
  if (args[0] == "PLAN") {
    *error = false;
    return balancer_.plan_report();
  }
  if (args[0] == "BALANCER") {
    return balancer_.admin(args, error);
  }
  return migrations_.admin(args, error);
}

void Controller::shutdown() {
  migrations_.shutdown();
  if (proxy::Status st = history_.save(history_path()); !st.is_ok()) {
    LOG_WARN("control", "cannot save the history: {}", st.message());
  }
  forecaster_.cancel();
  uv_timer_stop(&tick_);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
  uv_timer_stop(&moves_);
  uv_close(reinterpret_cast<uv_handle_t*>(&moves_), nullptr);
}

}  // namespace migrate
