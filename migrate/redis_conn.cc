// RedisConn implementation (see redis_conn.h).
#include "migrate/redis_conn.h"

#include <sys/time.h>

namespace migrate {

RedisConn::~RedisConn() {
  if (ctx_ != nullptr) {
    redisFree(ctx_);
  }
}

proxy::Status RedisConn::connect(const proxy::BackendConfig& b, int timeout_ms) {
  name_ = b.name;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ctx_ = redisConnectWithTimeout(b.address.host.c_str(), b.address.port, tv);
  if (ctx_ == nullptr || ctx_->err != 0) {
    error_ = "backend " + b.name + " (" + b.address.to_string() + "): connect: " +
             (ctx_ ? ctx_->errstr : "out of memory");
    return proxy::Status(proxy::Code::Unavailable, error_);
  }
  redisSetTimeout(ctx_, tv);
  if (!b.password.empty()) {
    Reply r = b.username.empty() ? command({"AUTH", b.password})
                                 : command({"AUTH", b.username, b.password});
    if (!r || r->type == REDIS_REPLY_ERROR) {
      error_ = "backend " + b.name + ": AUTH failed: " + (r ? reply_text(r.get()) : error_);
      return proxy::Status(proxy::Code::Unavailable, error_);
    }
  }
  return proxy::Status::ok();
}

void RedisConn::append(const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(ctx_, int(argv.size()), argv.data(), lens.data());
}

bool RedisConn::flush() {
  int done = 0;
  while (ctx_ != nullptr && !done) {
    if (redisBufferWrite(ctx_, &done) != REDIS_OK) {
      error_ = "backend " + name_ + ": " + ctx_->errstr;
      return false;
    }
  }
  return ctx_ != nullptr;
}

Reply RedisConn::read() {
  void* r = nullptr;
  if (ctx_ == nullptr || redisGetReply(ctx_, &r) != REDIS_OK || r == nullptr) {
    if (error_.empty()) {
      error_ = "backend " + name_ + ": " + (ctx_ ? ctx_->errstr : "not connected");
    }
    return nullptr;
  }
  return Reply(static_cast<redisReply*>(r));
}

Reply RedisConn::command(const std::vector<std::string_view>& args) {
  append(args);
  return read();
}

std::string reply_text(const redisReply* r) {
  if (r == nullptr) {
    return "(no reply)";
  }
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    default:
      return "(array of " + std::to_string(r->elements) + ")";
  }
}

}  // namespace migrate
