// Migrations: the operator's and the balancer's handle on segment moves.
// Queues moves (one runs at a time: each already uses both backends hard),
// answers FORESHARD MIGRATE / MIGRATIONS / ABORT / SPLIT / MERGE / DRAIN, and
// at start-up recovers what a crash left: a segment still MIGRATING or
// SWITCHING goes back to STABLE(src) (the source is complete by the
// invariant) and journalled cleanups are finished. Admin calls come from
// worker threads; poll() runs on the control loop every second.
#pragma once

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
  // Process shutdown: drops the queue, aborts the running move (the map goes
  // back to its source; the destination's cleanup waits for the next start).
  void shutdown();
  // Totals for /metrics.
  struct Totals {
    uint64_t done = 0, aborted = 0, keys = 0, bytes = 0;
    std::vector<double> switch_pauses_ms;  // of completed moves, oldest first (last 1000)
  };
  Totals totals() const;

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

  proxy::ProxyContext& ctx_;
  MapAuthority& auth_;
  CleanupJournal journal_;
  mutable std::mutex mu_;
  std::deque<Move> queue_;
  std::unique_ptr<Migration> running_;
  std::vector<std::string> history_;  // lines of finished moves, newest last (last 50)
  Totals totals_;
  std::thread recovery_;
  bool recovering_ = false;
};

}  // namespace migrate
