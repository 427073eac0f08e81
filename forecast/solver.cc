// Ridge + lasso least squares from the Gram matrix by feature-sign search
// (Lee, Battle, Raina & Ng 2007, "Efficient sparse coding algorithms", §2):
// an active-set method that ends at the exact minimiser, checked by the KKT
// conditions; and IRLS least absolute deviations.
#include "forecast/solver.h"

#include <algorithm>
#include <cmath>

namespace forecast {
namespace {

int sign_of(double x) { return (x > 0) - (x < 0); }

// 0.5 w'Hw - b'w + sum l1 |w|, H = G + diag(l2).
double objective(const Eigen::MatrixXd& h, const Eigen::VectorXd& b,
                 const std::vector<Penalty>& pen, const Eigen::VectorXd& w) {
  double v = 0.5 * w.dot(h * w) - b.dot(w);
  for (Eigen::Index j = 0; j < w.size(); ++j) v += pen[static_cast<size_t>(j)].l1 * std::abs(w[j]);
  return v;
}

}  // namespace

double kkt_violation(const Eigen::MatrixXd& g, const Eigen::VectorXd& b,
                     const std::vector<Penalty>& pen, const Eigen::VectorXd& w) {
  const Eigen::VectorXd grad = g * w - b;
  double worst = 0.0;
  for (Eigen::Index j = 0; j < w.size(); ++j) {
    const Penalty& pj = pen[static_cast<size_t>(j)];
    const double gj = grad[j] + pj.l2 * w[j];
    double v;
    if (pj.l1 == 0.0) {
      v = std::abs(gj);
    } else if (w[j] != 0.0) {
      v = std::abs(gj + pj.l1 * sign_of(w[j]));
    } else {
      v = std::max(0.0, std::abs(gj) - pj.l1);
    }
    worst = std::max(worst, v);
  }
  const double scale = std::max(1.0, b.size() ? b.cwiseAbs().maxCoeff() : 0.0);
  return worst / scale;
}

Status solve_penalized(const Eigen::MatrixXd& g, const Eigen::VectorXd& b,
                       const std::vector<Penalty>& pen, Eigen::VectorXd& w_io,
                       const SolverOptions& opt, SolveInfo* info) {
  const Eigen::Index p = b.size();
  if (g.rows() != p || g.cols() != p || static_cast<Eigen::Index>(pen.size()) != p) {
    return Status(Code::InvalidArgument, "solver: Gram, X'y and penalties disagree in size");
  }
  if (!g.allFinite() || !b.allFinite()) return Status(Code::Numerical, "solver: non-finite input");
  for (const Penalty& q : pen) {
    if (!(q.l1 >= 0) || !(q.l2 >= 0) || !std::isfinite(q.l1) || !std::isfinite(q.l2)) {
      return Status(Code::InvalidArgument, "solver: penalties must be finite and >= 0");
    }
  }
  Eigen::MatrixXd h = g;
  for (Eigen::Index j = 0; j < p; ++j) h(j, j) += pen[static_cast<size_t>(j)].l2;
  const double scale = std::max(1.0, p ? b.cwiseAbs().maxCoeff() : 0.0);
  const double tol = opt.tolerance * scale;
  SolveInfo local;

  // Feature-sign search. Columns without an L1 term are always in the
  // support; an L1 column joins when its gradient exceeds its penalty and
  // leaves when the line search takes it to zero.
  Eigen::VectorXd w = w_io.size() == p && w_io.allFinite() ? w_io : Eigen::VectorXd::Zero(p);
  std::vector<int> sgn(static_cast<size_t>(p));
  for (Eigen::Index j = 0; j < p; ++j) sgn[static_cast<size_t>(j)] = sign_of(w[j]);
  bool need_activation = true;
  for (local.steps = 0; local.steps < opt.max_steps;) {
    Eigen::VectorXd grad = h * w - b;
    if (need_activation) {
      // Step 2: the zero L1 coefficient that violates optimality most joins.
      Eigen::Index best = -1;
      double best_excess = tol;
      for (Eigen::Index j = 0; j < p; ++j) {
        const Penalty& q = pen[static_cast<size_t>(j)];
        if (q.l1 == 0.0 || w[j] != 0.0) continue;
        const double excess = std::abs(grad[j]) - q.l1;
        if (excess > best_excess) best_excess = excess, best = j;
      }
      if (best >= 0)
        sgn[static_cast<size_t>(best)] = grad[best] > 0 ? -1 : 1;
      else if (local.steps > 0)
        break;  // nothing to add and the support is optimal
    }
    // Step 3: minimise the quadratic on the support with the signs fixed.
    std::vector<Eigen::Index> act;
    for (Eigen::Index j = 0; j < p; ++j) {
      if (pen[static_cast<size_t>(j)].l1 == 0.0 || sgn[static_cast<size_t>(j)] != 0)
        act.push_back(j);
    }
    const auto k = static_cast<Eigen::Index>(act.size());
    Eigen::MatrixXd ha(k, k);
    Eigen::VectorXd rhs(k);
    for (Eigen::Index a = 0; a < k; ++a) {
      for (Eigen::Index c = 0; c < k; ++c) ha(a, c) = h(act[a], act[c]);
      rhs[a] = b[act[a]] - pen[static_cast<size_t>(act[a])].l1 * sgn[static_cast<size_t>(act[a])];
    }
    Eigen::LDLT<Eigen::MatrixXd> ldlt(ha);
    Eigen::VectorXd wa = ldlt.solve(rhs);
    ++local.steps;
    if (ldlt.info() != Eigen::Success || !wa.allFinite()) {
      return Status(Code::Numerical, "solver: singular system on the active set");
    }
    Eigen::VectorXd target = Eigen::VectorXd::Zero(p);
    for (Eigen::Index a = 0; a < k; ++a) target[act[a]] = wa[a];
    // Line search: the target, or the first points where an L1 coefficient
    // crosses zero, whichever has the lowest objective (all lower than now).
    std::vector<std::pair<double, Eigen::Index>> cuts;
    for (Eigen::Index j = 0; j < p; ++j) {
      if (pen[static_cast<size_t>(j)].l1 == 0.0 || w[j] == 0.0) continue;
      if (sign_of(target[j]) != sign_of(w[j])) cuts.push_back({w[j] / (w[j] - target[j]), j});
    }
    Eigen::VectorXd best_w = target;
    double best_obj = objective(h, b, pen, target);
    for (const auto& [alpha, jc] : cuts) {
      Eigen::VectorXd cand = w + alpha * (target - w);
      cand[jc] = 0.0;  // exactly at the crossing
      // Coordinates that crossed earlier on the segment stop at zero too.
      for (Eigen::Index j = 0; j < p; ++j) {
        if (pen[static_cast<size_t>(j)].l1 > 0 && sign_of(cand[j]) != sgn[static_cast<size_t>(j)])
          cand[j] = 0;
      }
      const double o = objective(h, b, pen, cand);
      if (o < best_obj) best_obj = o, best_w = cand;
    }
    w = best_w;
    for (Eigen::Index j = 0; j < p; ++j) {
      if (pen[static_cast<size_t>(j)].l1 > 0 && sign_of(w[j]) != sgn[static_cast<size_t>(j)])
        w[j] = 0;
      sgn[static_cast<size_t>(j)] = sign_of(w[j]);
    }
    // Step 4(a): are the non-zero coefficients optimal? If not, another
    // feature-sign step on the same support; else look for a new member.
    grad = h * w - b;
    bool nonzero_ok = true;
    for (Eigen::Index j = 0; j < p; ++j) {
      const Penalty& q = pen[static_cast<size_t>(j)];
      if (q.l1 > 0 && w[j] == 0.0) continue;
      if (std::abs(grad[j] + q.l1 * sign_of(w[j])) > tol) nonzero_ok = false;
    }
    need_activation = nonzero_ok;
  }
  if (!w.allFinite()) return Status(Code::Numerical, "solver: diverged");
  local.exact = kkt_violation(g, b, pen, w) <= opt.tolerance;
  local.active = static_cast<int>((w.array() != 0.0).count());
  if (info) *info = local;
  w_io = w;
  return Status::ok();
}

Result<Eigen::VectorXd> solve_lad(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, double ridge,
                                  int iterations) {
  const Eigen::Index n = x.rows(), p = x.cols();
  if (y.size() != n || n == 0 || p == 0) {
    return Status(Code::InvalidArgument, "lad: empty or mismatched X and y");
  }
  if (!x.allFinite() || !y.allFinite()) return Status(Code::Numerical, "lad: non-finite input");
  // Weighted normal equations (X'WX + ridge I) w = X'Wy, accumulated row by
  // row: X is tall and thin, and this avoids an n-sized temporary per round.
  Eigen::MatrixXd a(p, p);
  Eigen::VectorXd rhs(p), w(p), r(n);
  auto solve_weighted = [&](const Eigen::VectorXd* wt) {
    a.setZero();
    rhs.setZero();
    for (Eigen::Index j = 0; j < p; ++j) {  // column-major X: walk columns
      const double* xj = x.col(j).data();
      for (Eigen::Index k = 0; k <= j; ++k) {
        const double* xk = x.col(k).data();
        double acc = 0;
        for (Eigen::Index i = 0; i < n; ++i) acc += (wt ? (*wt)[i] : 1.0) * xj[i] * xk[i];
        a(j, k) = acc;
      }
      double acc = 0;
      for (Eigen::Index i = 0; i < n; ++i) acc += (wt ? (*wt)[i] : 1.0) * xj[i] * y[i];
      rhs[j] = acc;
    }
    for (Eigen::Index j = 0; j < p; ++j) a(j, j) += ridge;
    return Eigen::VectorXd(a.selfadjointView<Eigen::Lower>().ldlt().solve(rhs));
  };
  w = solve_weighted(nullptr);
  r = (y - x * w).cwiseAbs();
  double prev = r.sum();
  Eigen::VectorXd wt(n);
  for (int it = 0; it < iterations && w.allFinite(); ++it) {
    // Floor the residual so exact fits do not get infinite weight (the usual
    // IRLS guard); relative to the typical residual so it is scale free.
    const double floor_r = std::max(1e-6 * r.mean(), 1e-300);
    for (Eigen::Index i = 0; i < n; ++i) wt[i] = 1.0 / std::max(r[i], floor_r);
    const Eigen::VectorXd next = solve_weighted(&wt);
    if (!next.allFinite()) break;
    r = (y - x * next).cwiseAbs();
    const double obj = r.sum();
    w = next;
    if (prev - obj <= 1e-6 * prev) break;
    prev = obj;
  }
  if (!w.allFinite()) return Status(Code::Numerical, "lad: diverged");
  return w;
}

}  // namespace forecast
