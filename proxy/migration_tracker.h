// MigrationTracker: the write generations of one migrating segment's keys
// (DESIGN §6 steps 1, 3 and 5), shared by the workers, which report every
// write they route to the segment, and the migration that copies it.
//
// A write bumps each of its keys' generation twice: when it is sent to the
// source (the key is "pending") and when its reply arrives or is lost (the key
// is then dirty). The migration may call a key clean only if no write was
// pending on it and its generation did not move between its DUMP and the
// RESTORE reply. Once switching() is set no new write is admitted (the worker
// holds it until the map changes), so pending() falling to 0 means every write
// the source will ever get for this segment has been answered.
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

class MigrationTracker {
 public:
  MigrationTracker(uint32_t first_slot, uint32_t last_slot)
      : first_(first_slot), last_(last_slot) {}
  uint32_t first_slot() const { return first_; }
  uint32_t last_slot() const { return last_; }
  bool covers(uint32_t slot) const { return slot >= first_ && slot <= last_; }

  // Workers. write_sent: before the write goes out; false (nothing recorded)
  // once the segment is switching: the caller holds the write.
  bool write_sent(const std::vector<std::string>& keys);
  // Its reply arrived (or the link failed: `lost`); the keys are dirty.
  void write_done(const std::vector<std::string>& keys, bool lost);

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
  uint64_t lost_writes() const { return lost_.load(std::memory_order_relaxed); }
  uint64_t tracked_writes() const { return writes_.load(std::memory_order_relaxed); }
  // Stops admitting writes (true) or admits them again (false: an abort).
  void set_switching(bool on);
  bool switching() const;

 private:
  struct KeyState {
    uint64_t gen = 0;
    uint32_t pending = 0;
  };
  const uint32_t first_, last_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, KeyState> keys_;
  std::unordered_set<std::string> dirty_;
  uint64_t pending_ = 0;
  bool switching_ = false;
  std::atomic<uint64_t> lost_{0}, writes_{0};
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
