// Stats: every counter the load generator keeps (single thread, no locks), the per-second
// series, the progress line on stderr and the JSON summary. Errors are counted by kind and
// all of them go into errors.total: error replies, requests past the deadline, requests lost
// with a failed connection, failed connection attempts, lost connections, protocol errors.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "loadgen/histogram.h"
#include "loadgen/workload.h"

namespace loadgen {

struct SecondSample {
  double t;         // real seconds since the start, at the end of this sample
  double sim_hour;  // simulated hour of day at t
  double target;    // ops/s the pacer aimed at, averaged over the sample
  double achieved;  // answered requests per second (error replies excluded)
  double p50_ms, p99_ms;
  uint64_t errors;
  std::vector<uint64_t> group_ops;  // answered requests per group in this sample
};

struct ErrorCounts {
  uint64_t error_replies = 0;     // "-ERR ..." and other error replies
  uint64_t timeouts = 0;          // requests unanswered after --timeout-ms
  uint64_t dropped = 0;           // requests in flight when their connection failed
  uint64_t connect_failures = 0;  // connection attempts that failed or timed out
  uint64_t disconnects = 0;       // established connections lost (EOF, reset, write error)
  uint64_t protocol = 0;          // unparsable reply bytes or replies nobody asked for
  uint64_t total() const {
    return error_replies + timeouts + dropped + connect_failures + disconnects + protocol;
  }
};

struct RunInfo {  // flags that are not part of WorkloadConfig, echoed in the summary
  std::string host;
  int port = 0;
  int connections = 0, pipeline = 0;
  double duration = 0, read_ratio = 0;
  int value_size = 0, timeout_ms = 0;
  bool prefill = false;
};

class Stats {
 public:
  explicit Stats(uint32_t groups);

  // One answered request sent at simulated `hour` (0..23) for `group`.
  void answered(uint64_t latency_ns, uint16_t group, uint8_t hour, bool flash, bool error_reply);
  void error_sample(const std::string& reply);  // keeps the first few distinct error replies
  ErrorCounts errors;
  uint64_t sent = 0;
  uint64_t prefilled = 0;
  uint64_t reconnects = 0;

  // Closes the current sample (`interval` real seconds long, `target_ops` paced meanwhile),
  // appends it to the series and prints the progress line.
  void close_second(const Workload& w, double t, double interval, double target_ops, bool quiet);
  std::string summary_json(const Workload& w, const RunInfo& run, double elapsed) const;

 private:
  uint64_t ok_ = 0, flash_ops_ = 0;
  Histogram overall_;
  std::array<Histogram, 24> by_hour_;
  std::vector<std::array<uint64_t, 24>> group_hour_;
  Histogram sec_hist_;
  uint64_t sec_ok_ = 0, sec_errors_base_ = 0;
  std::vector<uint64_t> sec_groups_;
  double target_total_ = 0;
  std::vector<SecondSample> series_;
  std::vector<std::string> samples_;
};

}  // namespace loadgen
