#!/usr/bin/python3
"""Regenerates tests/forecast/testdata: small committed series and the outputs
of independent reference implementations that tests/forecast/*_test.cc compare
the C++ forecast library against (golden-value tests).

  grid_*.csv        python's to_grid (median step, bin mean) on irregular rows
  design_*.csv      the Prophet design matrix (numpy) at chosen times
  ridge_*.csv       numpy least squares with fixed changepoints and a ridge
                    (the reference tool's ProphetRidge, sigma re-estimated)
  lasso_*.csv       the Laplace-prior (L1) MAP solved by FISTA to 1e-13
  hw_*.csv          statsmodels ExponentialSmoothing with FIXED parameters and
                    known initial state: one-step fitted values and forecasts
  snaive_*.csv      seasonal naive forecasts (numpy, k-season fallback)
  backtest_*.csv    MASE/sMAPE of tools/forecast-baselines.py evaluate() on the
                    small series (skipped when the tool is not found)

Run with Debian's python: /usr/bin/python3 scripts/make_goldens.py
(apt-get install python3-numpy python3-statsmodels). Deterministic: fixed seeds.
"""
import argparse
import csv
import datetime as dt
import importlib.util
import math
import os
import sys

import numpy as np
from statsmodels.tsa.holtwinters import ExponentialSmoothing

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "forecast", "testdata")
EPOCH = dt.datetime(1970, 1, 1)
FMT = "%Y-%m-%d %H:%M:%S"


def to_str(sec):
    return (EPOCH + dt.timedelta(seconds=float(sec))).strftime(FMT)


def to_sec(s):
    return (dt.datetime.strptime(s, FMT) - EPOCH).total_seconds()


