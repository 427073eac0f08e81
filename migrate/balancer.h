// The balancer's planner (DESIGN §8): forecasts + capacities + the segment map +
// a migration-rate model -> actions (move, split, merge), each with its reason.
// Pure and deterministic: no libuv, threads, IO or clock; the same code runs in
// the live controller and in `foreshard simulate`. Rules: docs/BALANCER.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace migrate {

// static: never acts. reactive: looks at load_now only (a flat forecast).
// predictive: load_now + the forecast profiles. oracle: the same code as
// predictive, fed the TRUE future load by its caller (experiments only).
enum class BalancerMode { Static, Reactive, Predictive, Oracle };
const char* balancer_mode_name(BalancerMode m);  // "static" | "reactive" | ...
// Parses the names above; false (and `out` untouched) on anything else.
bool parse_balancer_mode(const std::string& name, BalancerMode& out);

// How long moving `bytes` takes: fixed_seconds + bytes / bytes_per_second.
struct MigrationRate {
  double bytes_per_second = 50e6;
  double fixed_seconds = 5;  // set-up, validation and switchover
  double duration(double bytes) const { return fixed_seconds + bytes / bytes_per_second; }
};

struct BalancerParams {
  BalancerMode mode = BalancerMode::Predictive;
  double load_threshold = 0.8;  // a backend is hot when load > this x capacity
  // A hot backend is relieved down to (1 - relief_margin) x threshold, not
  // just under it (hysteresis: fewer repeated small moves off one backend).
  double relief_margin = 0;
  int64_t horizon_seconds = 7200;      // how far ahead predictive/oracle look
  int64_t step_seconds = 300;          // spacing of the profile points (PlanInput::profiles)
  int64_t plan_interval_seconds = 60;  // how often plan() is called: a move whose
                                       // start-by time is later than the next call waits
  int max_concurrent_migrations = 2;   // in flight + started by this plan
  // A move that could still wait starts anyway when migration slots are left
  // after the urgent ones and its start-by time is at most this far away
  // (soonest first); 0 = every move starts at the last plan before its start-by.
  int64_t early_start_seconds = 1800;
  int max_actions_per_plan = 16;
  // A segment whose own predicted peak exceeds split_share x threshold x its
  // owner's capacity is split in two (never below one slot) instead of moved.
  double split_share = 0.5;
  // Adjacent segments on the same backend are merged when both peak below
  // merge_cold_share x the fleet's mean segment load and the result spans at
  // most merge_max_slots slots (0 = never merge).
  double merge_cold_share = 0.1;
  uint32_t merge_max_slots = 0;
  MigrationRate rate;
  // ops/s a running move adds on both its ends (copying, validation). A
  // destination must stay under the threshold with it while the move runs.
  double migration_load = 0;
  // A backend predicted (not measured now) to exceed the threshold by less
  // than min_predicted_excess x migration_load is left alone: a move would
  // add more load to it while it runs than it takes off (0 = off).
  double min_predicted_excess = 0;
  // Trust in the forecast (predictive, oracle), per profile, from its measured
  // recent relative error e (PlanInput::profile_error): trust = 1 at e <=
  // trust_error_low, 0 at e >= trust_error_high, linear between. A segment's
  // predicted load is blended: (1 - trust) x load_now + trust x its forecast,
  // so a bad forecast degrades toward reactive, not below it.
  double trust_error_low = 0.1, trust_error_high = 0.25;
  // Damping: a segment whose last move started less than cooldown_seconds ago
  // is not moved again; one moved less than return_block_seconds ago does not
  // go back to its previous owner unless its current owner is over capacity
  // now (measured load). 0 = off.
  int64_t cooldown_seconds = 0;
  int64_t return_block_seconds = 0;
  // Levelling (0 = off): when, at the predicted aggregate peak of the horizon,
  // the most loaded backend's utilisation exceeds max_mean_target x the fleet's
  // mean utilisation and level_floor x load_threshold, one move per plan takes
  // its best load-per-byte segment to the backend with the lowest predicted
  // peak. Only if the move ends before that peak, two migration slots are free
  // after the hot backends' moves (one stays for surprises), and the load-
  // weighted mean forecast trust is at least 0.5.
  double max_mean_target = 0;
  double level_floor = 0.9;
};

