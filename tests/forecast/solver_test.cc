// Penalised least squares: the L1/L2 solver must land on the exact optimum
// (KKT conditions) on random problems, equal a direct ridge solve without L1,
// and refuse malformed input; LAD must fit through outliers.
#include "forecast/solver.h"

#include <doctest/doctest.h>

#include <cmath>
#include <random>

using namespace forecast;

namespace {
// A correlated least-squares problem like the Prophet hinge columns.
void random_problem(int n, int p, unsigned seed, Eigen::MatrixXd& g, Eigen::VectorXd& b) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> nd;
  Eigen::MatrixXd x(n, p);
  for (int i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / n;
    for (int j = 0; j < p; ++j)
      x(i, j) = std::max(0.0, t - static_cast<double>(j) / p) + 0.01 * nd(rng);
  }
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) y[i] = std::sin(6.0 * i / n) + 0.1 * nd(rng);
  g = x.transpose() * x;
  b = x.transpose() * y;
}
}  // namespace

TEST_SUITE("solver") {
  TEST_CASE("lasso solutions satisfy the KKT conditions exactly") {
    for (unsigned seed = 1; seed <= 5; ++seed) {
      Eigen::MatrixXd g;
      Eigen::VectorXd b;
      random_problem(400, 30, seed, g, b);
      std::vector<Penalty> pen(30);
      for (int j = 0; j < 30; ++j) {
        pen[static_cast<size_t>(j)] = j < 2 ? Penalty{0.01, 0.0} : Penalty{0.0, 0.5 * seed};
      }
      Eigen::VectorXd w;
      SolveInfo info;
      REQUIRE(solve_penalized(g, b, pen, w, {}, &info).is_ok());
      CHECK(info.exact);
      CHECK(kkt_violation(g, b, pen, w) < 1e-10);
      CHECK(info.active < 30);  // the L1 penalty makes it sparse
    }
  }

  TEST_CASE("a warm start reaches the same optimum") {
    Eigen::MatrixXd g;
    Eigen::VectorXd b;
    random_problem(300, 20, 9, g, b);
    std::vector<Penalty> pen(20, Penalty{0.001, 0.2});
    Eigen::VectorXd cold, warm = Eigen::VectorXd::Constant(20, 3.0);
    REQUIRE(solve_penalized(g, b, pen, cold).is_ok());
    REQUIRE(solve_penalized(g, b, pen, warm).is_ok());
    CHECK((cold - warm).cwiseAbs().maxCoeff() < 1e-9);
  }

  TEST_CASE("without L1 it is the ridge solution") {
    Eigen::MatrixXd g;
    Eigen::VectorXd b;
    random_problem(200, 12, 3, g, b);
    std::vector<Penalty> pen(12, Penalty{0.3, 0.0});
    Eigen::VectorXd w;
    REQUIRE(solve_penalized(g, b, pen, w).is_ok());
    const Eigen::VectorXd direct = (g + 0.3 * Eigen::MatrixXd::Identity(12, 12)).ldlt().solve(b);
    CHECK((w - direct).cwiseAbs().maxCoeff() < 1e-9);
  }

  TEST_CASE("a penalty larger than every gradient gives zero") {
    Eigen::MatrixXd g;
    Eigen::VectorXd b;
    random_problem(100, 5, 4, g, b);
    std::vector<Penalty> pen(5, Penalty{0.0, 1e6});
    Eigen::VectorXd w;
    REQUIRE(solve_penalized(g, b, pen, w).is_ok());
    CHECK(w.isZero());
  }

  TEST_CASE("malformed problems are errors, not crashes") {
    Eigen::MatrixXd g = Eigen::MatrixXd::Identity(3, 3);
    Eigen::VectorXd b = Eigen::VectorXd::Ones(3), w;
    CHECK(solve_penalized(g, Eigen::VectorXd::Ones(2), std::vector<Penalty>(3), w).code() ==
          Code::InvalidArgument);
    CHECK(solve_penalized(g, b, std::vector<Penalty>(2), w).code() == Code::InvalidArgument);
    CHECK(solve_penalized(g, b, std::vector<Penalty>(3, Penalty{-1, 0}), w).code() ==
          Code::InvalidArgument);
    Eigen::VectorXd nan_b = b;
    nan_b[1] = NAN;
    CHECK(solve_penalized(g, nan_b, std::vector<Penalty>(3), w).code() == Code::Numerical);
  }

  TEST_CASE("least absolute deviations ignore a few gross outliers") {
    const int n = 200;
    Eigen::MatrixXd x(n, 2);
    Eigen::VectorXd y(n);
    for (int i = 0; i < n; ++i) {
      x(i, 0) = 1;
      x(i, 1) = i / 10.0;
      y[i] = 3 + 0.5 * x(i, 1) + (i % 20 == 0 ? 1000.0 : 0.01 * ((i * 7) % 5 - 2));
    }
    auto w = solve_lad(x, y);
    REQUIRE(w.is_ok());
    CHECK(w.value()[0] == doctest::Approx(3).epsilon(0.01));
    CHECK(w.value()[1] == doctest::Approx(0.5).epsilon(0.01));
    CHECK(solve_lad(Eigen::MatrixXd(0, 2), Eigen::VectorXd(0)).status().code() ==
          Code::InvalidArgument);
  }
}