def write(name, header, rows):
    with open(os.path.join(OUT, name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([repr(float(x)) if isinstance(x, (float, np.floating)) else x for x in r])
    print("wrote", name, len(rows), "rows")


def write_series(name, tsec, y):
    """timestamp,value rows (the traces' format); NaN rows are left out."""
    with open(os.path.join(OUT, name), "w") as f:
        f.write("timestamp,value\n")
        for t, v in zip(tsec, y):
            if not math.isnan(v):
                f.write(f"{to_str(t)},{v!r}\n")
    print("wrote", name)


# ------------------------------------------------------------------ series
def make_series():
    """10 days at 30 min from a Monday: trend + daily + weekly + noise, 5% gaps,
    and the same without gaps (Holt-Winters / statsmodels cannot take NaN)."""
    rng = np.random.default_rng(7)
    step = 1800
    t0 = to_sec("2024-03-04 00:00:00")
    n = 10 * 48
    t = t0 + step * np.arange(n)
    d = (t - t0) / 86400.0
    y = (200 + 3.0 * d + 40 * np.sin(2 * np.pi * d) + 15 * np.cos(4 * np.pi * d)
         + 10 * np.sin(2 * np.pi * d / 7) + rng.normal(0, 6, n))
    y = np.round(y, 3)
    gappy = y.copy()
    gappy[rng.choice(np.arange(5, n - 5), size=n // 20, replace=False)] = np.nan
    return t, y, gappy, step


def grid_golden():
    """Irregular rows: 5-minute nominal spacing with jitter, duplicates in a
    bin, absent rows, an unsorted pair; gridded by the reference to_grid."""
    rng = np.random.default_rng(11)
    base = to_sec("2015-02-26 21:42:53")
    ts = [base + 300 * i + int(rng.integers(-40, 41)) for i in range(200) if i % 17 != 5]
    ts += [ts[10] + 20, ts[50] + 1]        # two more samples in existing bins
    vs = list(np.round(rng.gamma(3, 20, len(ts)), 2))
    ts[3], ts[4] = ts[4], ts[3]            # rows out of order; the loader sorts
    with open(os.path.join(OUT, "grid_input.csv"), "w") as f:
        f.write("timestamp,value\n")
        for a, b in zip(ts, vs):
            f.write(f"{to_str(a)},{b}\n")
    o = np.argsort(np.array(ts, float), kind="stable")
    tss, vss = np.array(ts, float)[o], np.array(vs, float)[o]
    d = np.diff(tss)
    step = float(np.median(d[d > 0]))
    step = max(60.0, round(step / 60.0) * 60.0)
    g0 = math.floor(tss[0] / step) * step
    idx = np.floor((tss - g0) / step).astype(np.int64)
    n = int(idx[-1]) + 1
    s = np.bincount(idx, weights=vss, minlength=n)
    c = np.bincount(idx, minlength=n)
    y = np.full(n, np.nan)
    y[c > 0] = s[c > 0] / c[c > 0]
    write("grid_expected.csv", ["epoch", "value"], [(int(g0 + step * i), y[i]) for i in range(n)])


# ------------------------------------------------------------------ Prophet design and fits
def fourier(tsec, period_days, order):
    td = tsec / 86400.0
    cols = []
    for i in range(1, order + 1):
        x = 2.0 * math.pi * i * td / period_days
        cols += [np.sin(x), np.cos(x)]
    return np.column_stack(cols)


def prophet_design(tobs, n_cp=25, cp_range=0.8, daily=10, weekly=3):
    t0, tscale = tobs[0], max(tobs[-1] - tobs[0], 1.0)
    hist = int(math.floor(len(tobs) * cp_range))
    ncp = min(n_cp, max(hist - 1, 0))
    ix = np.round(np.linspace(0, hist - 1, ncp + 1)).astype(int)[1:]
    cps = (tobs[ix] - t0) / tscale

    def design(tsec):
        ts = (tsec - t0) / tscale
        parts = [np.ones((len(ts), 1)), ts[:, None], np.maximum(ts[:, None] - cps[None, :], 0.0)]
        if daily:
            parts.append(fourier(tsec, 1.0, daily))
        if weekly:
            parts.append(fourier(tsec, 7.0, weekly))
        return np.hstack(parts)
    return design, cps


def prior_vars(ncp, ncols, cp_scale=0.05, seas_scale=10.0):
    return np.concatenate([[25.0, 25.0], np.full(ncp, 2 * cp_scale ** 2),
                           np.full(ncols - 2 - ncp, seas_scale ** 2)])


def fista_lasso(G, b, l2, l1, iters=200000, tol=1e-13):
    """min 0.5 w'Gw - b'w + sum 0.5 l2 w^2 + l1 |w| by FISTA (Beck & Teboulle 2009)."""
    H = G + np.diag(l2)
    L = np.linalg.eigvalsh(H).max()
    w = np.zeros(len(b))
    z, tk = w.copy(), 1.0
    for _ in range(iters):
        g = H @ z - b
        u = z - g / L
        wn = np.sign(u) * np.maximum(np.abs(u) - l1 / L, 0.0)
        tn = (1 + math.sqrt(1 + 4 * tk * tk)) / 2
        z = wn + ((tk - 1) / tn) * (wn - w)
        if np.max(np.abs(wn - w)) < tol * max(1.0, np.max(np.abs(wn))):
            w = wn
            break
        w, tk = wn, tn
    return w


def prophet_goldens(t, gappy):
    ok = ~np.isnan(gappy)
    tobs, yobs = t[ok], gappy[ok]
    # Design rows at a few times (inside, at, and after the history).
    design, cps = prophet_design(tobs, n_cp=5, cp_range=0.8, daily=3, weekly=2)
    probe = np.array([tobs[0], tobs[7], tobs[len(tobs) // 2], tobs[-1], tobs[-1] + 86400 * 1.5])
    X = design(probe)
    write("design_expected.csv", ["epoch"] + [f"c{j}" for j in range(X.shape[1])],
          [[int(probe[i])] + list(X[i]) for i in range(len(probe))])

    # Ridge MAP (Normal prior on deltas) with sigma re-estimation: the reference
    # tool's ProphetRidge with daily 10 / weekly 3 and 25 changepoints.
    yscale = np.max(np.abs(yobs))
    ys = yobs / yscale
    design, cps = prophet_design(tobs)
    X = design(tobs)
    pv = prior_vars(len(cps), X.shape[1])
    XtX, Xty = X.T @ X, X.T @ ys
    sigma2 = np.var(ys) + 1e-12
    for _ in range(3):
        w = np.linalg.solve(XtX + np.diag(sigma2 / pv), Xty)
        r = ys - X @ w
        sigma2 = max(float(np.mean(r * r)), 1e-12)
    future = tobs[-1] + 1800 * np.arange(1, 97)
    write("ridge_coef.csv", ["j", "w"], [(j, w[j]) for j in range(len(w))])
    write("ridge_forecast.csv", ["epoch", "yhat"],
          [(int(a), b) for a, b in zip(future, design(future) @ w * yscale)])

    # Laplace MAP (L1 on deltas) with the same sigma re-estimation, FISTA.
    sigma2 = np.var(ys) + 1e-12
    ncp = len(cps)
    for _ in range(3):
        l2 = sigma2 / pv
        l1 = np.zeros_like(l2)
        l2[2:2 + ncp] = 0.0
        l1[2:2 + ncp] = sigma2 / 0.05
        w = fista_lasso(XtX, Xty, l2, l1)
        r = ys - X @ w
        sigma2 = max(float(np.mean(r * r)), 1e-12)
    write("lasso_coef.csv", ["j", "w"], [(j, w[j]) for j in range(len(w))])
    write("lasso_forecast.csv", ["epoch", "yhat"],
          [(int(a), b) for a, b in zip(future, design(future) @ w * yscale)])


# ------------------------------------------------------------------ Holt-Winters (statsmodels)
def hw_goldens(y, m):
    a, b = y[:m], y[m:2 * m]
    l0 = float(np.mean(a))
    b0 = float((np.mean(b) - l0) / m)
    s0 = list(a - l0)
    params = dict(alpha=0.35, beta=0.08, gamma=0.2, phi=0.92)
    fit = ExponentialSmoothing(
        y, trend="add", damped_trend=True, seasonal="add", seasonal_periods=m,
        initialization_method="known", initial_level=l0, initial_trend=b0,
        initial_seasonal=s0).fit(
        smoothing_level=params["alpha"], smoothing_trend=params["beta"],
        smoothing_seasonal=params["gamma"], damping_trend=params["phi"], optimized=False)
    write("hw_params.csv", ["name", "value"], list(params.items()))
    write("hw_fitted.csv", ["t", "one_step"], list(enumerate(fit.fittedvalues)))
    write("hw_forecast.csv", ["lead", "yhat"], [(i + 1, v) for i, v in enumerate(fit.forecast(2 * m))])


# ------------------------------------------------------------------ seasonal naive
def snaive_goldens(gappy, m):
    rows = []
    n = len(gappy)
    for h in (1, m, m + 3):
        for T in range(2 * m, n):
            k, v = max(1, -(-h // m)), np.nan
            while k <= 8:
                j = T - k * m
                if j < 0:
                    break
                if not math.isnan(gappy[j]):
                    v = gappy[j]
                    break
                k += 1
            rows.append((h, T, v))
    write("snaive_expected.csv", ["h", "T", "yhat"], rows)


# ------------------------------------------------------------------ reference backtest
def backtest_goldens(baselines_path):
    if not os.path.exists(baselines_path):
        print("skip backtest goldens: no", baselines_path)
        return
    spec = importlib.util.spec_from_file_location("fb", baselines_path)
    fb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fb)
    res = fb.evaluate(os.path.join(OUT, "series_gappy.csv"))
    rows = []
    for meth in ("naive", "snaive_d", "hw", "hw_damped", "prophet_r"):
        for hn in ("1h", "1d"):
            v = res["methods"][meth][hn]
            rows.append((meth, hn, v["MASE"], v["sMAPE"]))
    write("backtest_expected.csv", ["method", "horizon", "mase", "smape"], rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baselines", default=os.path.join(ROOT, "..", "shared", "tools", "forecast-baselines.py"),
                    help="path of tools/forecast-baselines.py for the backtest goldens")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    t, y, gappy, step = make_series()
    m = 86400 // step
    write_series("series_full.csv", t, y)
    write_series("series_gappy.csv", t, gappy)
    grid_golden()
    prophet_goldens(t, gappy)
    hw_goldens(y, m)
    snaive_goldens(gappy, m)
    backtest_goldens(args.baselines)


if __name__ == "__main__":
    sys.exit(main())
