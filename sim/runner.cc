// The simulation loop. Segment load = weight x group trace(t) (+ flash crowd),
// so per-backend per-group weight sums, updated on every move, give backend
// load in O(backends x groups) per window; segments are touched only when the
// planner runs (once per plan interval).
#include "sim/runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <unordered_map>

namespace sim {
namespace {

struct Migration {
  uint32_t id;
  uint16_t from, to;
  double bytes;
  int64_t end;
};

// A deterministic N(0,1) per (group, hour, seed).
double noise_z(uint64_t seed, uint64_t g, uint64_t hour) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL ^ (g + 1) * 0xBF58476D1CE4E5B9ULL ^
               (hour + 7) * 0x94D049BB133111EBULL;
  auto next = [&x]() {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return (static_cast<double>(x >> 11) + 0.5) / 9007199254740992.0;
  };
  const double u1 = next(), u2 = next();
  return std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

class Fleet {
 public:
  Fleet(const Workload& w, const GroupForecasts& f, const RunOptions& o)
      : w_(w), f_(f), o_(o), nb_(w.capacities().size()), ng_(w.groups()) {
    const auto& specs = w.segments();
    double total_bytes = 0, cap_total = 0;
    for (double c : w.capacities()) {
      cap_total += c;
    }
    weights_.assign(nb_ * ng_, 0.0);
    flash_share_.assign(nb_, 0.0);
    bytes_.assign(nb_, 0.0);
    for (size_t i = 0; i < specs.size(); ++i) {
      migrate::SegmentInfo s;
      s.id = static_cast<uint32_t>(i);
      s.first = specs[i].first;
      s.last = specs[i].last;
      s.owner = w.initial_owners()[i];
      s.bytes = specs[i].bytes;
      s.profile = specs[i].group;
      s.weight = specs[i].weight;
      in_.segments.push_back(s);
      flash_.push_back(w.is_flash(i) ? 1.0 : 0.0);
      add(in_.segments.back(), flash_.back(), +1);
      total_bytes += s.bytes;
    }
    next_id_ = static_cast<uint32_t>(specs.size());
    for (size_t b = 0; b < nb_; ++b) {
      mem_limit_.push_back(o.memory_factor * total_bytes * w.capacities()[b] / cap_total);
    }
    reindex();
  }

