// Worker: one thread, one libuv loop. It accepts on its own SO_REUSEPORT
// listener, owns its client Sessions and one BackendLink per backend, and runs
// the before-poll hook that writes queued output and reaps closed sessions.
// Threads meet it only through stop() (uv_async) and the counters it writes.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <uv.h>

#include "proxy/backend_link.h"
#include "proxy/context.h"
#include "proxy/router.h"
#include "proxy/status.h"
#include "proxy/telemetry.h"

namespace proxy {

class Session;

class Worker {
 public:
  Worker(uint32_t id, ProxyContext& ctx);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Main thread, before start(): binds the listener (SO_REUSEPORT, so every
  // worker binds the same address) and creates the backend links.
  Status init();
  void start();  // spawns the thread that runs the loop
  void stop();   // any thread; the loop closes everything and ends
  // Any thread: close this worker's client `id` (CLIENT KILL), through the mailbox.
  void post_kill(uint64_t client_id);
  // Any thread (a config reload): the loop opens links to backends the new
  // config added and applies changed link limits. link_count() then grows.
  void post_config_changed();
  // Any thread (the map authority, after publishing a map or tracker set):
  // the loop re-dispatches held writes and runs the tracker barrier below.
  void post_map_changed();
  // The tracker-set version this worker has adopted AND behind which every
  // request it sent earlier on its shared links has been answered (a PING on
  // each link came back): from then on all its writes to a migrating segment
  // are tracked. A migration waits for every worker's barrier before copying.
  std::atomic<uint64_t> barrier_version{0};
  void join();

  // Loop thread only.
  uint32_t id() const { return id_; }
  uv_loop_t* loop() { return &loop_; }
  ProxyContext& ctx() { return ctx_; }
  // The current segment map, cached per worker: one atomic load per call, the
  // snapshot is re-fetched only after the control thread published a new one.
  const std::shared_ptr<const SegmentMap>& map() { return map_.get(); }
  const std::shared_ptr<const TrackerSet>& trackers() { return trackers_.get(); }
  bool tracking() {
    const auto& t = trackers_.get();
    return t != nullptr && !t->trackers.empty();
  }
  void hold_for_map(Session* s) { held_.push_back(s); }
  WorkerCounters& counters() { return counters_; }
  BackendLink& link(uint16_t backend) { return *links_[backend]; }
  // The shared link of `backend` for a session speaking `protocol` (2 or 3);
  // RESP3 links are opened on first use.
  BackendLink& link(uint16_t backend, int protocol);
  // A connection of its own for one session (WATCH, blocking, pub/sub), from
  // an idle pool or new. Give it back with release_dedicated(); `reusable`
  // says it is idle and in a plain state (else it is closed and freed).
  BackendLink* acquire_dedicated(uint16_t backend, int protocol);
  void release_dedicated(BackendLink* link, bool reusable);
  size_t backend_count() const { return links_.size(); }  // loop thread
  Router& router() { return router_; }
  RoutePlan& plan_scratch() { return plan_; }
  std::string& reply_scratch() { return reply_scratch_; }
  void queue_flush(Session* s) { flush_sessions_.push_back(s); }
  void queue_flush(BackendLink* l) { flush_links_.push_back(l); }
  void session_closed(Session* s);  // from the session's close path; reaped before poll
  const std::unordered_set<Session*>& sessions() const { return sessions_; }
  // The counters of a client source (loop thread; takes a mutex only here,
  // on connect and CLIENT SETNAME, never per command). Bounded: past
  // kMaxSources, new names share the "other" entry.
  SourceCounters* source(const std::string& name);
  // Any thread: (name, cumulative ops) of every source.
  void read_sources(std::vector<std::pair<std::string, uint64_t>>& out) const;

  // Any thread (INFO, metrics, the control plane): links are created in
  // init() and by reloads, and live until the worker is destroyed; links_
  // never reallocates (reserved for ctx.backend_capacity), so reading entry
  // b < link_count() is safe. Read only their atomics.
  size_t link_count() const { return link_count_.load(std::memory_order_acquire); }
  const BackendLink& link_at(size_t b) const { return *links_[b]; }
  const WorkerCounters& counters() const { return counters_; }
  std::atomic<int64_t> clients{0};

 private:
  static void on_connection_cb(uv_stream_t* server, int status);
  static void on_prepare_cb(uv_prepare_t* h);
  static void on_async_cb(uv_async_t* h);
  static void on_idle_timer_cb(uv_timer_t* h);

  void on_connection(int status);
  void add_links();  // loop thread (or init): links for backends the config added
  void before_poll();
  void shutdown();

  uint32_t id_;
  ProxyContext& ctx_;
  SnapshotCell<SegmentMap>::Cached map_;
  SnapshotCell<TrackerSet>::Cached trackers_;
  std::vector<Session*> held_;  // sessions holding a write until the map changes
  std::atomic<bool> map_changed_{false};
  std::atomic<bool> config_changed_{false};
  std::atomic<size_t> link_count_{0};
  bool started_ = false;  // links are started by the loop thread once it runs
  // The barrier's PINGs: answered (or failed) by the links, counted down.
  struct BarrierSink final : ReplySink {
    Worker* worker = nullptr;
    void on_backend_reply(uint64_t, std::string_view, bool) override;
  } barrier_sink_;
  uint32_t barrier_outstanding_ = 0;
  uint64_t barrier_target_ = 0;
  void run_barrier();
  uv_loop_t loop_;
  uv_tcp_t listener_;
  uv_prepare_t prepare_;
  uv_async_t async_;
  uv_timer_t idle_timer_;  // closes clients idle past timeouts.clientIdle
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool listener_open_ = false;

  WorkerCounters counters_;
  std::vector<std::unique_ptr<BackendLink>> links_;
  std::vector<std::unique_ptr<BackendLink>> links3_;      // RESP3, by backend, lazily
  std::vector<std::unique_ptr<BackendLink>> dedicated_;   // every dedicated link alive
  std::vector<std::vector<BackendLink*>> idle_dedicated_;  // [backend * 2 + (protocol == 3)]
  bool stopping_links_ = false;
  Router router_;
  RoutePlan plan_;
  std::string reply_scratch_;
  std::unordered_set<Session*> sessions_;
  std::vector<Session*> flush_sessions_, flush_sessions_busy_;
  std::vector<BackendLink*> flush_links_, flush_links_busy_;
  std::unordered_set<Session*> reap_;
  mutable std::mutex sources_mu_;
  std::mutex mailbox_mu_;
  std::vector<uint64_t> kills_;  // client ids to close, posted by other threads
  std::unordered_map<std::string, std::unique_ptr<SourceCounters>> sources_;
};

}  // namespace proxy