struct BackendInfo {
  double capacity = 0;     // ops/s; 0 = takes no segments
  double memory_room = 0;  // free bytes for incoming segments
};

// A segment's predicted load at profile point k (time now + k x step_seconds)
// is weight x profiles[profile][k] + surprise, where surprise = max(0,
// load_now - weight x profiles[profile][0]): load the forecast did not expect
// (a flash crowd) is assumed to persist over the horizon. The live controller
// may give each segment its own profile (weight 1); the simulator shares one
// profile per workload group and sets weight = the segment's share of it.
struct SegmentInfo {
  uint32_t id = 0;               // caller's identifier, echoed in actions
  uint32_t first = 0, last = 0;  // slot range, inclusive
  uint16_t owner = 0;            // backend index
  double bytes = 0;
  double load_now = 0;   // measured ops/s now
  uint32_t profile = 0;  // index into PlanInput::profiles
  double weight = 1;
  // Its last move (damping): when it started (kNever: never) and the owner
  // before it (-1: none). Filled by the caller, who knows the moves it made.
  static constexpr int64_t kNever = INT64_MIN;
  int64_t last_move_at = kNever;
  int32_t previous_owner = -1;
};

// A migration already running: its segment is not touched, and from now on
// its load counts on `to` (it will switch there soon).
struct InFlight {
  uint32_t segment = 0;  // SegmentInfo::id
  uint16_t from = 0, to = 0;
};

struct PlanInput {
  int64_t now = 0;  // seconds (any epoch; actions' times use the same one)
  std::vector<BackendInfo> backends;
  std::vector<SegmentInfo> segments;
  // profiles[p][k], k = 0 .. horizon_seconds / step_seconds: predicted load at
  // now + k x step_seconds (k = 0 is now). Reactive mode ignores them.
  std::vector<std::vector<double>> profiles;
  std::vector<InFlight> in_flight;
  // profile_error[p]: profile p's recent relative forecast error (mean |forecast
  // - actual| / mean actual over the caller's recent past, at a lead inside the
  // horizon); missing or empty = 0 (full trust). See BalancerParams::trust_*.
  std::vector<double> profile_error;
};

enum class ActionKind { Move, Split, Merge };
const char* action_kind_name(ActionKind k);  // "move" | "split" | "merge"

struct Action {
  ActionKind kind = ActionKind::Move;
  uint32_t segment = 0;  // SegmentInfo::id (merge: the lower slot range)
  uint32_t other = 0;    // merge: the segment above it
  uint16_t from = 0;     // owner
  uint16_t to = 0;       // move: destination
  uint32_t at_slot = 0;  // split: first slot of the upper half
  int64_t peak_at = 0;   // move: when the source's predicted overload starts
  int64_t start_by = 0;  // move: latest start that finishes before peak_at
  double duration = 0;   // move: estimated seconds (MigrationRate)
  std::string reason;    // one line: why this segment, destination and time
};

struct Plan {
  std::vector<Action> actions;  // to start now, in order
  // Hot backends the plan could not relieve, with why (no room, concurrency).
  std::vector<std::string> notes;
  // Load-weighted mean forecast trust it planned with (rule 9): 1 = the
  // forecasts as they are, 0 = the measured load only (reactive: always 0).
  double trust = 1;
};

// Deterministic: the same input gives the same plan. Segments with an
// out-of-range owner or profile are ignored (noted), never a crash.
Plan plan(const PlanInput& in, const BalancerParams& params);

}  // namespace migrate