  RunResult run() {
    RunResult r;
    r.label = o_.label;
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t end = w_.duration(), win = o_.window_seconds;
    const int64_t plan_every = std::max<int64_t>(win, o_.params.plan_interval_seconds);
    const auto& cap = w_.capacities();
    double cap_total = 0;
    for (double c : cap) {
      cap_total += c;
    }
    std::vector<float> ratio, aggregate;  // per window
    r.backend_util.assign(nb_, {});
    std::vector<float> util_max(nb_, 0.0f);
    std::vector<double> vg(ng_);
    double lat_sum = 0;
    uint64_t lat_n = 0;
    const int64_t begin = -static_cast<int64_t>(w_.scenario().settle_days) * 86400;
    for (int64_t t = begin; t < end; t += win) {
      const double td = static_cast<double>(t);
      finish_migrations(t);
      for (size_t g = 0; g < ng_; ++g) {
        vg[g] = w_.group_at(g, td);
      }
      if (t % plan_every == 0 && o_.params.mode != migrate::BalancerMode::Static) {
        plan_and_act(t, vg, r);
      }
      if (t < 0) {
        continue;  // settling: the balancer acts, nothing is counted
      }
      const double flash = w_.flash_at(w_.flash_segments().front(), td);
      double agg = 0, umax = 0, usum = 0;
      bool any = false;
      for (size_t b = 0; b < nb_; ++b) {
        double load = flash_share_[b] * flash;
        for (size_t g = 0; g < ng_; ++g) {
          load += weights_[b * ng_ + g] * vg[g];
        }
        agg += load;  // clients' load only: the peak's time is the same in every mode
        load += migs_on_[b] * o_.migration_load * w_.scenario().base_capacity;
        const double u = load / cap[b];
        umax = std::max(umax, u);
        usum += u;
        util_max[b] = std::max(util_max[b], static_cast<float>(u));
        lat_sum += 1.0 / (1.0 - std::min(u, 0.99));
        ++lat_n;
        if (u > 1.0) {
          ++r.overloaded;
          any = true;
          if (t >= w_.flash_start() && t < w_.flash_end() + 1800) {
            ++r.flash_overloaded;
          }
        }
      }
      r.windows_any += any ? 1 : 0;
      ratio.push_back(static_cast<float>(umax / (usum / static_cast<double>(nb_))));
      aggregate.push_back(static_cast<float>(agg));
      if ((t + win) % Workload::kTraceStep == 0) {
        for (size_t b = 0; b < nb_; ++b) {
          r.backend_util[b].push_back(util_max[b]);
          util_max[b] = 0;
        }
        r.cum_overloaded.push_back(static_cast<float>(r.overloaded));
        r.cum_bytes.push_back(static_cast<float>(r.bytes_moved));
      }
      if (o_.progress && (t + win) % 86400 == 0) {
        std::fprintf(stderr, "  %-22s day %2lld/%d: overloaded %llu, moves %llu, %.1f GB moved\n",
                     o_.label.c_str(), static_cast<long long>((t + win) / 86400),
                     w_.scenario().days, static_cast<unsigned long long>(r.overloaded),
                     static_cast<unsigned long long>(r.moves), r.bytes_moved / 1e9);
      }
    }
    const size_t top = static_cast<size_t>(std::max_element(aggregate.begin(), aggregate.end()) -
                                           aggregate.begin());
    r.peak_ratio = ratio[top];
    r.mean_profile_error = err_n_ ? err_sum_ / static_cast<double>(err_n_) : 0;
    std::vector<float> busy;
    for (size_t i = 0; i < ratio.size(); ++i) {
      if (aggregate[i] >= 0.9f * aggregate[top]) {
        busy.push_back(ratio[i]);
      }
    }
    std::nth_element(busy.begin(), busy.begin() + busy.size() * 99 / 100, busy.end());
    r.busy_ratio_p99 = busy[busy.size() * 99 / 100];
    r.mean_latency = lat_n ? lat_sum / static_cast<double>(lat_n) : 0;
    r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }

 private:
  void add(const migrate::SegmentInfo& s, double flash, int sign) {
    weights_[s.owner * ng_ + s.profile] += sign * s.weight;
    flash_share_[s.owner] += sign * flash;
    bytes_[s.owner] += sign * s.bytes;
  }
  void reindex() {
    index_.clear();
    for (size_t i = 0; i < in_.segments.size(); ++i) {
      index_[in_.segments[i].id] = i;
    }
  }

  void finish_migrations(int64_t t) {
    for (size_t j = 0; j < migs_.size();) {
      if (migs_[j].end > t) {
        ++j;
        continue;
      }
      const Migration m = migs_[j];
      migs_.erase(migs_.begin() + static_cast<long>(j));
      --migs_on_[m.from];
      --migs_on_[m.to];
      const size_t i = index_.at(m.id);
      add(in_.segments[i], flash_[i], -1);
      in_.segments[i].owner = m.to;
      add(in_.segments[i], flash_[i], +1);
    }
  }

  // Group g's forecast as the planner sees it at time t, k 5-minute points
  // ahead: the forecast made at the last 5-minute point, interpolated, times
  // the noise of t's hour (oracle: the true load).
  double forecast(size_t g, int64_t t, int k) const {
    if (o_.params.mode == migrate::BalancerMode::Oracle) {
      return w_.group_at(g, static_cast<double>(t + k * Workload::kTraceStep));
    }
    // Floor division: t may be negative while settling.
    const int64_t p = (t >= 0 ? t : t - Workload::kTraceStep + 1) / Workload::kTraceStep;
    const double frac = static_cast<double>(t - p * Workload::kTraceStep) / Workload::kTraceStep;
    const float* row = f_.at(g, p);
    const double scale =
        o_.noise > 0
            ? std::max(0.05, 1 + o_.noise * noise_z(w_.scenario().seed, g,
                                                    static_cast<uint64_t>(t / 3600 + 1000)))
            : 1.0;
    return scale * (row[k] * (1 - frac) + row[k + 1] * frac);
  }

