// Unit tests of loadgen::Workload: the keyspace per slot group, the seasonal target rate, the
// weighted picks (groups, flash crowd) and the Zipf skew inside a group.
#include "loadgen/workload.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "proxy/slot.h"

namespace {

loadgen::Workload make(const loadgen::WorkloadConfig& c) {
  auto w = loadgen::Workload::build(c);
  REQUIRE_MESSAGE(w.is_ok(), w.status().message());
  return std::move(w).value();
}

// "$<len>\r\n<name>\r\n" -> name
std::string name_of(std::string_view enc) {
  size_t start = enc.find('\n') + 1;
  return std::string(enc.substr(start, enc.size() - start - 2));
}

struct Rng {
  uint64_t s = 42;
  double u01() { return static_cast<double>(loadgen::splitmix64(s) >> 11) * 0x1.0p-53; }
  uint64_t next() { return loadgen::splitmix64(s) >> 8; }
};

}  // namespace

TEST_CASE("every group gets its share of keys, all inside its slot range") {
  loadgen::WorkloadConfig c;
  c.groups = 3;
  c.keys = 3001;
  auto w = make(c);
  REQUIRE(w.key_count() == 3001);
  for (const auto& g : w.groups()) {
    uint32_t n = g.key_end - g.key_begin;
    CHECK((n == 1000 || n == 1001));
    for (uint32_t k = g.key_begin; k < g.key_end; ++k) {
      uint16_t slot = proxy::key_slot(name_of(w.encoded_key(k)), c.slots);
      CHECK(slot >= g.first_slot);
      CHECK(slot <= g.last_slot);
    }
  }
  CHECK(w.groups().front().first_slot == 0);
  CHECK(w.groups().back().last_slot == c.slots - 1);
}

TEST_CASE("the target rate follows the day and peaks at peak_ops") {
  loadgen::WorkloadConfig c;
  c.groups = 2;
  c.keys = 200;
  c.day_seconds = 24;  // one simulated hour per real second
  c.group_peaks = {6, 18};
  c.group_amps = {0.5, 0.5};
  c.peak_ops = 1000;
  auto w = make(c);
  CHECK(w.hour_at(6) == doctest::Approx(6));
  CHECK(w.hour_at(30) == doctest::Approx(6));
  double top = 0;
  for (int m = 0; m < 24 * 60; ++m) top = std::max(top, w.target_rate(m / 60.0));
  CHECK(top == doctest::Approx(1000));
  // Opposite phases with equal amplitudes: the total is flat.
  CHECK(w.target_rate(0) == doctest::Approx(w.target_rate(7.5)));
}

TEST_CASE("picks follow the group weights of the hour") {
  loadgen::WorkloadConfig c;
  c.groups = 2;
  c.keys = 1000;
  c.day_seconds = 24;
  c.group_peaks = {6, 18};
  c.group_amps = {0.9, 0.9};
  auto w = make(c);
  Rng rng;
  for (double hour : {6.0, 18.0, 12.0}) {
    w.refresh(hour);
    int in0 = 0, n = 100000;
    for (int i = 0; i < n; ++i) {
      auto p = w.pick(rng.u01(), rng.next());
      const auto& g = w.groups()[p.group];
      if (p.flash) FAIL("flash pick without a flash crowd");
      if (!(p.key >= g.key_begin && p.key < g.key_end)) FAIL("key outside its group");
      in0 += p.group == 0;
    }
    double expect = w.group_weight(0, hour) / (w.group_weight(0, hour) + w.group_weight(1, hour));
    CHECK(double(in0) / n == doctest::Approx(expect).epsilon(0.02));
  }
}

TEST_CASE("a flash crowd adds traffic to its slot range only while it lasts") {
  loadgen::WorkloadConfig c;
  c.groups = 2;
  c.keys = 20000;
  c.day_seconds = 24;
  c.amplitude = 0;
  c.flash_at = 10;
  c.flash_duration = 2;
  c.flash_first = 100;
  c.flash_last = 1099;  // 1000 of group 0's 8192 slots
  c.flash_mult = 11;
  auto w = make(c);
  REQUIRE(w.flash_key_count() > 0);
  CHECK(w.target_rate(11) > w.target_rate(9));
  CHECK(w.target_rate(12.5) == doctest::Approx(w.target_rate(9)));
  Rng rng;
  for (double t : {9.0, 11.0}) {
    w.refresh(t);
    int flash = 0, n = 100000;
    for (int i = 0; i < n; ++i) {
      auto p = w.pick(rng.u01(), rng.next());
      if (!p.flash) continue;
      ++flash;
      uint16_t slot = proxy::key_slot(name_of(w.encoded_key(p.key)), c.slots);
      if (slot < 100 || slot > 1099) FAIL("flash pick outside the flash slots");
    }
    if (t < 10) {
      CHECK(flash == 0);
    } else {
      // Extra weight (M-1) * |flash keys| / |group 0 keys| of group 0's weight 1, out of 2 + it.
      double extra = 10.0 * w.flash_key_count() / 10000.0;
      CHECK(double(flash) / n == doctest::Approx(extra / (2 + extra)).epsilon(0.05));
    }
  }
}

TEST_CASE("zipf skews keys inside a group and scatters the hot ones") {
  loadgen::WorkloadConfig c;
  c.groups = 1;
  c.keys = 1000;
  c.zipf = 1.0;
  auto w = make(c);
  Rng rng;
  std::map<uint32_t, int> count;
  int n = 200000;
  for (int i = 0; i < n; ++i) ++count[w.pick(rng.u01(), rng.next()).key];
  std::vector<int> counts;
  for (auto& [k, v] : count) counts.push_back(v);
  std::sort(counts.rbegin(), counts.rend());
  double harmonic = 0;
  for (int r = 1; r <= 1000; ++r) harmonic += 1.0 / r;
  CHECK(double(counts[0]) / n == doctest::Approx(1 / harmonic).epsilon(0.05));
  CHECK(double(counts[1]) / n == doctest::Approx(0.5 / harmonic).epsilon(0.08));
  // The hottest key is not simply the group's first (lowest-slot) key.
  auto hottest = std::max_element(count.begin(), count.end(),
                                  [](auto& a, auto& b) { return a.second < b.second; });
  CHECK(hottest->first != 0);

  c.zipf = 0;
  auto u = make(c);
  count.clear();
  for (int i = 0; i < n; ++i) ++count[u.pick(rng.u01(), rng.next()).key];
  int top = 0;
  for (auto& [k, v] : count) top = std::max(top, v);
  CHECK(top < 2 * n / 1000);
}

TEST_CASE("bad configurations are refused") {
  loadgen::WorkloadConfig c;
  c.keys = 100;
  c.groups = 2;
  c.group_peaks = {1, 2, 3};
  CHECK_FALSE(loadgen::Workload::build(c).is_ok());
  c.group_peaks.clear();
  // A flash range that holds none of the keys is refused with a reason.
  auto w = make(c);
  std::vector<bool> used(c.slots);
  for (uint32_t k = 0; k < w.key_count(); ++k) {
    used[proxy::key_slot(name_of(w.encoded_key(k)), c.slots)] = true;
  }
  uint32_t empty = static_cast<uint32_t>(std::find(used.begin(), used.end(), false) - used.begin());
  c.flash_at = 1;
  c.flash_first = c.flash_last = empty;
  auto r = loadgen::Workload::build(c);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().message().find("flash") != std::string::npos);
  c.flash_first = 9;
  c.flash_last = 3;
  CHECK_FALSE(loadgen::Workload::build(c).is_ok());
}
