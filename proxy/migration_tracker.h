// MigrationTracker: the write generations of one migrating segment's keys
// (DESIGN §6 steps 1, 3 and 5), shared by the workers, which report every
// write they route to the segment, and the migration that copies it.
//
// A write bumps each of its keys' generation twice: when it is sent to the
// source (the key is "pending") and when its reply arrives (the key is then
// dirty). The migration may call a key clean only if no write was pending on
// it and its generation did not move between its DUMP and the RESTORE reply.
// Once switching() is set no new write is admitted (the worker holds it until
// the map changes), so pending() falling to 0 means every write the source
// will ever get for this segment has been answered.
//
// A write whose reply is lost (its backend connection failed) may still run
// on the source later: its keys stay pending, and the loss is kept with the
// connection's server-side client id until the migration has killed that
// connection (CLIENT KILL ID; nothing more from it runs once it is gone) and
// calls loss_confirmed(): then they become dirty and are copied again.
//
// Blocking calls (BLPOP, XREAD BLOCK, ...) waiting on the source for a key of
// the segment are registered too: at the switch the migration unblocks them
// (CLIENT UNBLOCK <id> TIMEOUT) and their sessions re-issue them on the new
// owner once the map changed (session.cc).
//
// Reads at the destination: once the bulk copy is over (every key that
// existed at the barrier was copied; every later write left its key pending
// or dirty), the migration sets dst_reads and workers send a single-key read
// of a clean key (no entry, or not dirty and nothing pending) to the
// destination. A bounded sample of those keys is compared against the
// source by the migration in its catch-up rounds.
//
// One mutex: writes to a migrating segment pay a lock; all other requests
// never see a tracker (workers find trackers by slot range first).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace proxy {

// A blocking call waiting on the source (shared by its session and the tracker).
struct BlockedCall {
  // The server-side client id of the connection it waits on, filled by the
  // link once CLIENT ID answered (0 = not known yet).
  std::shared_ptr<const std::atomic<uint64_t>> client_id;
  // Set by the migration before it sends CLIENT UNBLOCK: a null reply of the
  // call is then re-issued on the new owner, not answered.
  std::atomic<bool> unblock_requested{false};
};

class MigrationTracker {
 public:
  // `source`: the backend index the segment's writes go to during the move.
  MigrationTracker(uint32_t first_slot, uint32_t last_slot, uint16_t source = 0)
      : first_(first_slot), last_(last_slot), source_(source) {}
  uint32_t first_slot() const { return first_; }
  uint32_t last_slot() const { return last_; }
  uint16_t source() const { return source_; }
  bool covers(uint32_t slot) const { return slot >= first_ && slot <= last_; }

  // Workers. write_sent: before the write goes out; false (nothing recorded)
  // once the segment is switching: the caller holds the write.
  bool write_sent(const std::vector<std::string>& keys);
  // Its reply arrived (or it was never sent); the keys are dirty.
  void write_done(const std::vector<std::string>& keys);
  // Its reply was lost on the connection with server-side id `client_id`
  // (0: unknown). The keys stay pending until loss_confirmed(client_id).
  void write_lost(const std::vector<std::string>& keys, uint64_t client_id);
  // A blocking call on a key of the segment; false (not registered) once the
  // segment is switching: the caller holds the call.
  bool add_blocked(const std::shared_ptr<BlockedCall>& call);
  void remove_blocked(const BlockedCall* call);

  // The migration.
  struct Mark {
    uint64_t gen = 0;
    uint32_t pending = 0;
  };
  Mark mark(const std::string& key);
  // Clean if the key's generation is still `before.gen` and nothing was or is
  // pending; else it stays (or becomes) dirty. Returns whether it is clean.
  bool settle(const std::string& key, const Mark& before);
  void mark_dirty(const std::string& key);
  bool is_dirty(const std::string& key) const;
  std::vector<std::string> dirty_keys() const;  // a copy
  size_t dirty_count() const;
  uint64_t pending() const;
  // Connections (server-side client ids, 0 = unknown) with lost replies not
  // yet confirmed gone; after killing one, loss_confirmed() turns its writes'
  // keys from pending to dirty. Returns how many writes it settled.
  std::vector<uint64_t> lost_connections() const;
  size_t loss_confirmed(uint64_t client_id);
  std::vector<std::shared_ptr<BlockedCall>> blocked() const;  // a copy
  size_t blocked_count() const;
  uint64_t lost_writes() const { return lost_.load(std::memory_order_relaxed); }
  uint64_t tracked_writes() const { return writes_.load(std::memory_order_relaxed); }
  // Stops admitting writes (true) or admits them again (false: an abort).
  void set_switching(bool on);
  bool switching() const;

  // Reads at the destination (off by default; on from the end of the bulk
  // copy until the switch or an abort).
  void set_dst_reads(bool on);
  bool dst_reads() const;
  // Whether a read of `key` may be answered by the destination now: reads
  // are on, not switching, the key neither dirty nor pending.
  bool readable_at_destination(std::string_view key) const;
  // Workers: a read of `key` was sent to the destination; every 64th key is
  // kept for the comparison (at most kMaxServedSample).
  void served_at_destination(std::string_view key);
  // The migration: the kept keys (emptied).
  std::vector<std::string> take_served_sample();
  uint64_t destination_reads() const { return dst_served_.load(std::memory_order_relaxed); }
  static constexpr uint64_t kServedSampleEvery = 64;
  static constexpr size_t kMaxServedSample = 1000;

 private:
  struct KeyState {
    uint64_t gen = 0;
    uint32_t pending = 0;
  };
  struct LostWrite {
    uint64_t client_id;
    std::vector<std::string> keys;
  };
  void finish_locked(const std::vector<std::string>& keys);
  const uint32_t first_, last_;
  const uint16_t source_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, KeyState> keys_;
  std::unordered_set<std::string> dirty_;
  std::vector<LostWrite> lost_writes_;  // unconfirmed
  std::vector<std::shared_ptr<BlockedCall>> blocked_;
  uint64_t pending_ = 0;
  bool switching_ = false;
  bool dst_reads_ = false;
  std::vector<std::string> served_sample_;
  std::atomic<uint64_t> lost_{0}, writes_{0}, dst_served_{0};
};

// The trackers of every migration in progress (usually none or one).
struct TrackerSet {
  std::vector<std::shared_ptr<MigrationTracker>> trackers;
  MigrationTracker* find(uint32_t slot) const {
    for (const auto& t : trackers) {
      if (t->covers(slot)) {
        return t.get();
      }
    }
    return nullptr;
  }
};

}  // namespace proxy