  void fill_profiles(int64_t t) {
    const int h = f_.horizon_points();
    in_.profiles.assign(ng_, std::vector<double>(static_cast<size_t>(h), 0.0));
    for (size_t g = 0; g < ng_; ++g) {
      for (int k = 0; k < h; ++k) {
        in_.profiles[g][k] = forecast(g, t, k);
      }
    }
  }

  // RunOptions::error_lead_seconds: how wrong the forecasts made a lead ago
  // turned out to be, per group (the planner's profile_error).
  void measure_error(int64_t t, const std::vector<double>& vg, int64_t plan_every) {
    const int lead = static_cast<int>(std::clamp<int64_t>(
        o_.error_lead_seconds / Workload::kTraceStep, 1, f_.horizon_points() - 1));
    const int64_t made = t - lead * Workload::kTraceStep;
    const int64_t first = -static_cast<int64_t>(w_.scenario().settle_days) * 86400;
    if (made < first) {
      return;
    }
    const double a =
        1 - std::exp(-std::log(2.0) * static_cast<double>(plan_every) /
                     static_cast<double>(std::max<int64_t>(1, o_.error_halflife_seconds)));
    err_abs_.resize(ng_, 0.0);
    err_act_.resize(ng_, 0.0);
    in_.profile_error.assign(ng_, 0.0);
    for (size_t g = 0; g < ng_; ++g) {
      err_abs_[g] += a * (std::abs(forecast(g, made, lead) - vg[g]) - err_abs_[g]);
      err_act_[g] += a * (vg[g] - err_act_[g]);
      in_.profile_error[g] = err_act_[g] > 0 ? err_abs_[g] / err_act_[g] : 0;
      if (t >= 0) {
        err_sum_ += in_.profile_error[g];
        ++err_n_;
      }
    }
  }

  void plan_and_act(int64_t t, const std::vector<double>& vg, RunResult& r) {
    const double flash = w_.flash_at(w_.flash_segments().front(), static_cast<double>(t));
    for (size_t i = 0; i < in_.segments.size(); ++i) {
      auto& s = in_.segments[i];
      s.load_now = s.weight * vg[s.profile] + flash_[i] * flash;
    }
    in_.now = t;
    in_.backends.resize(nb_);
    std::vector<double> incoming(nb_, 0.0);
    in_.in_flight.clear();
    for (const Migration& m : migs_) {
      incoming[m.to] += m.bytes;
      in_.in_flight.push_back({m.id, m.from, m.to});
    }
    for (size_t b = 0; b < nb_; ++b) {
      in_.backends[b].capacity = w_.capacities()[b];
      in_.backends[b].memory_room = mem_limit_[b] - bytes_[b] - incoming[b];
    }
    if (o_.params.mode != migrate::BalancerMode::Reactive) {
      fill_profiles(t);
      measure_error(t, vg, std::max<int64_t>(o_.window_seconds, o_.params.plan_interval_seconds));
    }
    const migrate::Plan plan = migrate::plan(in_, o_.params);
    for (const std::string& n : plan.notes) {
      r.waits += n.find("waits") != std::string::npos ? 1 : 0;
      r.no_fit += n.find("no segment fits") != std::string::npos ? 1 : 0;
    }
    bool reshaped = false;
    for (const migrate::Action& a : plan.actions) {
      if (t >= 0 && r.first_reasons.size() < 12) {
        r.first_reasons.push_back("t=" + std::to_string(t) + "s " +
                                  migrate::action_kind_name(a.kind) + ": " + a.reason);
      }
      auto it = index_.find(a.segment);
      if (it == index_.end()) {
        continue;
      }
      const size_t i = it->second;
      if (a.kind == migrate::ActionKind::Move) {
        const double bytes = in_.segments[i].bytes;
        const int64_t dur = static_cast<int64_t>(std::ceil(o_.params.rate.duration(bytes)));
        migs_.push_back({a.segment, a.from, a.to, bytes, t + dur});
        auto& s = in_.segments[i];
        if (t >= 0 && s.previous_owner == a.to && t - s.last_move_at < 86400) {
          ++r.ping_pongs;
        }
        s.previous_owner = a.from;
        s.last_move_at = t;
        ++migs_on_[a.from];
        ++migs_on_[a.to];
        ++r.moves;
        r.bytes_moved += bytes;
      } else if (a.kind == migrate::ActionKind::Split) {
        split(i, a.at_slot);
        ++r.splits;
        reshaped = true;
      } else {
        merge(i);
        ++r.merges;
        reshaped = true;
      }
      if (reshaped) {
        reindex();
        reshaped = false;
      }
    }
  }

