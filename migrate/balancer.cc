// The planner of balancer.h. Backend load is kept factorised (per-backend sums
// of profile weights and of surprise) so a call costs O(segments + backends x
// profiles x horizon), not segments x horizon: the simulator calls it every
// minute over 16k segments. The rules are listed in docs/BALANCER.md.
#include "migrate/balancer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

namespace migrate {

const char* balancer_mode_name(BalancerMode m) {
  switch (m) {
    case BalancerMode::Static:
      return "static";
    case BalancerMode::Reactive:
      return "reactive";
    case BalancerMode::Predictive:
      return "predictive";
    case BalancerMode::Oracle:
      return "oracle";
  }
  return "?";
}

bool parse_balancer_mode(const std::string& name, BalancerMode& out) {
  for (BalancerMode m : {BalancerMode::Static, BalancerMode::Reactive, BalancerMode::Predictive,
                         BalancerMode::Oracle}) {
    if (name == balancer_mode_name(m)) {
      out = m;
      return true;
    }
  }
  return false;
}

const char* action_kind_name(ActionKind k) {
  switch (k) {
    case ActionKind::Move:
      return "move";
    case ActionKind::Split:
      return "split";
    case ActionKind::Merge:
      return "merge";
  }
  return "?";
}

namespace {

std::string fmt(const char* f, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, f, args...);
  return buf;
}

// "+45m", "+2h05m", "now": a time relative to the plan's now.
std::string rel(int64_t t, int64_t now) {
  const int64_t d = t - now;
  if (d <= 0) {
    return d == 0 ? "now" : fmt("%llds ago", static_cast<long long>(-d));
  }
  if (d < 3600) {
    return fmt("+%lldm%02llds", static_cast<long long>(d / 60), static_cast<long long>(d % 60));
  }
  return fmt("+%lldh%02lldm", static_cast<long long>(d / 3600),
             static_cast<long long>(d % 3600 / 60));
}

std::string bytes_text(double b) {
  if (b >= 1e9) {
    return fmt("%.2f GB", b / 1e9);
  }
  if (b >= 1e6) {
    return fmt("%.1f MB", b / 1e6);
  }
  return fmt("%.0f kB", b / 1e3);
}

// Everything one call works on; methods read as the rules.
class Planner {
 public:
  Planner(const PlanInput& in, const BalancerParams& p) : in_(in), p_(p) {}

  Plan run() {
    if (p_.mode == BalancerMode::Static || in_.backends.empty()) {
      return std::move(out_);
    }
    setup();
    budget_ = p_.max_concurrent_migrations - static_cast<int>(in_.in_flight.size());
    // Urgent first: moves that must start before the next plan. Then, while
    // migration slots would otherwise idle, the deferred ones, soonest first
    // (a throughput-bound fleet cannot afford to wait for the last moment).
    std::vector<uint16_t> deferred;
    for (uint16_t b : hot_backends()) {
      if (!relieve(b, false)) {
        deferred.push_back(b);
      }
    }
    for (uint16_t b : deferred) {
      if (p_.early_start_seconds <= 0 || budget_ <= 0 || actions_full()) {
        break;
      }
      relieve(b, true);
    }
    level();
    merge_cold();
    return std::move(out_);
  }

 private:
  bool reactive() const { return p_.mode == BalancerMode::Reactive; }
  double limit(size_t b) const { return p_.load_threshold * in_.backends[b].capacity; }
  double relief_limit(size_t b) const { return (1 - p_.relief_margin) * limit(b); }
  int64_t time_at(int k) const { return in_.now + static_cast<int64_t>(k) * p_.step_seconds; }
  bool actions_full() const {
    return static_cast<int>(out_.actions.size()) >= p_.max_actions_per_plan;
  }

