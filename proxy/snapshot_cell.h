// SnapshotCell<T>: an immutable snapshot published by one thread and read by
// others (the segment map, the controller's published report).
//
// Why not std::atomic<std::shared_ptr<T>>: GCC 12's implementation spins on a
// lock bit in the control-block pointer and increments the shared count on
// every load, so readers on different workers bounce one cache line; and its
// relaxed unlock is reported by ThreadSanitizer as a race on every load/store
// pair (google/sanitizers#1558). Here the writer takes a mutex and bumps a
// version; a reader on the hot path keeps its own shared_ptr and compares one
// atomic version per use (Cached below), taking the mutex only after a change.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace proxy {

template <class T>
class SnapshotCell {
 public:
  void store(std::shared_ptr<const T> v) {
    std::lock_guard<std::mutex> lock(mu_);
    value_ = std::move(v);
    version_.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const T> load() const {
    std::lock_guard<std::mutex> lock(mu_);
    return value_;
  }
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  // A reader's own copy, refreshed when the cell's version moved. One thread.
  class Cached {
   public:
    explicit Cached(const SnapshotCell& cell) : cell_(cell) {}
    const std::shared_ptr<const T>& get() {
      uint64_t v = cell_.version();
      if (v != seen_ || !value_) {
        value_ = cell_.load();  // may already be newer than v: then reloaded once more
        seen_ = v;
      }
      return value_;
    }

   private:
    const SnapshotCell& cell_;
    uint64_t seen_ = 0;
    std::shared_ptr<const T> value_;
  };

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> value_;
  std::atomic<uint64_t> version_{0};
};

}  // namespace proxy
