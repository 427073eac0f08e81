// MigrationTracker implementation (see migration_tracker.h).
#include "proxy/migration_tracker.h"

namespace proxy {

bool MigrationTracker::write_sent(const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lock(mu_);
  if (switching_) {
    return false;
  }
  for (const std::string& k : keys) {
    KeyState& s = keys_[k];
    ++s.gen;
    ++s.pending;
  }
  ++pending_;
  writes_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void MigrationTracker::write_done(const std::vector<std::string>& keys, bool lost) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& k : keys) {
    KeyState& s = keys_[k];
    ++s.gen;
    if (s.pending > 0) {
      --s.pending;
    }
    dirty_.insert(k);
  }
  if (pending_ > 0) {
    --pending_;
  }
  if (lost) {
    lost_.fetch_add(1, std::memory_order_relaxed);
  }
}

MigrationTracker::Mark MigrationTracker::mark(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(key);
  if (it == keys_.end()) {
    return {};
  }
  return {it->second.gen, it->second.pending};
}

bool MigrationTracker::settle(const std::string& key, const Mark& before) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(key);
  uint64_t gen = it == keys_.end() ? 0 : it->second.gen;
  uint32_t pending = it == keys_.end() ? 0 : it->second.pending;
  if (gen == before.gen && pending == 0 && before.pending == 0) {
    dirty_.erase(key);
    if (it != keys_.end()) {
      keys_.erase(it);  // generation 0 again: nothing left to compare against
    }
    return true;
  }
  dirty_.insert(key);
  return false;
}

void MigrationTracker::mark_dirty(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  dirty_.insert(key);
}

bool MigrationTracker::is_dirty(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return dirty_.count(key) != 0;
}

std::vector<std::string> MigrationTracker::dirty_keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {dirty_.begin(), dirty_.end()};
}

size_t MigrationTracker::dirty_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dirty_.size();
}

uint64_t MigrationTracker::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_;
}

void MigrationTracker::set_switching(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  switching_ = on;
}

bool MigrationTracker::switching() const {
  std::lock_guard<std::mutex> lock(mu_);
  return switching_;
}

}  // namespace proxy