  // Predicted load of segment i at point k (balancer.h: weight x profile +
  // the surprise; reactive: load_now throughout).
  double seg_at(size_t i, int k) const {
    const SegmentInfo& s = in_.segments[i];
    if (reactive()) {
      return s.load_now;
    }
    const double t = trust_[s.profile];
    return (1 - t) * s.load_now + t * (s.weight * in_.profiles[s.profile][k] + surprise_[i]);
  }
  // Moved too recently to move again (rule: damping).
  bool cooling(size_t i) const {
    const SegmentInfo& s = in_.segments[i];
    return s.last_move_at != SegmentInfo::kNever && p_.cooldown_seconds > 0 &&
           in_.now - s.last_move_at < p_.cooldown_seconds;
  }
  // Moving segment i from src to d would send it back where it just came from
  // while src is not over capacity now (rule: damping).
  bool returns(size_t i, uint16_t src, size_t d) const {
    const SegmentInfo& s = in_.segments[i];
    return s.previous_owner == static_cast<int32_t>(d) && s.last_move_at != SegmentInfo::kNever &&
           in_.now - s.last_move_at < p_.return_block_seconds &&
           now_load_[src] <= in_.backends[src].capacity;
  }
  double seg_peak(size_t i) const {
    double m = 0;
    for (int k = 0; k < h_; ++k) {
      m = std::max(m, seg_at(i, k));
    }
    return m;
  }

  void setup() {
    const size_t nb = in_.backends.size();
    const size_t np = in_.profiles.size();
    h_ = 1;
    now_load_.assign(nb, 0.0);
    trust_.assign(std::max<size_t>(np, 1), 1.0);
    for (size_t q = 0; q < np && q < in_.profile_error.size(); ++q) {
      const double lo = p_.trust_error_low, hi = p_.trust_error_high, e = in_.profile_error[q];
      trust_[q] = e <= lo ? 1.0 : e >= hi ? 0.0 : (hi - e) / std::max(1e-12, hi - lo);
    }
    if (!reactive()) {
      const int64_t step = std::max<int64_t>(1, p_.step_seconds);
      h_ = static_cast<int>(std::max<int64_t>(0, p_.horizon_seconds) / step) + 1;
      for (const auto& prof : in_.profiles) {
        h_ = std::min(h_, static_cast<int>(prof.size()));
      }
      if (np == 0 || h_ < 1) {
        out_.notes.push_back("no forecast profiles: nothing predicted");
        valid_.assign(in_.segments.size(), 0);
        h_ = 1;
        return;
      }
    }
    for (const InFlight& f : in_.in_flight) {
      moving_[f.segment] = f.to;
    }
    // Factorised backend load: L[b][k] = sum_p W[b][p] x P[p][k] + R[b].
    std::vector<double> w(nb * std::max<size_t>(np, 1), 0.0), r(nb, 0.0);
    owner_.resize(in_.segments.size());
    valid_.assign(in_.segments.size(), 0);
    surprise_.assign(in_.segments.size(), 0.0);
    bucket_.assign(nb, {});
    size_t ignored = 0;
    double trust_sum = 0, load_sum = 0;
    for (size_t i = 0; i < in_.segments.size(); ++i) {
      const SegmentInfo& s = in_.segments[i];
      auto it = moving_.find(s.id);
      const uint16_t o = it != moving_.end() ? it->second : s.owner;
      if (o >= nb || (!reactive() && s.profile >= np)) {
        ++ignored;
        continue;
      }
      valid_[i] = 1;
      owner_[i] = o;
      bucket_[o].push_back(i);
      now_load_[o] += s.load_now;
      trust_sum += (reactive() ? 0.0 : trust_[s.profile]) * s.load_now;
      load_sum += s.load_now;
      if (reactive()) {
        r[o] += s.load_now;
      } else {
        // Blended by trust (seg_at): still one weight sum per profile.
        const double t = trust_[s.profile];
        surprise_[i] = std::max(0.0, s.load_now - s.weight * in_.profiles[s.profile][0]);
        w[o * np + s.profile] += t * s.weight;
        r[o] += (1 - t) * s.load_now + t * surprise_[i];
      }
    }
    trust_mean_ = load_sum > 0 ? trust_sum / load_sum : 1.0;
    out_.trust = trust_mean_;
    if (ignored > 0) {
      out_.notes.push_back(fmt("%zu segments ignored: owner or profile out of range", ignored));
    }
    load_.assign(nb, std::vector<double>(h_, 0.0));
    for (size_t b = 0; b < nb; ++b) {
      for (int k = 0; k < h_; ++k) {
        double v = r[b];
        for (size_t q = 0; !reactive() && q < np; ++q) {
          v += w[b * np + q] * in_.profiles[q][k];
        }
        load_[b][k] = v;
      }
    }
    reserved_.assign(nb, 0.0);
  }

