// Backend probe implementation: one blocking TCP connection with a deadline,
// a pipelined [AUTH] DBSIZE INFO [COMMAND], replies framed by RespScanner.
#include "proxy/backend_probe.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "proxy/buffer.h"
#include "proxy/resp_encode.h"
#include "proxy/resp_scanner.h"

namespace proxy {

namespace {

using Clock = std::chrono::steady_clock;

int connect_with_deadline(const HostPort& hp, Clock::time_point deadline, std::string& err) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(hp.host.c_str(), std::to_string(hp.port).c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    err = std::string("cannot resolve ") + hp.host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0 && errno != EINPROGRESS) {
    err = std::string("connect: ") + strerror(errno);
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
  if (poll(&p, 1, left > 0 ? left : 0) != 1) {
    err = "connect timed out";
    ::close(fd);
    return -1;
  }
  int soerr = 0;
  socklen_t len = sizeof soerr;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
  if (soerr != 0) {
    err = std::string("connect: ") + strerror(soerr);
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads `n` complete replies into `replies` (each a copy of its bytes).
bool read_replies(int fd, size_t n, Clock::time_point deadline, std::vector<std::string>& replies,
                  std::string& err) {
  Buffer in;
  RespScanner scanner(1ull << 32, 64);
  while (replies.size() < n) {
    size_t len = 0;
    ScanStatus st = in.empty() ? ScanStatus::NeedMore : scanner.scan(in.data(), in.size(), len);
    if (st == ScanStatus::Complete) {
      replies.emplace_back(in.data(), len);
      in.consume(len);
      continue;
    }
    if (st == ScanStatus::Error) {
      err = "malformed reply";
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0 || poll(&p, 1, left) != 1) {
      err = "timed out waiting for replies";
      return false;
    }
    char* dst = in.prepare(65536);  // before writable(): argument order is unspecified
    ssize_t r = ::read(fd, dst, in.writable());
    if (r <= 0) {
      err = r == 0 ? "connection closed" : std::string("read: ") + strerror(errno);
      return false;
    }
    in.commit(size_t(r));
  }
  return true;
}

}  // namespace

ProbeResult probe_backend(const BackendConfig& backend, uint32_t timeout_ms, bool want_commands) {
  ProbeResult r;
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int fd = connect_with_deadline(backend.address, deadline, r.error);
  if (fd < 0) {
    return r;
  }
  Buffer out;
  size_t expected = 2;
  bool auth = !backend.password.empty();
  if (auth) {
    encode_header(out, '*', backend.username.empty() ? 2 : 3);
    encode_bulk(out, "AUTH");
    if (!backend.username.empty()) {
      encode_bulk(out, backend.username);
    }
    encode_bulk(out, backend.password);
    ++expected;
  }
  out.append("*1\r\n$6\r\nDBSIZE\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n");
  if (want_commands) {
    out.append("*1\r\n$7\r\nCOMMAND\r\n");
    ++expected;
  }
  // Small requests: a blocking-style write loop with poll is enough.
  while (!out.empty()) {
    ssize_t w = ::write(fd, out.data(), out.size());
    if (w < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 100);
      continue;
    }
    if (w <= 0) {
      r.error = std::string("write: ") + strerror(errno);
      ::close(fd);
      return r;
    }
    out.consume(size_t(w));
  }
  std::vector<std::string> replies;
  bool ok = read_replies(fd, expected, deadline, replies, r.error);
  ::close(fd);
  if (!ok) {
    return r;
  }
  size_t i = 0;
  if (auth && is_error_reply(replies[i++])) {
    r.error = "AUTH refused: " + replies[0].substr(1, replies[0].size() - 3);
    return r;
  }
  if (!decode_integer(replies[i++], r.keys)) {
    r.error = "DBSIZE failed: " + replies[i - 1].substr(0, 200);
    return r;
  }
  std::string_view info;
  bool is_null = false;
  if (decode_simple_or_bulk(replies[i++], info, is_null)) {
    size_t p = info.find("redis_version:");
    if (p != std::string_view::npos) {
      size_t e = info.find_first_of("\r\n", p);
      r.redis_version = std::string(info.substr(p + 14, e - p - 14));
    }
  }
  if (want_commands) {
    r.command_reply = std::move(replies[i++]);
  }
  r.reachable = true;
  return r;
}

}  // namespace proxy
