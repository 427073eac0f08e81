// Test support for integration tests: real redis-server processes and the
// foreshard binary on free loopback ports, started and stopped by PID (never
// anything the test did not start). Each object stops its process when destroyed.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <hiredis/hiredis.h>

namespace testsupport {

uint16_t free_port();               // a port that was free on 127.0.0.1 a moment ago
std::string make_temp_dir(const std::string& prefix);
std::string read_file(const std::string& path);

// A child process with stdout+stderr captured to a log file.
class Process {
 public:
  Process() = default;
  ~Process() { stop(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  bool start(const std::vector<std::string>& argv, const std::string& log_path);
  void stop(int sig = 15);          // signal + wait (SIGKILL after 5 s)
  bool running();
  int wait_exit(int timeout_ms);    // exit code (also if already reaped), -1 if still running
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_; }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;  // once reaped
  std::string log_;
};

class RedisServer {
 public:
  explicit RedisServer(uint16_t port = 0);  // 0 = pick a free port
  ~RedisServer() { stop(); }
  bool start();
  void stop() { proc_.stop(); }
  uint16_t port() const { return port_; }
  pid_t pid() const { return proc_.pid(); }
  redisContext* connect() const;  // caller frees (redisFree)

 private:
  uint16_t port_;
  std::string dir_;
  Process proc_;
};

// foreshard serve with a generated config in its own temp dir.
class Foreshard {
 public:
  // backends: ports of redis-servers (named redis-1..N); extra_yaml is appended at top level.
  Foreshard(const std::vector<uint16_t>& backends, const std::string& extra_yaml = "",
            const std::string& data_dir = "");
  ~Foreshard() { stop(); }
  // True once it answers PING. The default wait is 10 s, or
  // FORESHARD_START_TIMEOUT_MS (sanitizer builds on a busy machine start slowly).
  bool start(int timeout_ms = 0);
  void stop(int sig = 15) { proc_.stop(sig); }
  int wait_exit(int timeout_ms) { return proc_.wait_exit(timeout_ms); }
  std::string log() const { return read_file(proc_.log_path()); }
  uint16_t port() const { return port_; }
  uint16_t metrics_port() const { return metrics_port_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& config_path() const { return config_path_; }
  redisContext* connect() const;

 private:
  uint16_t port_, metrics_port_;
  std::string dir_, data_dir_, config_path_;
  Process proc_;
};

// Owns a redisReply and frees it.
struct Reply {
  redisReply* r = nullptr;
  explicit Reply(void* p) : r(static_cast<redisReply*>(p)) {}
  ~Reply() {
    if (r) {
      freeReplyObject(r);
    }
  }
  Reply(const Reply&) = delete;
  redisReply* operator->() const { return r; }
  bool ok() const { return r != nullptr; }
  std::string str() const { return r && r->str ? std::string(r->str, r->len) : std::string(); }
};

}  // namespace testsupport
