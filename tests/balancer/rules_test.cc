// Planner tables for the rules added against issue 6's open targets
// (migrate/balancer.h): forecast trust from the measured error, migration
// load at destinations, no move for a predicted excess smaller than a move's
// own load, per-segment cooldown, no quick move back, levelling.
#include <doctest/doctest.h>

#include <string>

#include "migrate/balancer.h"
#include "tests/balancer/params.h"

namespace migrate {
namespace {

PlanInput fleet(int backends, std::vector<std::vector<double>> profiles) {
  PlanInput in;
  in.now = 100000;
  for (int b = 0; b < backends; ++b) {
    in.backends.push_back({1000, 1e12});
  }
  in.profiles = std::move(profiles);
  return in;
}

// One-slot segments (never split), load_now = weight x profile[0].
void add(PlanInput& in, uint16_t owner, double weight, double bytes = 1e6, uint32_t profile = 0) {
  SegmentInfo s;
  s.id = static_cast<uint32_t>(in.segments.size());
  s.first = s.last = s.id;
  s.owner = owner;
  s.bytes = bytes;
  s.profile = profile;
  s.weight = weight;
  s.load_now = weight * in.profiles[profile][0];
  in.segments.push_back(s);
}

BalancerParams params(BalancerMode mode) {
  BalancerParams p = test_params(mode);
  p.early_start_seconds = 3600;  // predicted moves start as soon as a slot is free
  return p;
}

// 0.5 now, 1.0 from +15 min on.
std::vector<double> rising(double now = 0.5, double later = 1.0) {
  std::vector<double> p(13, later);
  p[0] = p[1] = p[2] = now;
  return p;
}

}  // namespace

TEST_SUITE("Balancer rules") {
  TEST_CASE("the measured forecast error blends predictive toward reactive") {
    // b0: 500 now, 1000 predicted at +15 min (threshold 800).
    PlanInput in = fleet(2, {rising()});
    add(in, 0, 600);
    add(in, 0, 400);
    struct Row {
      double error;
      size_t actions;  // trust 1 at <= 0.1, 0.5 at 0.175 (750 predicted), 0 at >= 0.25
    };
    for (Row r : {Row{-1, 1}, Row{0.0, 1}, Row{0.1, 1}, Row{0.15, 1}, Row{0.175, 0}, Row{0.25, 0},
                  Row{0.9, 0}}) {
      CAPTURE(r.error);
      in.profile_error.clear();
      if (r.error >= 0) {
        in.profile_error = {r.error};
      }
      CHECK(plan(in, params(BalancerMode::Predictive)).actions.size() == r.actions);
    }
  }

  TEST_CASE("with no trust left predictive picks what reactive picks") {
    // b0 hot now; b1 idle now but its group is about to peak, b2 steady.
    std::vector<double> up(13, 0.75);
    up[0] = 0.1;
    PlanInput in = fleet(3, {std::vector<double>(13, 1.0), up});
    add(in, 0, 700, 50e6);
    add(in, 0, 200);
    add(in, 1, 1000, 1e6, 1);
    add(in, 2, 500);
    const Plan trusted = plan(in, params(BalancerMode::Predictive));
    REQUIRE(trusted.actions.size() == 1);
    CHECK(trusted.actions[0].to == 2);  // sees b1's coming peak
    in.profile_error = {0.0, 0.6};      // b1's forecast has been badly wrong
    const Plan blind = plan(in, params(BalancerMode::Predictive));
    const Plan reactive = plan(in, params(BalancerMode::Reactive));
    REQUIRE(blind.actions.size() == 1);
    REQUIRE(reactive.actions.size() == 1);
    CHECK(blind.actions[0].segment == reactive.actions[0].segment);
    CHECK(blind.actions[0].to == reactive.actions[0].to);
    CHECK(blind.actions[0].to == 1);
  }

  TEST_CASE("a destination must bear the migration's own load while the move runs") {
    PlanInput in = fleet(2, {std::vector<double>(13, 1.0)});
    add(in, 0, 500);
    add(in, 0, 400);  // b0 at 900: the 400 covers the excess
    add(in, 1, 350);  // b1 at 750 with it
    struct Row {
      double migration_load;
      bool moves;
    };
    for (Row r : {Row{0, true}, Row{50, true}, Row{51, false}}) {
      CAPTURE(r.migration_load);
      BalancerParams bp = params(BalancerMode::Reactive);
      bp.migration_load = r.migration_load;
      const Plan p = plan(in, bp);
      CHECK(!p.actions.empty() == r.moves);
      if (r.moves) {
        CHECK(p.actions[0].to == 1);
      }
    }
  }

  TEST_CASE("a predicted excess smaller than a move's own load triggers no move") {
    // b0: 402.5 now, 805 at +15 min (5 over the threshold); moves add 20 ops/s.
    PlanInput in = fleet(2, {rising()});
    add(in, 0, 600);
    add(in, 0, 205);
    struct Row {
      double min_excess;
      size_t actions;
    };
    for (Row r : {Row{0, 1}, Row{0.2, 1}, Row{0.25, 1}, Row{0.3, 0}, Row{2, 0}}) {
      CAPTURE(r.min_excess);
      BalancerParams bp = params(BalancerMode::Predictive);
      bp.migration_load = 20;
      bp.min_predicted_excess = r.min_excess;
      CHECK(plan(in, bp).actions.size() == r.actions);
    }
    SUBCASE("an excess measured now always acts") {
      PlanInput now = fleet(2, {std::vector<double>(13, 1.0)});
      add(now, 0, 600);
      add(now, 0, 205);
      BalancerParams bp = params(BalancerMode::Predictive);
      bp.migration_load = 20;
      bp.min_predicted_excess = 2;
      CHECK(plan(now, bp).actions.size() == 1);
    }
  }

  TEST_CASE("a segment moved within the cooldown stays put") {
    PlanInput in = fleet(3, {std::vector<double>(13, 1.0)});
    add(in, 0, 500, 50e6);
    add(in, 0, 400, 10e6);  // the first pick: covers the excess with the fewest bytes
    add(in, 2, 100);
    BalancerParams bp = params(BalancerMode::Reactive);
    bp.cooldown_seconds = 600;
    struct Row {
      int64_t ago;  // since seg 1's last move started (-1: never)
      uint32_t picked;
    };
    for (Row r : {Row{-1, 1}, Row{100, 0}, Row{599, 0}, Row{600, 1}, Row{5000, 1}}) {
      CAPTURE(r.ago);
      in.segments[1].last_move_at = r.ago < 0 ? SegmentInfo::kNever : in.now - r.ago;
      const Plan p = plan(in, bp);
      REQUIRE(p.actions.size() == 1);
      CHECK(p.actions[0].segment == r.picked);
    }
    bp.cooldown_seconds = 0;  // off
    in.segments[1].last_move_at = in.now - 1;
    CHECK(plan(in, bp).actions.at(0).segment == 1);
  }

  TEST_CASE("no move back to the previous owner within the block, unless over capacity now") {
    PlanInput in = fleet(3, {std::vector<double>(13, 1.0)});
    add(in, 0, 500, 50e6);
    add(in, 0, 400, 10e6);  // came from b2 (the coolest) 1000 s ago
    add(in, 1, 300);
    add(in, 2, 100);
    in.segments[1].previous_owner = 2;
    in.segments[1].last_move_at = in.now - 1000;
    BalancerParams bp = params(BalancerMode::Reactive);
    bp.cooldown_seconds = 600;
    struct Row {
      int64_t block;
      double seg0_now;  // b0's measured load = this + 400
      uint16_t to;
    };
    for (Row r : {Row{0, 500, 2}, Row{3600, 500, 1}, Row{1000, 500, 2}, Row{3600, 601, 2}}) {
      CAPTURE(r.block);
      CAPTURE(r.seg0_now);
      bp.return_block_seconds = r.block;
      in.segments[0].load_now = r.seg0_now;
      const Plan p = plan(in, bp);
      REQUIRE(!p.actions.empty());
      CHECK(p.actions[0].segment == 1);
      CHECK(p.actions[0].to == r.to);
    }
  }

  TEST_CASE("levelling moves load off the top backend ahead of the predicted aggregate peak") {
    // At the peak (+15 min): b0 780 (under the threshold, over 1.2 x the mean
    // 560), b1 500, b2 400. Four 195s on b0: one moves to b2.
    PlanInput in = fleet(3, {rising(0.8, 1.0)});
    for (int i = 0; i < 4; ++i) {
      add(in, 0, 195);
    }
    add(in, 1, 500);
    add(in, 2, 400);
    BalancerParams bp = params(BalancerMode::Predictive);
    CHECK(plan(in, bp).actions.empty());  // off by default
    bp.max_mean_target = 1.2;
    const Plan p = plan(in, bp);
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].from == 0);
    CHECK(p.actions[0].to == 2);
    CHECK(p.actions[0].reason.find("levelling") != std::string::npos);
    struct Row {
      const char* what;
      double target, floor;
      int in_flight, max_concurrent;
      double bytes;  // of every segment on b0
      size_t actions;
    };
    for (Row r : {Row{"spread under the target", 1.4, 0.9, 0, 4, 1e6, 0},
                  Row{"top under the floor", 1.2, 0.98, 0, 4, 1e6, 0},
                  Row{"one slot left: kept for surprises", 1.2, 0.9, 1, 2, 1e6, 0},
                  Row{"two slots left", 1.2, 0.9, 0, 2, 1e6, 1},
                  Row{"would not finish before the peak", 1.2, 0.9, 0, 4, 1e9, 0}}) {
      CAPTURE(r.what);
      BalancerParams q = bp;
      q.max_mean_target = r.target;
      q.level_floor = r.floor;
      q.max_concurrent_migrations = r.max_concurrent;
      PlanInput x = in;
      for (int i = 0; i < 4; ++i) {
        x.segments[i].bytes = r.bytes;
      }
      if (r.in_flight > 0) {
        x.in_flight.push_back({99, 1, 2});
      }
      CHECK(plan(x, q).actions.size() == r.actions);
    }
    SUBCASE("reactive and untrusted forecasts do not level") {
      CHECK(plan(in,
                 [&] {
                   BalancerParams q = bp;
                   q.mode = BalancerMode::Reactive;
                   return q;
                 }())
                .actions.empty());
      PlanInput x = in;
      x.profile_error = {0.5};
      CHECK(plan(x, bp).actions.empty());
    }
  }
}

}  // namespace migrate
