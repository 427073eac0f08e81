// Migrations: the operator's and the balancer's handle on segment moves.
// Queues moves (one runs at a time: each already uses both backends hard),
// answers FORESHARD MIGRATE / MIGRATIONS / ABORT / SPLIT / MERGE / DRAIN, and
// at start-up recovers what a crash left: a segment still MIGRATING or
// SWITCHING goes back to STABLE(src) (the source is complete by the
// invariant) and journalled cleanups are finished. Admin calls come from
// worker threads; poll() runs on the control loop every second.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "migrate/cleanup_journal.h"
#include "migrate/map_authority.h"
#include "migrate/migration.h"
#include "proxy/context.h"
#include "proxy/control_plane.h"

namespace migrate {

class Migrations {
 public:
  Migrations(proxy::ProxyContext& ctx, MapAuthority& auth);
  ~Migrations();

  // FORESHARD <args...> for the subcommands above; `error` set when the reply
  // is an error. Any thread.
  std::string admin(const std::vector<std::string>& args, bool* error);
  // Control loop: starts the next queued move, keeps the finished ones' lines.
  void poll();
  size_t active() const;
  // Moves running or queued (the balancer's in-flight list), by slot range.
  struct Flight {
    uint32_t first = 0, last = 0;
    uint16_t to = 0;
  };
  std::vector<Flight> in_flight() const;
  bool recovering() const;
  // Process shutdown: drops the queue, aborts the running move (the map goes
  // back to its source; the destination's cleanup waits for the next start).
  void shutdown();
  // Counters, histograms and the running move's figures for /metrics.
  proxy::MigrationGauges gauges() const;

 private:
  struct Move {
    uint32_t first, last;
    uint16_t dst;
  };
  std::string migrate_cmd(const std::vector<std::string>& args, bool* error);
  std::string abort_cmd(const std::vector<std::string>& args, bool* error);
  std::string split_cmd(const std::vector<std::string>& args, bool* error);
  std::string merge_cmd(const std::vector<std::string>& args, bool* error);
  std::string drain_cmd(const std::vector<std::string>& args, bool* error);
  std::string list() const;
  void recover();  // constructor: undo half-done moves, start journalled cleanups
  // Runs the journal's cleanups on a thread (recovering_ while it runs); under mu_.
  void start_cleanups();

  proxy::ProxyContext& ctx_;
  MapAuthority& auth_;
  CleanupJournal journal_;
  mutable std::mutex mu_;
  std::deque<Move> queue_;
  std::unique_ptr<Migration> running_;
  std::vector<std::string> history_;  // lines of finished moves, newest last (last 50)
  void record_finished(const Migration& m);  // under mu_
  proxy::MigrationGauges gauges_;
  std::thread recovery_;
  bool recovering_ = false;
  std::chrono::steady_clock::time_point last_cleanup_try_;
};

}  // namespace migrate