  // First point over the threshold, or -1.
  int first_hot(size_t b) const {
    for (int k = 0; k < h_; ++k) {
      if (load_[b][k] > limit(b)) {
        return k;
      }
    }
    return -1;
  }
  // Largest load - lim over the horizon (lim: limit or relief_limit).
  double worst_excess(size_t b, int* at, double lim) const {
    double e = -1e300;
    for (int k = 0; k < h_; ++k) {
      if (load_[b][k] - lim > e) {
        e = load_[b][k] - lim;
        *at = k;
      }
    }
    return e;
  }

  // Hot backends, soonest overload first (then the largest excess, then index).
  std::vector<uint16_t> hot_backends() const {
    struct Hot {
      int k;
      double excess;
      uint16_t b;
    };
    std::vector<Hot> hot;
    for (size_t b = 0; b < in_.backends.size(); ++b) {
      const int k = in_.backends[b].capacity > 0 ? first_hot(b) : -1;
      if (k >= 0) {
        int at = 0;
        hot.push_back({k, worst_excess(b, &at, limit(b)) / in_.backends[b].capacity,
                       static_cast<uint16_t>(b)});
      }
    }
    std::sort(hot.begin(), hot.end(), [](const Hot& a, const Hot& b) {
      if (a.k != b.k) {
        return a.k < b.k;
      }
      if (a.excess != b.excess) {
        return a.excess > b.excess;
      }
      return a.b < b.b;
    });
    std::vector<uint16_t> ids;
    for (const Hot& h : hot) {
      ids.push_back(h.b);
    }
    return ids;
  }

  // Lowest predicted peak utilisation with segment i added that stays under
  // the threshold and has memory room; -1 if none. *peak = that peak (ops/s).
  // While the move runs (points before now + its duration) the destination
  // also carries migration_load.
  int destination(size_t i, uint16_t src, double* peak) const {
    int best = -1;
    double best_u = 0;
    const double bytes = in_.segments[i].bytes;
    const double busy_until = static_cast<double>(in_.now) + p_.rate.duration(bytes);
    for (size_t d = 0; d < in_.backends.size(); ++d) {
      const BackendInfo& bi = in_.backends[d];
      if (d == src || bi.capacity <= 0 || bi.memory_room - reserved_[d] < bytes ||
          returns(i, src, d)) {
        continue;
      }
      double pk = 0;
      bool fits = true;
      for (int k = 0; k < h_ && fits; ++k) {
        const double v = load_[d][k] + seg_at(i, k);
        pk = std::max(pk, v);
        const double extra = static_cast<double>(time_at(k)) < busy_until ? p_.migration_load : 0;
        fits = v + extra <= limit(d);
      }
      if (!fits) {
        continue;
      }
      const double u = pk / bi.capacity;
      if (best < 0 || u < best_u) {
        best = static_cast<int>(d);
        best_u = u;
        *peak = pk;
      }
    }
    return best;
  }

  void shift(size_t i, uint16_t from, uint16_t to) {
    for (int k = 0; k < h_; ++k) {
      const double v = seg_at(i, k);
      load_[from][k] -= v;
      load_[to][k] += v;
    }
  }

