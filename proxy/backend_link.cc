// BackendLink implementation: connect/auth, pipelined writes with uv_try_write
// first, FIFO reply matching, head-of-line deadline, backoff. See the header
// for the state diagram and the exactly-once contract of ReplySink.
#include "proxy/backend_link.h"

#include <netdb.h>

#include <algorithm>
#include <cstring>

#include "proxy/log.h"
#include "proxy/resp_encode.h"
#include "proxy/telemetry.h"
#include "proxy/worker.h"

namespace proxy {

BackendLink::BackendLink(Worker& worker, uint16_t index, const BackendConfig& backend,
                         const Config& cfg, int protocol)
    : worker_(worker),
      index_(index),
      name_(backend.name),
      backend_(backend),
      connect_timeout_ms_(cfg.timeouts.connect_ms),
      request_timeout_ms_(cfg.timeouts.request_ms),
      default_timeout_ms_(cfg.timeouts.request_ms),
      protocol_(protocol),
      backoff_min_ms_(cfg.timeouts.backoff_min_ms),
      backoff_max_ms_(cfg.timeouts.backoff_max_ms),
      backoff_ms_(cfg.timeouts.backoff_min_ms),
      max_inflight_(cfg.limits.max_inflight_per_backend),
      scanner_(1ull << 40, 512) {
  uv_timer_init(worker_.loop(), &timer_);
  timer_.data = this;
  ++open_handles_;
  down_reply_ = "-ERR backend " + name_ + " (" + backend_.address.to_string() +
                ") is down: not connected yet\r\n";
}

BackendLink::~BackendLink() {
  // Handles are closed by close() and the loop has run their callbacks.
}

void BackendLink::start() { connect(); }

void BackendLink::set_state(State next, const std::string& reason) {
  if (next == state_) {
    return;
  }
  [[maybe_unused]] static const char* kNames[] = {"connecting", "ready", "backoff", "closed"};
  if (next == State::Ready) {
    LOG_INFO("link", "w{} b {} ready ({})", worker_.id(), name_, reason);
  } else if (next == State::Backoff && state_ == State::Ready) {
    LOG_WARN("link", "w{} b {} down: {}", worker_.id(), name_, reason);
  } else {
    LOG_DEBUG("link", "w{} b {} {} -> {} ({})", worker_.id(), name_, kNames[int(state_)],
              kNames[int(next)], reason);
  }
  state_ = next;
  up.store(next == State::Ready, std::memory_order_relaxed);
}

void BackendLink::connect() {
  if (state_ == State::Closed) {
    return;
  }
  // Resolve each attempt (blocking, but only on (re)connect): numeric
  // addresses cost nothing and names follow DNS changes.
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* res = nullptr;
  std::string port = std::to_string(backend_.address.port);
  int rc = getaddrinfo(backend_.address.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    fail(std::string("cannot resolve ") + backend_.address.host + ": " + gai_strerror(rc));
    return;
  }
  tcp_ = new uv_tcp_t;
  uv_tcp_init(worker_.loop(), tcp_);
  tcp_->data = this;
  ++open_handles_;
  uv_tcp_nodelay(tcp_, 1);
  uv_tcp_keepalive(tcp_, 1, 60);
  connect_req_.data = this;
  rc = uv_tcp_connect(&connect_req_, tcp_, res->ai_addr, on_connect_cb);
  freeaddrinfo(res);
  set_state(State::Connecting, "connecting");
  if (rc != 0) {
    fail(std::string("connect: ") + uv_strerror(rc));
    return;
  }
  // HELLO 3 / AUTH go first in the FIFO: nothing else is queued on a new connection.
  std::string_view user = backend_.username.empty() ? "default" : backend_.username;
  if (protocol_ == 3) {
    encode_header(out_, '*', backend_.password.empty() ? 2 : 5);
    encode_bulk(out_, "HELLO");
    encode_bulk(out_, "3");
    if (!backend_.password.empty()) {
      encode_bulk(out_, "AUTH");
      encode_bulk(out_, user);
      encode_bulk(out_, backend_.password);
    }
    pending_.push(Pending{nullptr, kOwnAuth, uv_hrtime()});
  } else if (!backend_.password.empty()) {
    encode_header(out_, '*', backend_.username.empty() ? 2 : 3);
    encode_bulk(out_, "AUTH");
    if (!backend_.username.empty()) {
      encode_bulk(out_, backend_.username);
    }
    encode_bulk(out_, backend_.password);
    pending_.push(Pending{nullptr, kOwnAuth, uv_hrtime()});
  }
  // The connection's id on the backend: a migration kills it (CLIENT KILL ID)
  // when a write's reply is lost, or unblocks a blocking call on it.
  server_id_ = std::make_shared<std::atomic<uint64_t>>(0);
  out_.append("*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n");
  pending_.push(Pending{nullptr, kOwnClientId, uv_hrtime()});
  deadline_grace_ = false;
  uv_timer_start(&timer_, on_timer_cb, connect_timeout_ms_, 0);
}

void BackendLink::on_connect_cb(uv_connect_t* req, int status) {
  static_cast<BackendLink*>(req->data)->on_connect(status);
}

void BackendLink::on_connect(int status) {
  if (status == UV_ECANCELED || state_ != State::Connecting) {
    return;  // an old attempt that fail() already closed
  }
  if (status != 0) {
    fail(std::string("connect: ") + uv_strerror(status));
    return;
  }
  uv_timer_stop(&timer_);
  timer_armed_ = false;
  connected_ = true;
  backoff_ms_ = backoff_min_ms_;
  set_state(State::Ready, "connected to " + backend_.address.to_string());
  uv_read_start(reinterpret_cast<uv_stream_t*>(tcp_), on_alloc_cb, on_read_cb);
  arm_deadline();
  flush();
}

bool BackendLink::accepting() const {
  return (state_ == State::Ready || state_ == State::Connecting) &&
         pending_.size() < max_inflight_;
}

std::string_view BackendLink::down_reply() const {
  if (state_ == State::Ready || state_ == State::Connecting) {
    static const std::string kBusy =
        "-ERR foreshard: too many requests in flight to one backend (limits.maxInflightPerBackend)\r\n";
    return kBusy;
  }
  return down_reply_;
}

void BackendLink::commit(ReplySink* sink, uint64_t cookie) {
  if (stream_sink_ != nullptr) {
    if (!flush_queued_) {  // replies go to the stream sink: nothing to match
      flush_queued_ = true;
      worker_.queue_flush(this);
    }
    return;
  }
  pending_.push(Pending{sink, cookie, uv_hrtime()});
  if (!timer_armed_ && state_ == State::Ready) {
    arm_deadline();
  }
  if (!flush_queued_) {
    flush_queued_ = true;
    worker_.queue_flush(this);
  }
}

bool BackendLink::send(std::string_view request, ReplySink* sink, uint64_t cookie) {
  if (!accepting()) {
    return false;
  }
  out_.append(request);
  commit(sink, cookie);
  return true;
}

void BackendLink::flush() {
  flush_queued_ = false;
  if (state_ != State::Ready || writing_ || out_.empty() || tcp_ == nullptr) {
    return;
  }
  uv_buf_t b = uv_buf_init(const_cast<char*>(out_.data()), out_.size());
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(tcp_), &b, 1);
  if (n == static_cast<int>(out_.size())) {
    out_.clear();
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    fail(std::string("write: ") + uv_strerror(n));
    return;
  }
  if (n > 0) {
    out_.consume(n);
  }
  out_.swap(writing_buf_);  // writing_buf_ was empty: it now owns the rest
  uv_buf_t wb = uv_buf_init(const_cast<char*>(writing_buf_.data()), writing_buf_.size());
  write_req_.data = this;
  writing_ = true;
  int rc = uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(tcp_), &wb, 1, on_write_cb);
  if (rc != 0) {
    writing_ = false;
    writing_buf_.clear();
    fail(std::string("write: ") + uv_strerror(rc));
  }
}

