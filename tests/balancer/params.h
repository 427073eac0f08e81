// The planner parameters the balancer tables share (balancer_test.cc,
// rules_test.cc): backends of capacity 1000 are hot over 800, 5-minute points
// over an hour, 1 MB/s migrations.
#pragma once

#include "migrate/balancer.h"

namespace migrate {

inline BalancerParams test_params(BalancerMode mode) {
  BalancerParams p;
  p.mode = mode;
  p.load_threshold = 0.8;
  p.step_seconds = 300;
  p.horizon_seconds = 3600;
  p.plan_interval_seconds = 60;
  p.max_concurrent_migrations = 4;
  p.split_share = 0.9;  // split only segments over 720 of a backend's 800
  p.rate = {1e6, 10};   // 1 MB/s: 100 MB takes 110 s
  return p;
}

}  // namespace migrate
