// Migration: one segment moving from its owner to another backend (DESIGN §6),
// on its own thread with blocking connections to both backends (RedisConn).
//
//   preflight -> clean dst -> MIGRATING (tracker armed, workers' barrier)
//     -> bulk copy (big keys in chunks: big_key_copy.h) -> catch-up rounds
//     (once: the whole-range key count, range_count.h; then the sample
//     validation) -> SWITCHING (new writes held, pending
//     writes drained, last dirty keys copied, digests validated)
//     -> STABLE(dst) -> cleanup of src
//   any failure or ABORT before STABLE(dst) -> STABLE(src) -> cleanup of dst
//
// Every state is saved (MapAuthority) before it acts. Until STABLE(dst) is on
// disk no write reaches dst through the proxy and src has every acknowledged
// write, so a crash at any point loses nothing (restart: recover()).
//
// Progress is a set of atomics read by FORESHARD MIGRATIONS and /metrics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "migrate/big_key_copy.h"
#include "migrate/cleanup_journal.h"
#include "migrate/map_authority.h"
#include "migrate/redis_conn.h"
#include "proxy/context.h"
#include "proxy/migration_tracker.h"

namespace migrate {

enum class Phase : uint8_t { Queued, Preflight, Copy, CatchUp, Switching, Cleanup, Done, Aborted };
const char* phase_name(Phase p);
// The phase's label in Prometheus metrics ("copying", "catching_up", ...).
const char* phase_metric_label(Phase p);
constexpr size_t kPhaseCount = size_t(Phase::Aborted) + 1;

// Whether `backend` owns any slot of [first, last] in `map`: keys are never
// deleted from an owner, whatever a cleanup job says.
bool owns_any(const proxy::SegmentMap& map, uint16_t backend, uint32_t first, uint32_t last);

struct MigrationOptions {
  uint32_t scan_count = 1000;           // SCAN COUNT on src
  uint32_t batch_keys = 200;            // keys per DUMP/RESTORE pipeline
  uint64_t max_keys_per_s = 0;          // 0 = unlimited (migrationPriority high)
  uint32_t catchup_target = 64;         // dirty keys small enough to switch
  uint32_t max_switch_pause_ms = 2000;  // the write hold is bounded by this
  uint32_t validation_sample = 100;     // clean keys re-digested at the switch
  uint32_t interval_ms = 1000;          // validationInterval: between catch-up rounds
  int timeout_ms = 5000;                // each backend call
  BigKeyOptions big;                    // bigKeyElements: chunked copy of big keys
};

MigrationOptions options_for(const proxy::Config& cfg);

class Migration {
 public:
  Migration(proxy::ProxyContext& ctx, MapAuthority& auth, CleanupJournal& journal,
            uint32_t first_slot, uint32_t last_slot, uint16_t src, uint16_t dst,
            MigrationOptions opt);
  ~Migration();

  void start();             // spawns the thread
  void request_abort();     // any thread; acted on at the next step
  // Shutting down: an abort leaves the destination's cleanup to the journal
  // (the next start does it) instead of making the process wait.
  void set_shutting_down() { shutting_down_.store(true); }
  bool finished() const { return phase_.load() == Phase::Done || phase_.load() == Phase::Aborted; }
  void join();

  // One line for FORESHARD MIGRATIONS.
  std::string describe() const;
  Phase phase() const { return phase_.load(); }
  uint32_t first_slot() const { return first_; }
  uint32_t last_slot() const { return last_; }
  uint16_t src() const { return src_; }
  uint16_t dst() const { return dst_; }
  uint64_t keys_copied() const { return keys_copied_.load(); }
  uint64_t bytes_copied() const { return bytes_copied_.load(); }
  double switch_pause_ms() const { return switch_pause_ms_.load(); }
  uint64_t mismatches() const { return mismatches_.load(); }
  // Source connections killed because a write's reply was lost on them.
  uint64_t connections_killed() const { return connections_killed_.load(); }
  // Reads answered by the destination during catch-up, and how many of the
  // sampled ones were compared against the source.
  uint64_t destination_reads() const { return tracker_->destination_reads(); }
  uint64_t served_compared() const { return served_compared_.load(); }
  uint64_t dirty_keys() const;
  // Seconds spent in phase p (the current phase counts once it is left).
  double phase_seconds(Phase p) const { return phase_seconds_[size_t(p)].load(); }
  std::string result() const;

