// Penalised least squares for the Prophet MAP (ridge on seasonal/trend terms, lasso on
// changepoint deltas), solved exactly from the Gram matrix by feature-sign search
// (Lee, Battle, Raina & Ng 2007) and checked by the KKT conditions; plus IRLS least
// absolute deviations.
#pragma once

#include <Eigen/Dense>
#include <vector>

#include "forecast/status.h"

namespace forecast {

// Per-column penalty: 0.5 * l2 * w^2 + l1 * |w|.
struct Penalty {
  double l2 = 0;
  double l1 = 0;
};

struct SolverOptions {
  int max_steps = 500;       // feature-sign steps (one linear solve each) before giving up
  double tolerance = 1e-10;  // relative KKT violation accepted as optimal
};

struct SolveInfo {
  int steps = 0;       // linear solves done
  bool exact = false;  // the result passed the KKT check
  int active = 0;      // non-zero coefficients
};

// Minimises  0.5 w'Gw - b'w + sum_j (0.5 l2_j w_j^2 + l1_j |w_j|)
// i.e. 0.5 ||y - Xw||^2 + penalties with G = X'X, b = X'y.
// `w` is the warm start on entry (resized to zeros if its size is wrong) and
// the minimiser on return. Fails (w untouched) on mismatched sizes, negative
// penalties or non-finite input; G + diag(l2) must be positive definite on
// every support visited (true when l2 > 0 on the columns without l1, as in
// Prophet, and X has full column rank or l2 > 0 everywhere).
Status solve_penalized(const Eigen::MatrixXd& gram, const Eigen::VectorXd& xty,
                       const std::vector<Penalty>& penalty, Eigen::VectorXd& w,
                       const SolverOptions& options = {}, SolveInfo* info = nullptr);

// Largest violation of the optimality (KKT) conditions of the problem above,
// relative to max(1, |b|_inf): 0 at the exact minimiser. Used by the tests.
double kkt_violation(const Eigen::MatrixXd& gram, const Eigen::VectorXd& xty,
                     const std::vector<Penalty>& penalty, const Eigen::VectorXd& w);

// Least absolute deviations: argmin_w sum_i |y_i - x_i'w| (+ 0.5 * ridge * |w|^2
// to keep it well posed), by iteratively reweighted least squares. X is small
// (a few columns); rows with non-finite entries must be removed by the caller.
Result<Eigen::VectorXd> solve_lad(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                  double ridge = 1e-9, int iterations = 25);

}  // namespace forecast