  // Picks segments off hot backend b until its predicted load is under the
  // threshold at every point: a segment whose relief alone covers the excess
  // with the fewest bytes, else the best bytes-per-relief one. Emits the moves
  // only if the last of them must start before the next plan.
  // Returns false when the moves were deferred (and nothing was changed).
  bool relieve(uint16_t b, bool early) {
    const int k_hot = first_hot(b);
    if (k_hot < 0 || actions_full()) {
      return true;
    }
    int worst = 0;
    if (k_hot > 0 &&
        worst_excess(b, &worst, limit(b)) < p_.min_predicted_excess * p_.migration_load) {
      return true;  // a move would load b more, while it runs, than it would relieve
    }
    const int64_t peak_at = time_at(k_hot);
    const double before = load_[b][k_hot];
    std::vector<size_t> cand;
    for (size_t i : bucket_[b]) {
      if (!moving_.count(in_.segments[i].id) && !used_.count(i) && !cooling(i)) {
        cand.push_back(i);
      }
    }
    const auto saved_load = load_;
    const auto saved_reserved = reserved_;
    std::vector<Action> moves, splits;
    std::vector<size_t> moved;  // segment index per move
    double total_duration = 0;
    int at = 0;
    for (double excess = worst_excess(b, &at, relief_limit(b)); excess > 0 && !cand.empty();
         excess = worst_excess(b, &at, relief_limit(b))) {
      const size_t pick = choose(cand, at, excess);
      cand.erase(std::find(cand.begin(), cand.end(), pick));
      const SegmentInfo& s = in_.segments[pick];
      const double relief = seg_at(pick, at);
      if (relief <= 0) {
        continue;
      }
      double dpeak = 0;
      const int d = destination(pick, b, &dpeak);
      const double own = seg_peak(pick);
      const bool too_hot = own > p_.split_share * limit(b);
      if ((too_hot || d < 0) && s.last > s.first) {
        splits.push_back(split_action(pick, b, own, too_hot));
        continue;
      }
      if (d < 0) {
        continue;
      }
      Action a;
      a.kind = ActionKind::Move;
      a.segment = s.id;
      a.from = b;
      a.to = static_cast<uint16_t>(d);
      a.peak_at = peak_at;
      a.duration = p_.rate.duration(s.bytes);
      total_duration += a.duration;
      // Moves off one backend run one after another in the worst case, so the
      // n-th must start the sum of the first n durations before the peak.
      a.start_by = peak_at - static_cast<int64_t>(std::ceil(total_duration));
      a.reason =
          fmt("b%u predicted %.0f ops/s (%.0f%% of capacity, threshold %.0f%%) %s; seg %u relieves "
              "%.0f ops/s there for %s (fewest bytes for the load); b%d has the lowest predicted "
              "peak with it, %.0f%% of capacity; takes ~%.0fs, %s",
              b, before, 100 * before / in_.backends[b].capacity, 100 * p_.load_threshold,
              k_hot == 0 ? "now" : ("at " + rel(peak_at, in_.now)).c_str(), s.id, relief,
              bytes_text(s.bytes).c_str(), d, 100 * dpeak / in_.backends[d].capacity, a.duration,
              (a.start_by <= in_.now ? std::string("start now")
                                     : "must start by " + rel(a.start_by, in_.now))
                  .c_str());
      shift(pick, b, a.to);
      reserved_[a.to] += s.bytes;
      moves.push_back(std::move(a));
      moved.push_back(pick);
    }
    // Deferred: the whole set can still start after the next plan.
    const int64_t wait = early ? p_.early_start_seconds : p_.plan_interval_seconds;
    if (!moves.empty() && moves.back().start_by > in_.now + wait) {
      load_ = saved_load;
      reserved_ = saved_reserved;
      return false;
    }
    // Splits are metadata only (same owner): no migration slot needed.
    for (Action& a : splits) {
      if (!actions_full()) {
        out_.actions.push_back(std::move(a));
      }
    }
    if (worst_excess(b, &at, limit(b)) > 0 && moves.empty() && splits.empty()) {
      out_.notes.push_back(fmt("b%u hot %s: no segment fits a destination under the threshold", b,
                               rel(peak_at, in_.now).c_str()));
    }
    for (size_t j = 0; j < moves.size(); ++j) {
      if (budget_ <= 0 || actions_full()) {
        // Undo what could not start (its load stays on b for later plans).
        for (size_t u = j; u < moves.size(); ++u) {
          shift(moved[u], moves[u].to, b);
          reserved_[moves[u].to] -= in_.segments[moved[u]].bytes;
          if (!early) {
            out_.notes.push_back(fmt("seg %u off b%u waits: %d migrations at once",
                                     moves[u].segment, b, p_.max_concurrent_migrations));
          }
        }
        break;
      }
      --budget_;
      used_.insert(moved[j]);
      if (early) {
        moves[j].reason += " (early: a migration slot is free)";
      }
      out_.actions.push_back(std::move(moves[j]));
    }
    return true;
  }