  // Deletes the keys of slots [first, last] on `backend` (cleanup of the old
  // owner, or of an aborted destination). Throttled batches of UNLINK.
  static proxy::Status delete_range(const proxy::BackendConfig& backend, uint32_t slots,
                                    uint32_t first, uint32_t last, int timeout_ms,
                                    uint64_t* deleted);

 private:
  void run();
  proxy::Status preflight();
  proxy::Status enter_migrating();
  proxy::Status bulk_copy();
  proxy::Status catch_up();
  proxy::Status switch_over();
  // CLIENT KILL ID on the source for each connection that lost a write's
  // reply; once it is gone its writes' keys are dirty (copied again). Fails
  // if a connection's id is unknown or the kill cannot be confirmed.
  proxy::Status kill_lost_connections();
  // At the switch: CLIENT UNBLOCK <id> TIMEOUT on the source for every
  // blocking call of the segment still registered (sessions re-issue them).
  proxy::Status unblock_calls();
  // Copies `keys` src -> dst (DUMP+PEXPIRETIME in MULTI, RESTORE REPLACE
  // ABSTTL or DEL) and settles each with the tracker.
  proxy::Status copy_keys(const std::vector<std::string>& keys);
  proxy::Status validate(const std::vector<std::string>& keys);
  proxy::Status validate_sample();
  // The keys workers sampled from their destination reads, compared on both
  // sides (skipping keys written meanwhile); a difference aborts the move.
  proxy::Status validate_served();
  proxy::Status count_range_keys();  // range_count.h, once before the switch
  proxy::Status fast_equal(const std::vector<std::string>& keys, std::vector<std::string>* slow);
  proxy::Status compare(const std::string& key, std::string* diff);
  void abort_to_src(const std::string& why);
  void finish_tracking();
  bool in_range(std::string_view key) const;
  int32_t segment_index(const proxy::SegmentMap& map) const;
  void set_phase(Phase p);
  void throttle(size_t keys);

  proxy::ProxyContext& ctx_;
  MapAuthority& auth_;
  CleanupJournal& journal_;
  const uint32_t first_, last_;
  const uint16_t src_, dst_;
  const MigrationOptions opt_;
  const std::shared_ptr<proxy::MigrationTracker> tracker_;  // published while the move runs
  RedisConn src_conn_, dst_conn_;
  BigKeyCopier big_{src_conn_, dst_conn_, *tracker_, opt_.big};  // after the connections
  std::thread thread_;
  std::atomic<Phase> phase_{Phase::Queued};
  std::atomic<bool> abort_{false};
  std::atomic<bool> shutting_down_{false};
  std::atomic<uint64_t> keys_scanned_{0}, keys_copied_{0}, bytes_copied_{0}, keys_deleted_{0};
  std::atomic<uint64_t> dirty_{0}, validated_{0}, mismatches_{0};
  std::atomic<uint64_t> connections_killed_{0}, calls_unblocked_{0}, served_compared_{0};
  std::atomic<double> switch_pause_ms_{0};
  std::atomic<double> phase_seconds_[kPhaseCount] = {};
  std::chrono::steady_clock::time_point started_, phase_started_;
  std::chrono::steady_clock::time_point throttle_start_;
  uint64_t throttle_keys_ = 0;
  mutable std::mutex result_mu_;
  std::string result_;
};

}  // namespace migrate