void BackendLink::on_write_cb(uv_write_t* req, int status) {
  static_cast<BackendLink*>(req->data)->on_write(status);
}

void BackendLink::on_write(int status) {
  writing_ = false;
  writing_buf_.clear();
  if (status == UV_ECANCELED) {
    return;  // the connection was closed under it; fail() handled the requests
  }
  if (status != 0) {
    fail(std::string("write: ") + uv_strerror(status));
    return;
  }
  if (!out_.empty()) {
    flush();
  }
}

void BackendLink::on_alloc_cb(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<BackendLink*>(h->data);
  char* p = self->in_.prepare(65536);
  *buf = uv_buf_init(p, self->in_.writable());
}

void BackendLink::on_read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  static_cast<BackendLink*>(s->data)->on_read(nread);
}

void BackendLink::on_read(ssize_t nread) {
  if (nread == 0) {
    return;
  }
  if (nread < 0) {
    fail(nread == UV_EOF ? std::string("connection closed by backend")
                         : std::string("read: ") + uv_strerror(nread));
    return;
  }
  in_.commit(nread);
  while (!in_.empty()) {
    if (pending_.empty() && stream_sink_ == nullptr) {
      fail("backend sent a reply nobody asked for");
      return;
    }
    size_t len = 0;
    ScanStatus st = scanner_.scan(in_.data(), in_.size(), len);
    if (st == ScanStatus::NeedMore) {
      break;
    }
    if (st == ScanStatus::Error) {
      fail("malformed reply from backend");
      return;
    }
    std::string_view reply(in_.data(), len);
    if (!pending_.empty()) {
      deliver(reply);  // matched FIFO (the link's own HELLO/AUTH come first)
    } else {
      stream_sink_->on_backend_reply(0, reply, false);  // pub/sub: unmatched by design
    }
    if (state_ != State::Ready) {
      return;  // the sink or deliver() failed or closed the link
    }
    in_.consume(len);
  }
  if (in_.empty()) {
    in_.shrink_if_idle(1 << 20);
  }
}

