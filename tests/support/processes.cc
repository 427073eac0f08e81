// Process helpers for integration tests: fork/exec with a log file, polling
// readiness with PING, killing by PID only.
#include "tests/support/processes.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace testsupport {

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t port = ntohs(a.sin_port);
  close(fd);
  return port;
}

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* d = mkdtemp(buf.data());
  return d ? std::string(d) : std::string();
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool Process::start(const std::vector<std::string>& argv, const std::string& log_path) {
  log_ = log_path;
  exit_code_ = -1;
  pid_ = fork();
  if (pid_ < 0) {
    return false;
  }
  if (pid_ == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return true;
}

bool Process::running() {
  if (pid_ <= 0) {
    return false;
  }
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

int Process::wait_exit(int timeout_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (pid_ > 0) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() > end) {
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

void Process::stop(int sig) {
  if (pid_ <= 0) {
    return;
  }
  kill(pid_, sig);
  if (wait_exit(5000) == -1 && pid_ > 0) {
    kill(pid_, SIGKILL);
    wait_exit(5000);
  }
  pid_ = -1;
}

RedisServer::RedisServer(uint16_t port) : port_(port ? port : free_port()) {}

bool RedisServer::start() {
  if (dir_.empty()) {
    dir_ = make_temp_dir("foreshard-redis");
  }
  std::string port = std::to_string(port_);
  proc_.start({"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--daemonize", "no", "--dir", dir_, "--protected-mode", "no",
               "--enable-debug-command", "local"},
              dir_ + "/redis.log");
  for (int i = 0; i < 500; ++i) {
    redisContext* c = connect();
    if (c != nullptr) {
      Reply r(redisCommand(c, "PING"));
      bool ok = r.ok() && r.str() == "PONG";
      redisFree(c);
      if (ok) {
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

redisContext* RedisServer::connect() const {
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (c == nullptr || c->err) {
    if (c) {
      redisFree(c);
    }
    return nullptr;
  }
  redisSetTimeout(c, tv);
  return c;
}

Foreshard::Foreshard(const std::vector<uint16_t>& backends, const std::string& extra_yaml,
                     const std::string& data_dir)
    : port_(free_port()), metrics_port_(free_port()) {
  dir_ = make_temp_dir("foreshard-proxy");
  data_dir_ = data_dir.empty() ? dir_ + "/data" : data_dir;
  config_path_ = dir_ + "/foreshard.yaml";
  std::ofstream f(config_path_);
  f << "listen: 127.0.0.1:" << port_ << "\n"
    << "metrics: 127.0.0.1:" << metrics_port_ << "\n"
    << "workers: 2\n"
    << "dataDir: " << data_dir_ << "\n"
    << "logLevel: info\n"
    << "timeouts:\n  connect: 500ms\n  request: 1000ms\n  backoffMin: 50ms\n  backoffMax: 200ms\n"
    << "backends:\n";
  for (size_t i = 0; i < backends.size(); ++i) {
    f << "  - name: redis-" << (i + 1) << "\n    address: 127.0.0.1:" << backends[i]
      << "\n    capacity: 100000\n";
  }
  f << extra_yaml;
}

bool Foreshard::start(int timeout_ms) {
  if (timeout_ms <= 0) {
    const char* env = std::getenv("FORESHARD_START_TIMEOUT_MS");
    timeout_ms = env ? std::atoi(env) : 10000;
  }
  const char* bin = std::getenv("FORESHARD_BIN");
  proc_.start({bin ? bin : "foreshard", "serve", "-c", config_path_}, dir_ + "/foreshard.log");
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end) {
    if (!proc_.running()) {
      return false;
    }
    redisContext* c = connect();
    if (c != nullptr) {
      Reply r(redisCommand(c, "PING"));
      bool ok = r.ok() && (r.str() == "PONG" || r.str().rfind("NOAUTH", 0) == 0);
      redisFree(c);
      if (ok) {
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

redisContext* Foreshard::connect() const {
  timeval tv{5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (c == nullptr || c->err) {
    if (c) {
      redisFree(c);
    }
    return nullptr;
  }
  redisSetTimeout(c, tv);
  return c;
}

}  // namespace testsupport
