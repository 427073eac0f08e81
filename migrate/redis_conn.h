// RedisConn: a blocking hiredis connection to one backend for a migration's
// own thread (bulk copy, catch-up, validation, cleanup). Pipelined: append()
// any number of commands, then read() their replies in order. Every call is
// bounded by the timeout given to connect() (hiredis 0.14 sync timeouts); an
// error leaves the connection unusable and is reported once, with the backend.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <hiredis.h>

#include "proxy/config.h"
#include "proxy/status.h"

namespace migrate {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

class RedisConn {
 public:
  RedisConn() = default;
  ~RedisConn();
  RedisConn(const RedisConn&) = delete;
  RedisConn& operator=(const RedisConn&) = delete;

  // Connects and authenticates (backend username/password from the config).
  proxy::Status connect(const proxy::BackendConfig& backend, int timeout_ms);
  void append(const std::vector<std::string_view>& args);
  // Sends what append() buffered now, without waiting for a reply (so the
  // backend works while this thread talks to another one). False on error.
  bool flush();
  // The next reply in order; nullptr on a connection error (see error()).
  Reply read();
  // append + read.
  Reply command(const std::vector<std::string_view>& args);
  bool ok() const { return ctx_ != nullptr && ctx_->err == 0; }
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }

 private:
  redisContext* ctx_ = nullptr;
  std::string name_;
  std::string error_;
};

// Text of a reply for messages: its string, integer or type.
std::string reply_text(const redisReply* r);

}  // namespace migrate
