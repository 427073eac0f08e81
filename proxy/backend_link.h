// BackendLink: one pipelined, multiplexed TCP connection from a worker to one
// backend. Requests from all of the worker's sessions are written back to back;
// replies are matched FIFO and forwarded as raw bytes (RespScanner finds their
// ends). It owns its deadline (the oldest in-flight request) and reconnects
// with exponential backoff; while it is down, send() fails at once.
//
//   Connecting --connected--> Ready --error/timeout--> Backoff --timer--> Connecting
//        \--connect error/timeout-------------------------^          any --close()--> Closed
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <uv.h>

#include "proxy/buffer.h"
#include "proxy/config.h"
#include "proxy/resp_scanner.h"
#include "proxy/ring.h"

namespace proxy {

class Worker;

// Receives exactly one call per request accepted by BackendLink::send/commit.
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  // `reply` is one complete RESP reply, valid only during the call. When
  // `link_error` is true the request failed in the proxy (backend down,
  // timeout) and `reply` is a ready-made "-ERR ...\r\n" naming the backend.
  virtual void on_backend_reply(uint64_t cookie, std::string_view reply, bool link_error) = 0;
  // Instead of on_backend_reply(.., true) when the connection failed after the
  // request may have reached the backend (it may still run there):
  // `server_client_id` is that connection's CLIENT ID on the backend (0 if not
  // known), so a migration can kill it (migration_tracker.h).
  virtual void on_backend_lost(uint64_t cookie, std::string_view reply,
                               uint64_t server_client_id) {
    (void)server_client_id;
    on_backend_reply(cookie, reply, true);
  }
};

class BackendLink {
 public:
  enum class State { Connecting, Ready, Backoff, Closed };

  // protocol 3 opens the connection with HELLO 3 (RESP3 sessions use such links).
  BackendLink(Worker& worker, uint16_t index, const BackendConfig& backend, const Config& cfg,
              int protocol = 2);
  ~BackendLink();
  BackendLink(const BackendLink&) = delete;
  BackendLink& operator=(const BackendLink&) = delete;

  void start();  // begin connecting (loop thread)

  // Two-step send that lets callers encode straight into the link's buffer:
  // if accepting() is true, append one complete request to request_buffer()
  // and then call commit(sink, cookie). The sink is then called exactly once.
  // If accepting() is false, nothing was queued; down_reply() says why.
  bool accepting() const;
  Buffer& request_buffer() { return out_; }
  void commit(ReplySink* sink, uint64_t cookie);
  bool send(std::string_view request, ReplySink* sink, uint64_t cookie);

  std::string_view down_reply() const;  // "-ERR backend x ... \r\n": why accepting() is false

  // Dedicated links (a session's WATCH, blocking command or subscription):
  // 0 disables the request deadline (a blocking command may wait for ever).
  void set_request_timeout(uint32_t ms) { request_timeout_ms_ = ms; }
  void reset_request_timeout() { request_timeout_ms_ = default_timeout_ms_; }
  // Stream mode (pub/sub): requests expect no matched reply; every reply and
  // push goes to `sink` with cookie 0. nullptr turns it off.
  void set_stream_sink(ReplySink* sink) { stream_sink_ = sink; }
  int protocol() const { return protocol_; }
  void set_max_inflight(uint32_t n) { max_inflight_ = n; }  // a reload changed the limit
  void flush();   // writes queued bytes (worker's before-poll hook)
  void close();   // idempotent; fails what is in flight; the worker frees the link after on_closed

  State state() const { return state_; }
  uint16_t index() const { return index_; }
  const std::string& name() const { return name_; }
  size_t inflight() const { return pending_.size(); }
  bool fully_closed() const { return open_handles_ == 0; }
  // The current connection's client id on the backend (CLIENT ID, sent after
  // HELLO/AUTH on every connection), 0 until it answered; a new cell per
  // connection, readable from any thread (a migration unblocks by it).
  const std::shared_ptr<std::atomic<uint64_t>>& server_id_cell() const { return server_id_; }
  uint64_t server_id() const { return server_id_->load(std::memory_order_relaxed); }

  // Read by other threads (INFO, metrics): relaxed snapshots.
  std::atomic<bool> up{false};
  std::atomic<uint64_t> latency_ewma_us{0};
  std::atomic<uint64_t> reconnects{0};

 private:
  struct Pending {
    ReplySink* sink = nullptr;  // nullptr: the link's own request (cookie: kOwn*)
    uint64_t cookie = 0;
    uint64_t sent_ns = 0;
  };

  static void on_connect_cb(uv_connect_t* req, int status);
  static void on_alloc_cb(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_write_cb(uv_write_t* req, int status);
  static void on_timer_cb(uv_timer_t* t);
  static void on_tcp_closed_cb(uv_handle_t* h);
  static void on_timer_closed_cb(uv_handle_t* h);

  void connect();
  void on_connect(int status);
  void on_read(ssize_t nread);
  void on_write(int status);
  void on_timer();
  void fail(const std::string& reason);  // drop the connection, fail everything, back off
  void fail_all_pending(bool maybe_sent);
  static constexpr uint64_t kOwnAuth = 0, kOwnClientId = 1;
  void set_state(State next, const std::string& reason);
  void arm_deadline();
  void deliver(std::string_view reply);

  Worker& worker_;
  uint16_t index_;
  std::string name_;
  BackendConfig backend_;
  uint32_t connect_timeout_ms_;
  uint32_t request_timeout_ms_;
  uint32_t default_timeout_ms_;
  int protocol_;
  ReplySink* stream_sink_ = nullptr;
  uint32_t backoff_min_ms_, backoff_max_ms_, backoff_ms_;
  uint32_t max_inflight_;

  State state_ = State::Backoff;
  uv_tcp_t* tcp_ = nullptr;  // one per connection attempt; freed in its close callback
  uv_connect_t connect_req_;
  uv_write_t write_req_;
  uv_timer_t timer_;
  int open_handles_ = 0;
  bool writing_ = false;
  bool flush_queued_ = false;
  bool timer_armed_ = false;
  bool deadline_grace_ = false;  // the deadline fired once; on_timer() lets I/O poll first
  bool connected_ = false;       // this connection was established: requests may have gone out
  std::shared_ptr<std::atomic<uint64_t>> server_id_ = std::make_shared<std::atomic<uint64_t>>(0);

  Buffer out_;      // queued, not yet handed to the kernel
  Buffer writing_buf_;  // owned by an in-flight uv_write
  Buffer in_;
  RespScanner scanner_;
  RingQueue<Pending> pending_;
  std::string down_reply_;
  std::string last_error_;

  friend class Worker;
};

}  // namespace proxy