  // The candidate to take next: among those relieving at least `excess` at
  // point k, the fewest bytes; otherwise the best bytes per relief.
  size_t choose(const std::vector<size_t>& cand, int k, double excess) const {
    size_t cover = SIZE_MAX, ratio = SIZE_MAX;
    double cover_bytes = 0, best_ratio = 0;
    for (size_t i : cand) {
      const double rel_load = seg_at(i, k);
      const double bytes = std::max(1.0, in_.segments[i].bytes);
      if (rel_load >= excess && (cover == SIZE_MAX || bytes < cover_bytes)) {
        cover = i;
        cover_bytes = bytes;
      }
      const double r = rel_load > 0 ? bytes / rel_load : 1e300;
      if (ratio == SIZE_MAX || r < best_ratio) {
        ratio = i;
        best_ratio = r;
      }
    }
    return cover != SIZE_MAX ? cover : ratio;
  }

  // Levelling: one move per plan from the most to the least loaded backend
  // at the predicted aggregate peak of the horizon, while the spread there
  // exceeds max_mean_target (see BalancerParams). Predictive and oracle only:
  // reactive has no predicted peak.
  void level() {
    if (p_.max_mean_target <= 0 || reactive() || budget_ < 2 || actions_full() ||
        trust_mean_ < 0.5) {
      return;
    }
    const size_t nb = in_.backends.size();
    int ks = 0;
    double best_agg = -1;
    for (int k = 0; k < h_; ++k) {
      double agg = 0;
      for (size_t b = 0; b < nb; ++b) {
        agg += load_[b][k];
      }
      if (agg > best_agg) {
        best_agg = agg;
        ks = k;
      }
    }
    double mean = 0, umax = -1;
    size_t n = 0;
    uint16_t top = 0;
    for (size_t b = 0; b < nb; ++b) {
      if (in_.backends[b].capacity <= 0) {
        continue;
      }
      const double u = load_[b][ks] / in_.backends[b].capacity;
      mean += u;
      ++n;
      if (u > umax) {
        umax = u;
        top = static_cast<uint16_t>(b);
      }
    }
    if (n < 2) {
      return;
    }
    mean /= static_cast<double>(n);
    if (static_cast<double>(time_at(ks) - in_.now) < p_.rate.fixed_seconds) {
      return;  // the peak is now: a move would only add its own load to it
    }
    const double goal = p_.max_mean_target * mean;
    if (umax <= goal || umax <= p_.level_floor * p_.load_threshold) {
      return;
    }
    std::vector<size_t> cand;
    for (size_t i : bucket_[top]) {
      if (!moving_.count(in_.segments[i].id) && !used_.count(i) && !cooling(i)) {
        cand.push_back(i);
      }
    }
    const double excess = load_[top][ks] - goal * in_.backends[top].capacity;
    // Best load per byte first; the destination must end under the goal.
    std::sort(cand.begin(), cand.end(), [&](size_t a, size_t b) {
      const double ra = seg_at(a, ks) / std::max(1.0, in_.segments[a].bytes);
      const double rb = seg_at(b, ks) / std::max(1.0, in_.segments[b].bytes);
      return ra != rb ? ra > rb : a < b;
    });
    for (size_t i : cand) {
      const double relief = seg_at(i, ks);
      if (relief <= 0 || relief > 2 * excess) {
        continue;  // a segment bigger than twice the spread only shifts it
      }
      double dpeak = 0;
      const int d = destination(i, top, &dpeak);
      const double dur = p_.rate.duration(in_.segments[i].bytes);
      bool src_ok = static_cast<double>(time_at(ks) - in_.now) >= dur;  // ends before the peak
      for (int k = 0; src_ok && k < h_ && static_cast<double>(time_at(k) - in_.now) < dur; ++k) {
        src_ok = load_[top][k] + p_.migration_load <= limit(top);  // top bears the move
      }
      if (!src_ok) {
        continue;
      }
      if (d < 0 || (load_[d][ks] + relief) / in_.backends[d].capacity > goal) {
        continue;
      }
      const SegmentInfo& s = in_.segments[i];
      Action a;
      a.kind = ActionKind::Move;
      a.segment = s.id;
      a.from = top;
      a.to = static_cast<uint16_t>(d);
      a.peak_at = time_at(ks);
      a.duration = p_.rate.duration(s.bytes);
      a.start_by = in_.now;
      a.reason = fmt(
          "levelling: at the predicted aggregate peak %s b%u is at %.0f%% of capacity, over "
          "%.2f x the fleet mean %.0f%%; seg %u moves %.0f ops/s for %s (most load per byte) to "
          "b%d, the least loaded that stays under it; takes ~%.0fs, start now",
          rel(a.peak_at, in_.now).c_str(), top, 100 * umax, p_.max_mean_target, 100 * mean, s.id,
          relief, bytes_text(s.bytes).c_str(), d, a.duration);
      shift(i, top, a.to);
      reserved_[a.to] += s.bytes;
      used_.insert(i);
      --budget_;
      out_.actions.push_back(std::move(a));
      return;
    }
  }

