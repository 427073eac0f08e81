// LiveBalancer: the balancer in the running proxy (DESIGN §8). On the
// control loop, every balancer.interval, it turns the History's recent load,
// the Forecaster's latest forecasts and the segment map into the planner's
// input (migrate/balancer.h: the same pure planner `foreshard simulate` runs),
// keeps the plan for FORESHARD PLAN, and when enabled starts its actions
// through Migrations (one move at a time). FORESHARD BALANCER on|off|<mode>.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "migrate/balancer.h"
#include "migrate/forecaster.h"
#include "migrate/history.h"
#include "migrate/map_authority.h"
#include "migrate/migrations.h"
#include "migrate/segment_sizes.h"
#include "proxy/context.h"

namespace migrate {

class LiveBalancer {
 public:
  // `sizes` (may be null: bytes assumed proportional to slots) estimates segment bytes.
  LiveBalancer(proxy::ProxyContext& ctx, MapAuthority& auth, Migrations& migrations,
               const SegmentSizes* sizes = nullptr);

  // A series' recent forecast error as sMAPE in percent (Forecaster::
  // rolling_error); NaN when not scored yet.
  using ErrorOf = std::function<double(const std::string& series)>;

  // Control loop: plans from these inputs and, when enabled, acts.
  void run(const History& history, std::shared_ptr<const ForecastSet> forecasts,
           uint64_t now_unix_s, const ErrorOf& error_of = nullptr);

  // FORESHARD PLAN: the last plan, its actions with reasons, and what it did.
  std::string plan_report() const;
  // FORESHARD BALANCER [on|off|static|reactive|predictive]: any thread.
  std::string admin(const std::vector<std::string>& args, bool* error);

  // Control loop, after a config reload: balancer.enabled and .mode take
  // effect when the file changed them (a FORESHARD BALANCER override stays
  // otherwise); capacities and the other parameters are read at each plan.
  void reconfigured(const proxy::Config& before, const proxy::Config& after);

  bool enabled() const { return enabled_.load(); }
  BalancerMode mode() const { return mode_.load(); }
  // Actions started, by kind (move, split, merge).
  std::vector<std::pair<std::string, uint64_t>> decisions() const;

  // Builds the planner's input (public for tests). Each profile's
  // profile_error is its series' error_of / 100 (sMAPE as a fraction; about
  // the relative error the planner's trust rule expects); unscored: 0.
  PlanInput input(const History& history, const ForecastSet* forecasts, uint64_t now_unix_s,
                  int64_t step_s, int64_t horizon_s, const ErrorOf& error_of = nullptr) const;

 private:
  BalancerParams params() const;
  std::string act(const Plan& plan, uint64_t now);

  proxy::ProxyContext& ctx_;
  MapAuthority& auth_;
  Migrations& migrations_;
  const SegmentSizes* sizes_;
  std::atomic<bool> enabled_;
  std::atomic<BalancerMode> mode_;
  mutable std::mutex mu_;  // guards the report and counters below
  std::string report_ = "no plan yet: the balancer plans every balancer.interval\n";
  uint64_t moves_ = 0, splits_ = 0, merges_ = 0, plans_ = 0;
  // Moves this balancer started, by the segment's first slot: when, and the
  // owner it left (the planner's damping: SegmentInfo::last_move_at and
  // previous_owner). Control thread only.
  std::map<uint32_t, std::pair<int64_t, int32_t>> started_;
};

}  // namespace migrate
