// `foreshard simulate ...`: replays a trace-driven workload on a simulated
// fleet under each balancer mode (static, reactive, predictive, oracle, and
// predictive with noisy forecasts), with the same planner as the proxy, and
// prints a summary table plus SVG plots. The model: docs/BALANCER.md.
#pragma once

// argv[0] is "simulate"; --help lists the flags. Progress goes to stderr, the
// markdown summary to stdout. Returns 0 on success, 1 when the traces cannot
// be read, 2 on a usage error.
int run_simulate_command(int argc, char** argv);
