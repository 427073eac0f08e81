// LiveBalancer implementation: planner input from live telemetry and
// forecasts, the plan report, and the hand-off of actions to Migrations.
#include "migrate/live_balancer.h"

#include <algorithm>
#include <cmath>

#include "migrate/clock_text.h"
#include "proxy/log.h"

namespace migrate {

namespace {

BalancerMode mode_from(const std::string& name) {
  BalancerMode m = BalancerMode::Predictive;
  parse_balancer_mode(name, m);
  return m;
}

// The forecast's mean over [t, t + step) at each profile point after the
// first (point 0 is now: the caller sets it to the measured load).
std::vector<double> profile_of(const SeriesForecast& f, uint64_t now, int64_t step, size_t points,
                               double now_value) {
  std::vector<double> p(points, now_value);
  if (f.yhat.empty() || f.step_s == 0) {
    return p;
  }
  for (size_t k = 1; k < points; ++k) {
    int64_t t = int64_t(now) + int64_t(k) * step;
    int64_t i = (t - int64_t(f.start_unix_s)) / int64_t(f.step_s);
    i = std::clamp<int64_t>(i, 0, int64_t(f.yhat.size()) - 1);
    p[k] = f.yhat[size_t(i)];
  }
  return p;
}

}  // namespace

LiveBalancer::LiveBalancer(proxy::ProxyContext& ctx, MapAuthority& auth, Migrations& migrations,
                           const SegmentSizes* sizes)
    : ctx_(ctx),
      auth_(auth),
      migrations_(migrations),
      sizes_(sizes),
      enabled_(ctx.config->balancer.enabled),
      mode_(mode_from(ctx.config->balancer.mode)) {}

BalancerParams LiveBalancer::params() const {
  const proxy::Config& cfg = *ctx_.config;
  BalancerParams p;
  p.mode = mode_.load();
  p.load_threshold = cfg.load_threshold;
  p.horizon_seconds = std::max<int64_t>(cfg.prediction_horizon_s / cfg.telemetry.time_scale, 1);
  p.step_seconds = std::max<int64_t>(cfg.telemetry.step_s, 1);
  p.plan_interval_seconds = cfg.balancer.interval_s;
  p.max_concurrent_migrations = 1;  // Migrations runs one move at a time
  p.rate.bytes_per_second = double(cfg.balancer.rate_bytes_per_s);
  p.rate.fixed_seconds = 2.0 * cfg.validation_interval_ms / 1000.0 + 1.0;
  // Damping on the real clock: the simulator's defaults (an hour's cooldown,
  // 12 h before a move back) in compressed time, but at least 3 and 10 plans
  // (a real migration can outlast an hour of compressed time).
  const int64_t scale = std::max<int64_t>(int64_t(cfg.telemetry.time_scale), 1);
  const int64_t interval = std::max<int64_t>(int64_t(cfg.balancer.interval_s), 1);
  p.cooldown_seconds = std::max<int64_t>(3600 / scale, 3 * interval);
  p.return_block_seconds = std::max<int64_t>(43200 / scale, 10 * interval);
  return p;
}

PlanInput LiveBalancer::input(const History& history, const ForecastSet* forecasts, uint64_t now,
                              int64_t step, int64_t horizon, const ErrorOf& error_of) const {
  const proxy::Config& cfg = *ctx_.config;
  PlanInput in;
  in.now = int64_t(now);
  auto map = auth_.current();
  // Only backends in the map take segments (a reload's new backend joins the
  // map once every worker has a link to it).
  for (size_t i = 0; i < std::min(cfg.backends.size(), map->backend_names().size()); ++i) {
    const proxy::BackendConfig& b = cfg.backends[i];
    in.backends.push_back({b.capacity, b.maxmemory > 0 ? double(b.maxmemory) : 1e18});
  }
  size_t points = size_t(horizon / std::max<int64_t>(step, 1)) + 1;
  // Forecasts run on the scaled clock (telemetry.timeScale); profiles on the real one.
  const uint64_t scale = cfg.telemetry.time_scale;
  const uint64_t fnow = now * scale;
  const int64_t fstep = step * int64_t(scale);
  const SeriesForecast* other = forecasts != nullptr ? forecasts->find("other") : nullptr;
  // Segments without a forecast of their own share the "other" profile, each
  // weighted by its share of the load that profile stands for now.
  std::vector<uint32_t> in_other;
  double other_now = 0;
  in.profiles.emplace_back();  // 0: "other", filled below
  // The series behind each profile ("" = a flat one), for profile_error.
  std::vector<std::string> series{"other"};
  for (uint32_t i = 0; i < map->size(); ++i) {
    const proxy::Segment& s = map->segment(i);
    SegmentInfo si;
    si.id = i;
    si.first = s.first;
    si.last = s.last;
    si.owner = s.owner;
    if (auto it = started_.find(s.first); it != started_.end()) {
      si.last_move_at = it->second.first;
      si.previous_owner = it->second.second;
    }
    // Bytes from the sampled estimate (SegmentSizes); before its first round,
    // or with balancer.sizeSamples 0, proportional to the slot count (64 KiB
    // a slot), so "fewest bytes for the load" prefers load-dense segments.
    if (sizes_ == nullptr || !sizes_->bytes(s.first, s.last, &si.bytes)) {
      si.bytes = double(s.last - s.first + 1) * 65536.0;
    }
    Series recent = history.recent_segment(s.first, s.last, 1);
    si.load_now = recent.values.empty() ? 0 : recent.values.back();
    const SeriesForecast* own =
        forecasts != nullptr ? forecasts->find("segment " + std::to_string(i)) : nullptr;
    if (own != nullptr) {
      si.profile = uint32_t(in.profiles.size());
      in.profiles.push_back(profile_of(*own, fnow, fstep, points, si.load_now));
      series.push_back(own->name);
    } else if (other != nullptr) {
      si.profile = 0;
      in_other.push_back(uint32_t(in.segments.size()));
      other_now += si.load_now;
    } else {  // no forecast yet: a flat profile at today's load
      si.profile = uint32_t(in.profiles.size());
      in.profiles.emplace_back(points, si.load_now);
      series.emplace_back();
    }
    in.segments.push_back(si);
  }
  in.profiles[0] = other != nullptr ? profile_of(*other, fnow, fstep, points, other_now)
                                    : std::vector<double>(points, 0.0);
  for (uint32_t k : in_other) {
    in.segments[k].weight = other_now > 0 ? in.segments[k].load_now / other_now : 0;
  }
  // Forecast trust (planner rule 9): a profile whose forecast has been wrong
  // lately counts less against the measured load.
  in.profile_error.assign(in.profiles.size(), 0.0);
  for (size_t p = 0; error_of && p < series.size(); ++p) {
    const double e = series[p].empty() ? std::nan("") : error_of(series[p]);
    in.profile_error[p] = std::isfinite(e) ? e / 100.0 : 0.0;
  }
  for (const Migrations::Flight& f : migrations_.in_flight()) {
    uint32_t i = map->segment_of_slot(f.first);
    in.in_flight.push_back({i, map->segment(i).owner, f.to});
  }
  return in;
}

namespace {

std::string trust_text(double t) {
  char b[16];
  snprintf(b, sizeof b, "%.2f", t);
  return b;
}

// "  largest: seg 3 12.4 MB, seg 0 8.1 MB, ..." (the sizes the plan used).
std::string largest_segments(const PlanInput& in, size_t n) {
  std::vector<const SegmentInfo*> v;
  for (const SegmentInfo& s : in.segments) {
    v.push_back(&s);
  }
  n = std::min(n, v.size());
  std::partial_sort(v.begin(), v.begin() + n, v.end(),
                    [](const SegmentInfo* a, const SegmentInfo* b) { return a->bytes > b->bytes; });
  std::string out = "  largest segments:";
  for (size_t i = 0; i < n; ++i) {
    char b[64];
    snprintf(b, sizeof b, "%s seg %u %.1f MB", i ? "," : "", v[i]->id, v[i]->bytes / 1e6);
    out += b;
  }
  return out + "\n";
}

}  // namespace

void LiveBalancer::run(const History& history, std::shared_ptr<const ForecastSet> forecasts,
                       uint64_t now, const ErrorOf& error_of) {
  BalancerParams p = params();
  if (p.mode == BalancerMode::Static) {
    std::lock_guard<std::mutex> lock(mu_);
    report_ = "balancer mode static: it never moves segments\n";
    return;
  }
  PlanInput in =
      input(history, forecasts.get(), now, p.step_seconds, p.horizon_seconds, error_of);
  Plan plan = migrate::plan(in, p);
  const auto& names = auth_.current()->backend_names();
  std::string text = "plan at " + utc_clock(now) + " UTC, mode " +
                     balancer_mode_name(p.mode) + ", " + (enabled_ ? "acting" : "off (plan only)") +
                     (forecasts ? "" : ", no forecast yet (flat profiles)") +
                     (sizes_ != nullptr && sizes_->rounds() > 0
                          ? ", segment bytes sampled (" + std::to_string(sizes_->rounds()) + " rounds)"
                          : ", segment bytes assumed from slot counts") +
                     (p.mode == BalancerMode::Reactive ? ""
                                                       : ", forecast trust " + trust_text(plan.trust)) +
                     ": " + std::to_string(plan.actions.size()) + " action(s)\n";
  for (const Action& a : plan.actions) {
    text += std::string("  ") + action_kind_name(a.kind) + " segment " + std::to_string(a.segment);
    if (a.kind == ActionKind::Move) {
      text += " " + names.at(a.from) + " -> " + names.at(a.to);
    }
    text += ": " + a.reason + "\n";
  }
  for (const std::string& n : plan.notes) {
    text += "  note: " + n + "\n";
  }
  text += largest_segments(in, 5);
  if (enabled_ && !plan.actions.empty()) {
    text += act(plan, now);
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++plans_;
  report_ = text;
}

std::string LiveBalancer::act(const Plan& plan, uint64_t now) {
  if (migrations_.recovering()) {
    return "  did nothing: journalled cleanups are still running\n";
  }
  const auto& names = auth_.current()->backend_names();
  std::string done;
  for (const Action& a : plan.actions) {
    std::vector<std::string> args;
    switch (a.kind) {
      case ActionKind::Move:
        args = {"MIGRATE", std::to_string(a.segment), names.at(a.to)};
        break;
      case ActionKind::Split:
        args = {"SPLIT", std::to_string(a.segment), std::to_string(a.at_slot)};
        break;
      case ActionKind::Merge:
        args = {"MERGE", std::to_string(a.segment), std::to_string(a.other)};
        break;
    }
    bool error = false;
    std::string reply = migrations_.admin(args, &error);
    done += "  did " + args[0] + " " + args[1] + ": " + reply + "\n";
    LOG_INFO("balancer", "{} {}: {} ({})", action_kind_name(a.kind), a.segment, reply, a.reason);
    if (error) {
      break;
    }
    if (a.kind == ActionKind::Move) {
      started_[auth_.current()->segment(a.segment).first] = {int64_t(now), int32_t(a.from)};
    }
    std::lock_guard<std::mutex> lock(mu_);
    (a.kind == ActionKind::Move ? moves_ : a.kind == ActionKind::Split ? splits_ : merges_)++;
    if (a.kind != ActionKind::Move) {
      break;  // segment indexes changed: the next plan sees the new map
    }
  }
  return done;
}

std::string LiveBalancer::plan_report() const {
  std::lock_guard<std::mutex> lock(mu_);
  return report_;
}

std::vector<std::pair<std::string, uint64_t>> LiveBalancer::decisions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {{"move", moves_}, {"split", splits_}, {"merge", merges_}};
}

std::string LiveBalancer::admin(const std::vector<std::string>& args, bool* error) {
  *error = false;
  if (args.size() == 1) {
    return std::string("balancer ") + (enabled_ ? "on" : "off") + ", mode " +
           balancer_mode_name(mode_.load());
  }
  std::string v = args[1];
  std::transform(v.begin(), v.end(), v.begin(), ::tolower);
  BalancerMode m;
  if (v == "on" || v == "off") {
    enabled_.store(v == "on");
  } else if (v != "oracle" && parse_balancer_mode(v, m)) {
    mode_.store(m);
  } else {
    *error = true;
    return "ERR usage: FORESHARD BALANCER [on|off|static|reactive|predictive]";
  }
  LOG_INFO("balancer", "set {} by FORESHARD BALANCER", v);
  return "OK balancer " + std::string(enabled_ ? "on" : "off") + ", mode " +
         balancer_mode_name(mode_.load());
}

void LiveBalancer::reconfigured(const proxy::Config& before, const proxy::Config& after) {
  if (before.balancer.enabled != after.balancer.enabled) {
    enabled_.store(after.balancer.enabled);
  }
  if (before.balancer.mode != after.balancer.mode) {
    mode_.store(mode_from(after.balancer.mode));
  }
}

}  // namespace migrate
