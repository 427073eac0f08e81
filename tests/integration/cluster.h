// A three-backend fleet for integration tests: real redis-servers on free
// ports and foreshard in front of them, plus helpers to ask the backends
// directly where a key lives (the segment map is read from the data dir).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "proxy/map_store.h"
#include "proxy/slot.h"
#include "tests/support/processes.h"

namespace testsupport {

// Sends raw bytes on a fresh socket and returns what comes back within `ms`.
inline std::string raw_exchange(uint16_t port, const std::string& bytes, int ms = 500) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "";
  }
  (void)!write(fd, bytes.data(), bytes.size());
  timeval tv{0, ms * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    out.append(buf, n);
  }
  close(fd);
  return out;
}



struct Fleet {
  std::vector<std::unique_ptr<RedisServer>> redis;
  std::unique_ptr<Foreshard> proxy;
  redisContext* client = nullptr;

  explicit Fleet(size_t n = 3, const std::string& extra_yaml = "") {
    std::vector<uint16_t> ports;
    for (size_t i = 0; i < n; ++i) {
      redis.push_back(std::make_unique<RedisServer>());
      redis.back()->start();
      ports.push_back(redis.back()->port());
    }
    proxy = std::make_unique<Foreshard>(ports, extra_yaml);
  }
  bool start() {
    if (!proxy->start()) {
      return false;
    }
    client = proxy->connect();
    return client != nullptr;
  }
  ~Fleet() {
    if (client) {
      redisFree(client);
    }
    proxy.reset();
    redis.clear();
  }
  std::vector<std::string> names() const {
    std::vector<std::string> n;
    for (size_t i = 0; i < redis.size(); ++i) {
      n.push_back("redis-" + std::to_string(i + 1));
    }
    return n;
  }
  // Owner index of `key` according to the saved segment map.
  int owner_of(const std::string& key) const {
    proxy::MapStore store(proxy->data_dir());
    auto map = store.load(names());
    if (!map.is_ok()) {
      return -1;
    }
    uint32_t slot = proxy::key_slot(key, map.value().slots());
    return map.value().segment(map.value().segment_of_slot(slot)).owner;
  }
};

}  // namespace testsupport