  // Halves by slot count; load and bytes follow the slots (uniform in a segment).
  void split(size_t i, uint32_t at) {
    migrate::SegmentInfo lo = in_.segments[i];
    if (at <= lo.first || at > lo.last) {
      return;
    }
    add(lo, flash_[i], -1);
    migrate::SegmentInfo hi = lo;
    const double share = static_cast<double>(at - lo.first) / (lo.last - lo.first + 1);
    lo.last = at - 1;
    hi.first = at;
    hi.id = next_id_++;
    hi.weight = lo.weight * (1 - share);
    hi.bytes = lo.bytes * (1 - share);
    lo.weight *= share;
    lo.bytes *= share;
    const double fl = flash_[i];
    in_.segments[i] = lo;
    in_.segments.insert(in_.segments.begin() + static_cast<long>(i) + 1, hi);
    flash_[i] = fl * share;
    flash_.insert(flash_.begin() + static_cast<long>(i) + 1, fl * (1 - share));
    add(in_.segments[i], flash_[i], +1);
    add(in_.segments[i + 1], flash_[i + 1], +1);
  }

  void merge(size_t i) {
    if (i + 1 >= in_.segments.size()) {
      return;
    }
    auto& a = in_.segments[i];
    const auto& b = in_.segments[i + 1];
    if (a.owner != b.owner || a.profile != b.profile || a.last + 1 != b.first) {
      return;  // the simulator keeps one group per segment
    }
    a.last = b.last;
    a.weight += b.weight;
    a.bytes += b.bytes;
    flash_[i] += flash_[i + 1];
    in_.segments.erase(in_.segments.begin() + static_cast<long>(i) + 1);
    flash_.erase(flash_.begin() + static_cast<long>(i) + 1);
  }

  const Workload& w_;
  const GroupForecasts& f_;
  const RunOptions& o_;
  const size_t nb_, ng_;
  migrate::PlanInput in_;                  // the planner's view, kept in slot order
  std::vector<double> flash_;              // per segment: share of one flash segment's load
  std::vector<double> weights_;            // [backend x group] sum of weights
  std::vector<double> flash_share_;        // per backend: sum of flash_
  std::vector<double> bytes_, mem_limit_;  // per backend
  std::vector<int> migs_on_ = std::vector<int>(nb_, 0);
  std::vector<Migration> migs_;
  std::unordered_map<uint32_t, size_t> index_;  // segment id -> position
  uint32_t next_id_ = 0;
  std::vector<double> err_abs_, err_act_;  // per group (measure_error)
  double err_sum_ = 0;
  uint64_t err_n_ = 0;
};

}  // namespace

RunResult run(const Workload& w, const GroupForecasts& f, const RunOptions& o) {
  return Fleet(w, f, o).run();
}

}  // namespace sim
