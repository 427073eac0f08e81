// ClientDirectory: every client connection of every worker, for CLIENT LIST
// and CLIENT KILL, which must see all clients whichever worker answers them.
//
// A session lives on one worker thread and its fields are not shared; the
// directory holds a copy of what CLIENT LIST prints, updated (under a mutex)
// when a client connects, closes, names itself, authenticates or switches
// protocol: rare events next to commands, which never touch it. Kills cross
// threads through the owning worker's mailbox (Worker::post_kill).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace proxy {

struct ClientEntry {
  uint32_t worker = 0;
  std::string addr;  // ip:port of the client
  std::string laddr; // ip:port it connected to
  std::string name;
  std::string user = "default";
  int resp = 2;
  uint64_t created_ms = 0;  // uv_now of its worker's loop, same clock on every worker
};

class ClientDirectory {
 public:
  void add(uint64_t id, ClientEntry e) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_[id] = std::move(e);
  }
  void remove(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(id);
  }
  template <class F>
  void update(uint64_t id, F&& f) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = entries_.find(id); it != entries_.end()) {
      f(it->second);
    }
  }
  bool get(uint64_t id, ClientEntry& out) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      return false;
    }
    out = it->second;
    return true;
  }
  // A copy, sorted by id (CLIENT LIST order).
  std::vector<std::pair<uint64_t, ClientEntry>> list() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, ClientEntry> entries_;
};

// CLIENT KILL's filters (Redis 7.0 syntax). Empty strings / 0 = not given.
struct KillFilter {
  uint64_t id = 0;
  std::string addr, laddr, user;
  bool skipme = true;
  bool old_form = false;  // CLIENT KILL ip:port: "+OK" or an error, never skips itself
};

// Parses the arguments after KILL; false and `err` on a syntax error.
bool parse_kill_filter(const std::vector<std::string_view>& args, KillFilter& f, std::string& err);

// Ids of the directory's clients that match (`self` excluded when skipme).
std::vector<std::pair<uint64_t, uint32_t>> match_kill(const ClientDirectory& dir,
                                                      const KillFilter& f, uint64_t self);

}  // namespace proxy