void BackendLink::deliver(std::string_view reply) {
  Pending p = pending_.front();
  pending_.pop();
  uint64_t us = (uv_hrtime() - p.sent_ns) / 1000;
  worker_.counters().latency(index_).record(us);
  uint64_t ewma = latency_ewma_us.load(std::memory_order_relaxed);
  latency_ewma_us.store(ewma == 0 ? us : ewma + (int64_t(us) - int64_t(ewma)) / 16,
                        std::memory_order_relaxed);
  if (p.sink == nullptr) {
    if (p.cookie == kOwnClientId) {
      int64_t id = 0;  // an error (CLIENT refused by an ACL) leaves it unknown
      if (decode_integer(reply, id) && id > 0) {
        server_id_->store(uint64_t(id), std::memory_order_relaxed);
      }
    } else if (is_error_reply(reply)) {
      std::string msg(reply.substr(1, reply.size() >= 3 ? reply.size() - 3 : 0));
      fail("AUTH refused by backend: " + msg);
    }
    return;
  }
  p.sink->on_backend_reply(p.cookie, reply, false);
  // Re-arm the deadline for the new oldest request.
  if (pending_.empty() && timer_armed_) {
    uv_timer_stop(&timer_);
    timer_armed_ = false;
  }
}

void BackendLink::arm_deadline() {
  if (pending_.empty() || state_ != State::Ready || request_timeout_ms_ == 0) {
    return;
  }
  uint64_t age_ms = (uv_hrtime() - pending_.front().sent_ns) / 1000000;
  uint64_t left = age_ms >= request_timeout_ms_ ? 0 : request_timeout_ms_ - age_ms;
  deadline_grace_ = false;
  uv_timer_start(&timer_, on_timer_cb, left, 0);
  timer_armed_ = true;
}

void BackendLink::on_timer_cb(uv_timer_t* t) { static_cast<BackendLink*>(t->data)->on_timer(); }

