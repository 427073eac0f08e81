// foreshard-load: the project's load generator. Drives a compressed-time seasonal workload
// (groups of hash-slot ranges with phase-shifted daily cycles, an optional flash crowd)
// through foreshard or any Redis server; progress per second on stderr, a JSON summary on
// stdout (and --json FILE). Exit code 0 when the run completed (errors are in the summary),
// 1 when it could not start, 2 on bad usage.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "loadgen/driver.h"
#include "loadgen/stats.h"
#include "loadgen/workload.h"

int main(int argc, char** argv) {
  loadgen::WorkloadConfig wc;
  loadgen::DriverConfig dc;
  std::string json_path, flash_slots;
  CLI::App app{"foreshard-load: compressed-time seasonal load with shifting hot slot ranges"};
  app.add_option("--host", dc.host, "server address")->capture_default_str();
  app.add_option("--port", dc.port, "server port")->capture_default_str();
  app.add_option("-c,--connections", dc.connections, "TCP connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("-P,--pipeline", dc.pipeline, "max requests in flight per connection")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--duration", dc.duration, "real seconds of load")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--day-seconds", wc.day_seconds, "real seconds per simulated day")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--start-hour", wc.start_hour, "simulated hour of day at the start")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 24.0));
  app.add_option("--peak-ops", wc.peak_ops, "target aggregate ops/s at the daily peak")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--keys", wc.keys, "keys in the keyspace")->capture_default_str();
  app.add_option("--key-prefix", wc.key_prefix, "key name prefix")->capture_default_str();
  app.add_option("--value-size", dc.value_size, "SET value bytes")
      ->capture_default_str()
      ->check(CLI::Range(0, 64 << 20));
  app.add_option("--read-ratio", dc.read_ratio, "share of GETs (the rest are SETs)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--groups", wc.groups, "slot-range groups, each with its own daily cycle")
      ->capture_default_str();
  app.add_option("--slots", wc.slots, "hash slots (foreshard's `slots:`)")->capture_default_str();
  app.add_option("--peak-hour", wc.peak_hour, "centre of the group peaks (hour of day)")
      ->capture_default_str();
  app.add_option("--phase-spread", wc.phase_spread,
                 "group peaks spread evenly over this many hours around --peak-hour")
      ->capture_default_str();
  app.add_option("--amplitude", wc.amplitude,
                 "daily amplitude in [0,1]; each group gets 75..100% of it (seeded)")
      ->capture_default_str();
  app.add_option("--group-peaks", wc.group_peaks, "explicit peak hour per group")->delimiter(',');
  app.add_option("--group-amps", wc.group_amps, "explicit amplitude per group")->delimiter(',');
  app.add_option("--flash-at", wc.flash_at, "real second of an unforecast flash crowd");
  app.add_option("--flash-slots", flash_slots, "slot range a-b of the flash crowd");
  app.add_option("--flash-mult", wc.flash_mult, "traffic multiplier of the flash keys")
      ->capture_default_str();
  app.add_option("--flash-duration", wc.flash_duration,
                 "real seconds of the flash crowd (default: one simulated hour)");
  app.add_option("--zipf", wc.zipf,
                 "key skew inside a group: weight 1/rank^s, hot keys scattered (0: uniform)")
      ->capture_default_str();
  app.add_option("--seed", wc.seed, "seed of every random choice")->capture_default_str();
  app.add_option("--timeout-ms", dc.timeout_ms,
                 "a request unanswered this long is an error (timeout); its connection reconnects")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600000));
  app.add_option("--user", dc.user, "AUTH user name (with --password)");
  app.add_option("--password", dc.password, "AUTH on every connection (foreshard `password:`)");
  app.add_flag("--prefill", dc.prefill, "SET every key once before the timed run");
  app.add_option("--json", json_path, "also write the JSON summary to this file");
  app.add_flag("-q,--quiet", dc.quiet, "no per-second progress lines");
  CLI11_PARSE(app, argc, argv);

  if (!flash_slots.empty()) {
    unsigned a = 0, b = 0;
    char dash = 0;
    if (std::sscanf(flash_slots.c_str(), "%u%c%u", &a, &dash, &b) != 3 || dash != '-') {
      std::cerr << "foreshard-load: --flash-slots must be a-b\n";
      return 2;
    }
    wc.flash_first = a;
    wc.flash_last = b;
  }
  if (wc.flash_at >= 0 && flash_slots.empty()) {
    std::cerr << "foreshard-load: --flash-at needs --flash-slots\n";
    return 2;
  }
  auto workload = loadgen::Workload::build(wc);
  if (!workload.is_ok()) {
    std::cerr << "foreshard-load: " << workload.status().message() << "\n";
    return 2;
  }
  loadgen::Stats stats(wc.groups);
  loadgen::Driver driver(dc, workload.value(), stats);
  auto elapsed = driver.run();
  if (!elapsed.is_ok()) {
    std::cerr << "foreshard-load: " << elapsed.status().message() << "\n";
    return 1;
  }
  loadgen::RunInfo info{dc.host,       dc.port,       dc.connections, dc.pipeline, dc.duration,
                        dc.read_ratio, dc.value_size, dc.timeout_ms,  dc.prefill};
  std::string json = stats.summary_json(workload.value(), info, elapsed.value());
  std::cout << json << std::flush;
  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << json;
    if (!f) {
      std::cerr << "foreshard-load: cannot write " << json_path << "\n";
      return 1;
    }
  }
  return 0;
}
