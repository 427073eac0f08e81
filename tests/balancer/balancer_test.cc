// Planner tables (migrate/balancer.h): when each mode acts, which segment and
// destination it picks, when a move must start, splits, merges, limits, and
// that the same input gives the same plan.
#include "migrate/balancer.h"

#include <doctest/doctest.h>

#include <string>

#include "tests/balancer/params.h"

namespace migrate {
namespace {

// Backends of capacity 1000 with plenty of memory; profile p's points given.
PlanInput fleet(int backends, std::vector<std::vector<double>> profiles = {{1.0}}) {
  PlanInput in;
  in.now = 1000;
  for (int b = 0; b < backends; ++b) {
    in.backends.push_back({1000, 1e12});
  }
  in.profiles = std::move(profiles);
  return in;
}

// A segment of `slots` slots starting after the previous one; load_now =
// weight x profile[0] unless given.
void add(PlanInput& in, uint16_t owner, double weight, double bytes, uint32_t profile = 0,
         uint32_t slots = 4, double load_now = -1) {
  SegmentInfo s;
  s.id = static_cast<uint32_t>(in.segments.size());
  s.first = in.segments.empty() ? 0 : in.segments.back().last + 1;
  s.last = s.first + slots - 1;
  s.owner = owner;
  s.bytes = bytes;
  s.profile = profile;
  s.weight = weight;
  s.load_now = load_now >= 0 ? load_now : weight * in.profiles[profile][0];
  in.segments.push_back(s);
}

BalancerParams params(BalancerMode mode) { return test_params(mode); }

std::vector<double> flat(double v, int n = 13) { return std::vector<double>(n, v); }

}  // namespace

TEST_SUITE("Balancer") {
  TEST_CASE("static never acts, even on an overloaded backend") {
    PlanInput in = fleet(2);
    add(in, 0, 900, 1e6);
    CHECK(plan(in, params(BalancerMode::Static)).actions.empty());
  }

  TEST_CASE("reactive moves load off a backend over the threshold now, to the coolest backend") {
    PlanInput in = fleet(3);
    add(in, 0, 500, 50e6);
    add(in, 0, 400, 40e6);
    add(in, 1, 600, 1e6);
    add(in, 2, 100, 1e6);
    const Plan p = plan(in, params(BalancerMode::Reactive));
    REQUIRE(p.actions.size() == 1);
    const Action& a = p.actions[0];
    CHECK(a.kind == ActionKind::Move);
    CHECK(a.segment == 1);  // 400 covers the 100 of excess with fewer bytes than 500
    CHECK(a.from == 0);
    CHECK(a.to == 2);  // b2 peaks at 50%, b1 would be at 100%
    CHECK(a.start_by <= in.now);
    CHECK(a.reason.find("seg 1") != std::string::npos);
    CHECK(a.reason.find("b2") != std::string::npos);
  }

  TEST_CASE("among segments that cover the excess the fewest bytes win") {
    PlanInput in = fleet(2);
    add(in, 0, 300, 90e6);
    add(in, 0, 300, 10e6);
    add(in, 0, 300, 50e6);
    const Plan p = plan(in, params(BalancerMode::Reactive));
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].segment == 1);
  }

  TEST_CASE("reactive ignores a forecast peak; predictive moves just early enough") {
    // Profile: 0.5 now, 1.0 from point 3 (15 min) on. One segment of weight
    // 1000 on b0: 500 now, 1000 (over 800) at +15 min.
    std::vector<double> prof = flat(0.5);
    for (size_t k = 3; k < prof.size(); ++k) {
      prof[k] = 1.0;
    }
    PlanInput in = fleet(2, {prof});
    add(in, 0, 600, 100e6, 0, 4);
    add(in, 0, 400, 900e6, 0, 4);
    CHECK(plan(in, params(BalancerMode::Reactive)).actions.empty());
    SUBCASE("a short move waits until it must start, unless a slot is idle") {
      BalancerParams bp = params(BalancerMode::Predictive);
      bp.early_start_seconds = 0;
      CHECK(plan(in, bp).actions.empty());  // 110 s move, peak 900 s away: starts later
      bp.early_start_seconds = 600;
      CHECK(plan(in, bp).actions.empty());  // start-by is 790 s away: still too early
      bp.early_start_seconds = 800;
      const Plan p = plan(in, bp);
      REQUIRE(p.actions.size() == 1);
      CHECK(p.actions[0].start_by == in.now + 900 - 110);
      CHECK(p.actions[0].reason.find("early") != std::string::npos);
      bp.max_concurrent_migrations = 1;
      in.in_flight.push_back({77, 1, 0});
      CHECK(plan(in, bp).actions.empty());  // no idle slot
    }
    SUBCASE("a move that must start before the next plan starts now") {
      BalancerParams bp = params(BalancerMode::Predictive);
      bp.rate = {0.125e6, 10};  // 100 MB take 810 s: start by +90 s < next plan + ...
      bp.plan_interval_seconds = 120;
      const Plan p = plan(in, bp);
      REQUIRE(p.actions.size() == 1);
      CHECK(p.actions[0].segment == 0);
      CHECK(p.actions[0].peak_at == in.now + 900);
      CHECK(p.actions[0].start_by == in.now + 900 - 810);
      CHECK(p.actions[0].reason.find("must start by +1m30s") != std::string::npos);
    }
  }

  TEST_CASE("a destination idle now but about to peak is not chosen by predictive") {
    // b0 hot now (900); b1 idle now (100) but its group peaks at 750 in 30 min;
    // b2 steady at 500.
    std::vector<double> rising = flat(0.1);
    for (size_t k = 6; k < rising.size(); ++k) {
      rising[k] = 0.75;
    }
    PlanInput in = fleet(3, {flat(1.0), rising});
    add(in, 0, 700, 50e6, 0);
    add(in, 0, 200, 1e6, 0);
    add(in, 1, 1000, 1e6, 1);
    add(in, 2, 500, 1e6, 0);
    const Plan pr = plan(in, params(BalancerMode::Reactive));
    REQUIRE(pr.actions.size() == 1);
    CHECK(pr.actions[0].segment == 1);
    CHECK(pr.actions[0].to == 1);  // reactive: b1 looks coolest now
    const Plan pp = plan(in, params(BalancerMode::Predictive));
    REQUIRE(pp.actions.size() == 1);
    CHECK(pp.actions[0].segment == 1);
    CHECK(pp.actions[0].to == 2);  // b1 would reach 950 at its peak
    CHECK(pp.actions[0].start_by <= in.now);
  }

  TEST_CASE("a destination without memory room is skipped") {
    PlanInput in = fleet(3);
    add(in, 0, 500, 50e6);
    add(in, 0, 400, 60e6);
    in.backends[1].memory_room = 10e6;  // coolest (idle), but too small
    add(in, 2, 300, 1e6);
    const Plan p = plan(in, params(BalancerMode::Reactive));
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].to == 2);
  }

  TEST_CASE("never more migrations than the limit, counting those in flight") {
    PlanInput in = fleet(8);
    for (uint16_t b = 0; b < 4; ++b) {
      add(in, b, 500, 1e6);
      add(in, b, 450, 1e6);
    }
    BalancerParams bp = params(BalancerMode::Reactive);
    bp.max_concurrent_migrations = 3;
    CHECK(plan(in, bp).actions.size() == 3);
    in.in_flight.push_back({100, 6, 7});
    const Plan p = plan(in, bp);
    CHECK(p.actions.size() == 2);
    CHECK(!p.notes.empty());
  }

  TEST_CASE("an in-flight segment is not moved again and counts at its destination") {
    PlanInput in = fleet(3);
    add(in, 0, 500, 1e6);               // 0
    add(in, 0, 400, 1e6);               // 1
    add(in, 2, 100, 1e6);               // 2
    add(in, 0, 50, 0.5e6);              // 3
    add(in, 1, 300, 1e6);               // 4
    in.in_flight.push_back({0, 0, 2});  // b0 will be at 450: not hot
    CHECK(plan(in, params(BalancerMode::Reactive)).actions.empty());
    in.segments[1].load_now = 780;  // b0 at 830: hot again; seg 0 must not be picked
    const Plan p = plan(in, params(BalancerMode::Reactive));
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].segment == 3);
    CHECK(p.actions[0].to == 1);  // b2 has seg 0's 500 coming: 600 > b1's 300
  }

  TEST_CASE("a segment too hot on its own is split at its middle slot, never below one slot") {
    PlanInput in = fleet(2);
    add(in, 0, 850, 1e6, 0, 8);
    BalancerParams bp = params(BalancerMode::Reactive);
    const Plan p = plan(in, bp);
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].kind == ActionKind::Split);
    CHECK(p.actions[0].at_slot == 4);
    CHECK(p.actions[0].reason.find("split") != std::string::npos);
    SUBCASE("one slot: no split, and nothing fits, so a note") {
      PlanInput one = fleet(2);
      add(one, 0, 850, 1e6, 0, 1);
      add(one, 1, 500, 1e6, 0, 1);
      const Plan q = plan(one, bp);
      CHECK(q.actions.empty());
      CHECK(!q.notes.empty());
    }
  }

  TEST_CASE("cold neighbours on one backend merge; across backends or too wide they do not") {
    PlanInput in = fleet(2);
    add(in, 0, 1, 1e6);    // 0: cold
    add(in, 0, 1, 1e6);    // 1: cold, same owner -> merge 0+1
    add(in, 0, 1, 1e6);    // 2: cold, but 3 is on b1
    add(in, 1, 1, 1e6);    // 3
    add(in, 1, 300, 1e6);  // 4: hot neighbour
    BalancerParams bp = params(BalancerMode::Reactive);
    bp.merge_max_slots = 8;
    bp.merge_cold_share = 0.5;
    const Plan p = plan(in, bp);
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].kind == ActionKind::Merge);
    CHECK(p.actions[0].segment == 0);
    CHECK(p.actions[0].other == 1);
    bp.merge_max_slots = 4;
    CHECK(plan(in, bp).actions.empty());
  }

  TEST_CASE("load the forecast did not expect (a flash crowd) triggers predictive at once") {
    PlanInput in = fleet(2, {flat(0.5)});
    add(in, 0, 600, 1e6, 0, 4);
    add(in, 0, 400, 0.5e6, 0, 4);
    CHECK(plan(in, params(BalancerMode::Predictive)).actions.empty());  // 500 as forecast
    in.segments[0].load_now = 700;  // forecast 300: 400 unexpected, b0 at 900
    const Plan p = plan(in, params(BalancerMode::Predictive));
    REQUIRE(p.actions.size() == 1);
    CHECK(p.actions[0].segment == 1);
    CHECK(p.actions[0].to == 1);
    CHECK(p.actions[0].start_by <= in.now);
  }

  TEST_CASE("the same input gives the same plan; bad owners and profiles are ignored") {
    PlanInput in = fleet(4, {flat(1.0), flat(0.5)});
    for (int i = 0; i < 40; ++i) {
      add(in, static_cast<uint16_t>(i % 2), 40 + i, 1e6 * (1 + i % 7),
          static_cast<uint32_t>(i % 2));
    }
    add(in, 9, 100, 1e6);
    in.segments.back().profile = 0;
    const Plan a = plan(in, params(BalancerMode::Predictive));
    const Plan b = plan(in, params(BalancerMode::Predictive));
    REQUIRE(a.actions.size() == b.actions.size());
    REQUIRE(!a.actions.empty());
    for (size_t i = 0; i < a.actions.size(); ++i) {
      CHECK(a.actions[i].segment == b.actions[i].segment);
      CHECK(a.actions[i].to == b.actions[i].to);
      CHECK(a.actions[i].reason == b.actions[i].reason);
      CHECK(a.actions[i].to != 9);
    }
    CHECK(a.notes.front().find("1 segments ignored") != std::string::npos);
  }

  TEST_CASE("mode names round-trip") {
    for (BalancerMode m : {BalancerMode::Static, BalancerMode::Reactive, BalancerMode::Predictive,
                           BalancerMode::Oracle}) {
      BalancerMode back = BalancerMode::Static;
      CHECK(parse_balancer_mode(balancer_mode_name(m), back));
      CHECK(back == m);
    }
    BalancerMode x = BalancerMode::Oracle;
    CHECK(!parse_balancer_mode("psychic", x));
    CHECK(x == BalancerMode::Oracle);
  }
}

}  // namespace migrate