  Action split_action(size_t i, uint16_t b, double own, bool too_hot) {
    const SegmentInfo& s = in_.segments[i];
    used_.insert(i);
    Action a;
    a.kind = ActionKind::Split;
    a.segment = s.id;
    a.from = b;
    a.at_slot = s.first + (s.last - s.first + 1) / 2;
    a.reason = too_hot ? fmt("seg %u alone peaks at %.0f ops/s, over %.0f%% of b%u's threshold "
                             "load: split at slot %u so its halves can move apart",
                             s.id, own, 100 * p_.split_share, b, a.at_slot)
                       : fmt("seg %u (peak %.0f ops/s) fits no destination under the threshold: "
                             "split at slot %u",
                             s.id, own, a.at_slot);
    return a;
  }

  // Adjacent cold segments on one backend become one (fewer, larger segments
  // where nothing happens). Both must be stable, untouched by this plan.
  void merge_cold() {
    if (p_.merge_max_slots == 0 || actions_full()) {
      return;
    }
    std::vector<size_t> order;
    double total = 0;
    size_t n = 0;
    for (size_t i = 0; i < in_.segments.size(); ++i) {
      if (valid_[i]) {
        order.push_back(i);
        total += seg_peak(i);
        ++n;
      }
    }
    if (n == 0) {
      return;
    }
    const double cold = p_.merge_cold_share * total / static_cast<double>(n);
    auto by_slot = [&](size_t a, size_t b) {
      return in_.segments[a].first < in_.segments[b].first;
    };
    if (!std::is_sorted(order.begin(), order.end(), by_slot)) {
      std::sort(order.begin(), order.end(), by_slot);
    }
    for (size_t j = 0; j + 1 < order.size() && !actions_full(); ++j) {
      const size_t a = order[j], c = order[j + 1];
      const SegmentInfo &x = in_.segments[a], &y = in_.segments[c];
      if (x.last + 1 != y.first || x.owner != y.owner || moving_.count(x.id) ||
          moving_.count(y.id) || used_.count(a) || used_.count(c) ||
          y.last - x.first + 1 > p_.merge_max_slots) {
        continue;
      }
      const double pa = seg_peak(a), pc = seg_peak(c);
      if (pa >= cold || pc >= cold) {
        continue;
      }
      used_.insert(a);
      used_.insert(c);
      Action m;
      m.kind = ActionKind::Merge;
      m.segment = x.id;
      m.other = y.id;
      m.from = x.owner;
      m.reason =
          fmt("seg %u and %u on b%u are cold (peaks %.0f and %.0f ops/s, under %.0f%% of "
              "the mean segment's): merged, slots %u-%u",
              x.id, y.id, x.owner, pa, pc, 100 * p_.merge_cold_share, x.first, y.last);
      out_.actions.push_back(std::move(m));
      ++j;  // c is taken
    }
  }

  const PlanInput& in_;
  const BalancerParams& p_;
  Plan out_;
  int h_ = 1;
  int budget_ = 0;
  std::unordered_map<uint32_t, uint16_t> moving_;  // in-flight segment id -> to
  std::vector<uint16_t> owner_;                    // effective owner per segment
  std::vector<std::vector<size_t>> bucket_;        // valid segments per effective owner
  std::vector<char> valid_;
  std::vector<double> surprise_;
  std::vector<double> trust_;              // per profile, 0..1
  double trust_mean_ = 1;                  // load-weighted mean of trust_
  std::vector<double> now_load_;           // per backend: measured load now
  std::vector<std::vector<double>> load_;  // [backend][point]
  std::vector<double> reserved_;           // bytes promised to each backend
  std::unordered_set<size_t> used_;        // segments split/merged by this plan
};

}  // namespace

Plan plan(const PlanInput& in, const BalancerParams& params) { return Planner(in, params).run(); }

}  // namespace migrate
