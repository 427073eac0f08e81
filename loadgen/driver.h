// Driver: one thread, one uv_loop, N pipelined TCP connections to foreshard (or any Redis
// server). A pacer releases requests at the workload's target rate (a budget that grows with
// the rate's integral over time and is capped at 100 ms of backlog, so a stall never turns
// into an unbounded burst); each connection holds at most `pipeline` requests in flight.
// Requests are GET/SET built from precomputed RESP key encodings; replies are delimited with
// proxy::RespScanner, in order, and timed from the moment their batch was written to the
// moment their bytes were read. hiredis is not used: Debian's 0.14 has no async timeouts,
// and here every request has its own deadline (--timeout-ms): a slow reply within it is only
// a latency, past it the connection's in-flight requests count as timeouts and it reconnects.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "loadgen/stats.h"
#include "loadgen/workload.h"
#include "proxy/status.h"

namespace loadgen {

struct DriverConfig {
  std::string host = "127.0.0.1";
  int port = 6379;
  int connections = 8;
  int pipeline = 16;
  double duration = 60;
  double read_ratio = 0.8;
  int value_size = 64;
  int timeout_ms = 2000;
  bool prefill = false;        // SET every key once before the timed run (not counted as ops)
  std::string user, password;  // AUTH [user] password on every connection when set
  bool quiet = false;          // no progress lines
};

class Conn;

class Driver {
 public:
  Driver(const DriverConfig& cfg, Workload& workload, Stats& stats);
  ~Driver();
  // Runs to the end of the duration (or SIGINT/SIGTERM) and the drain of in-flight requests.
  // Returns the real seconds of the timed run.
  proxy::Result<double> run();

 private:
  friend class Conn;
  enum class Phase { Connecting, Prefill, Run, Draining, Done };

  void begin_when_settled();
  void start_run();
  // Releases the paced requests; a connection gets some only with at least min_room free.
  void dispatch(size_t min_room = 1);
  void on_tick();
  void on_second();
  void begin_drain();
  void finish_early();  // SIGINT/SIGTERM
  void advance();       // prefill complete -> run; drain complete -> stop
  void stop();
  uint64_t next_rand();
  double now_s() const;

  DriverConfig cfg_;
  Workload& w_;
  Stats& stats_;
  uv_loop_t loop_{};
  sockaddr_storage addr_{};
  std::vector<std::unique_ptr<Conn>> conns_;
  uv_timer_t tick_{}, second_{}, deadline_{};
  uv_signal_t sigint_{}, sigterm_{};
  Phase phase_ = Phase::Connecting;
  int settled_ = 0;  // connections that connected or failed once
  uint64_t start_ns_ = 0, last_budget_ns_ = 0, last_second_ns_ = 0, end_ns_ = 0;
  uint64_t drain_deadline_ns_ = 0;
  double rate_ = 0, budget_ = 0, sec_target_ = 0;
  size_t rr_ = 0;
  uint32_t prefill_next_ = 0, prefill_done_ = 0;
  uint64_t rng_;
  std::string get_head_, set_head_, value_, auth_;
};

}  // namespace loadgen