void BackendLink::on_timer() {
  timer_armed_ = false;
  // libuv runs due timers before it polls: after the loop stalled (a loaded
  // machine, a long callback) a deadline can look missed while the connect or
  // the reply already waits in the socket. Give I/O one poll (a 1 ms timer runs
  // after it; a 0 ms one would run in this same pass) before calling it a failure.
  if ((state_ == State::Connecting || state_ == State::Ready) && !deadline_grace_) {
    deadline_grace_ = true;
    uv_timer_start(&timer_, on_timer_cb, 1, 0);
    timer_armed_ = state_ == State::Ready;
    return;
  }
  deadline_grace_ = false;
  switch (state_) {
    case State::Connecting:
      fail("connect timed out after " + std::to_string(connect_timeout_ms_) + " ms");
      break;
    case State::Backoff:
      connect();
      break;
    case State::Ready: {
      if (pending_.empty()) {
        return;
      }
      uint64_t age_ms = (uv_hrtime() - pending_.front().sent_ns) / 1000000;
      if (request_timeout_ms_ == 0) {
        return;
      }
      if (age_ms >= request_timeout_ms_) {
        fail("request timed out after " + std::to_string(request_timeout_ms_) + " ms");
      } else {
        arm_deadline();
      }
      break;
    }
    case State::Closed:
      break;
  }
}

void BackendLink::fail(const std::string& reason) {
  last_error_ = reason;
  down_reply_ = "-ERR backend " + name_ + " (" + backend_.address.to_string() +
                ") is down: " + reason + "\r\n";
  if (tcp_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_), on_tcp_closed_cb);
    tcp_ = nullptr;
    reconnects.fetch_add(1, std::memory_order_relaxed);
  }
  out_.clear();
  in_.clear();
  scanner_.reset();
  if (state_ != State::Closed) {
    set_state(State::Backoff, reason);
    LOG_WARN_EVERY("link", "w{} b {} {}; retry in {} ms", worker_.id(), name_, reason, backoff_ms_);
    uv_timer_start(&timer_, on_timer_cb, backoff_ms_, 0);
    timer_armed_ = false;
    backoff_ms_ = std::min(backoff_ms_ * 2, backoff_max_ms_);
  }
  bool maybe_sent = connected_;
  connected_ = false;
  fail_all_pending(maybe_sent);
}

// maybe_sent: the connection was established, so requests may have reached
// the backend and may still run there (their sinks hear on_backend_lost).
void BackendLink::fail_all_pending(bool maybe_sent) {
  uint64_t id = server_id_->load(std::memory_order_relaxed);
  if (stream_sink_ != nullptr) {
    ReplySink* sink = stream_sink_;
    stream_sink_ = nullptr;  // a subscription does not survive its connection
    sink->on_backend_reply(0, down_reply_, true);
  }
  while (!pending_.empty()) {
    Pending p = pending_.front();
    pending_.pop();
    if (p.sink != nullptr && maybe_sent) {
      p.sink->on_backend_lost(p.cookie, down_reply_, id);
    } else if (p.sink != nullptr) {
      p.sink->on_backend_reply(p.cookie, down_reply_, true);
    }
  }
}

void BackendLink::close() {
  if (state_ == State::Closed) {
    return;
  }
  state_ = State::Closed;
  up.store(false, std::memory_order_relaxed);
  down_reply_ = "-ERR backend " + name_ + " unavailable: foreshard is shutting down\r\n";
  if (tcp_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_), on_tcp_closed_cb);
    tcp_ = nullptr;
  }
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_timer_closed_cb);
  bool maybe_sent = connected_;
  connected_ = false;
  fail_all_pending(maybe_sent);
}

void BackendLink::on_tcp_closed_cb(uv_handle_t* h) {
  auto* self = static_cast<BackendLink*>(h->data);
  --self->open_handles_;
  delete reinterpret_cast<uv_tcp_t*>(h);
}

void BackendLink::on_timer_closed_cb(uv_handle_t* h) {
  --static_cast<BackendLink*>(h->data)->open_handles_;
}

}  // namespace proxy
