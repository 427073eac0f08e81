// Segment size estimation from samples (migrate/segment_sizes.h): the pure
// attribution step. The sampling round itself runs against real backends in
// the demo and the live experiment (FORESHARD PLAN says "sampled").
#include "migrate/segment_sizes.h"

#include <doctest/doctest.h>

#include <numeric>

namespace migrate {
namespace {

TEST_CASE("segment sizes: DBSIZE x mean sample size, spread by sampled bytes over owned slots") {
  std::vector<bool> owned(8, false);
  owned[0] = owned[1] = owned[2] = owned[3] = true;
  SizeSample s;
  s.dbsize = 1000;
  s.keys = {{0, 100}, {0, 100}, {1, 200}, {5, 400}};  // slot 5 is not owned (a copy)
  std::vector<double> est;
  std::vector<bool> updated;
  estimate_slots(s, owned, est, updated);
  // Mean sample 200 B x 1000 keys = 200,000 B; slot 0 had 200 of the 800 sampled bytes.
  CHECK(est[0] == doctest::Approx(50000));
  CHECK(est[1] == doctest::Approx(50000));
  CHECK(est[2] == 0);  // owned, never sampled: about nothing there
  CHECK(est[5] == 0);  // not owned: not attributed
  CHECK(updated[2]);
  CHECK_FALSE(updated[5]);
  CHECK_FALSE(updated[4]);
}

TEST_CASE("segment sizes: an empty backend estimates zero for what it owns") {
  std::vector<bool> owned(4, true);
  SizeSample s;
  std::vector<double> est;
  std::vector<bool> updated;
  estimate_slots(s, owned, est, updated);
  CHECK(std::accumulate(est.begin(), est.end(), 0.0) == 0);
  CHECK(updated == owned);
}

}  // namespace
}  // namespace migrate
