// Worker implementation: listener set-up with SO_REUSEPORT (libuv 1.44 has no
// flag for it, so the socket is made, bound and handed to uv_tcp_open), the
// accept path with maxclients, the before-poll batch and orderly shutdown.
#include "proxy/worker.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "proxy/log.h"
#include "proxy/session.h"

namespace proxy {

size_t ProxyContext::worker_link_count(const Worker& w) { return w.link_count(); }

Worker::Worker(uint32_t id, ProxyContext& ctx)
    : id_(id),
      ctx_(ctx),
      map_(ctx.map),
      trackers_(ctx.trackers),
      counters_(ctx.backend_capacity, ctx.config->slots),
      router_(*ctx.commands, uint16_t(std::max(0, ctx.config->backend_index(ctx.config->pubsub_backend)))) {
  CHECK(uv_loop_init(&loop_) == 0);
}

Worker::~Worker() {
  for (Session* s : sessions_) {
    delete s;
  }
  sessions_.clear();
  links_.clear();
  int rc = uv_loop_close(&loop_);
  if (rc != 0) {
    LOG_ERROR("worker", "w{} loop not clean at exit: {}", id_, uv_strerror(rc));
  }
}

Status Worker::init() {
  const Config& cfg = *ctx_.config;
  sockaddr_storage addr{};
  int rc = uv_ip4_addr(cfg.listen.host.c_str(), cfg.listen.port,
                       reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) {
    rc = uv_ip6_addr(cfg.listen.host.c_str(), cfg.listen.port,
                     reinterpret_cast<sockaddr_in6*>(&addr));
  }
  if (rc != 0) {
    return Status(Code::InvalidArgument, "listen: not an IP address: " + cfg.listen.host);
  }
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Status(Code::IoError, std::string("socket: ") + strerror(errno));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    ::close(fd);
    return Status(Code::IoError, std::string("SO_REUSEPORT: ") + strerror(errno));
  }
  socklen_t len = addr.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    int e = errno;
    ::close(fd);
    return Status(Code::IoError, "cannot listen on " + cfg.listen.to_string() + ": " + strerror(e));
  }
  uv_tcp_init(&loop_, &listener_);
  listener_.data = this;
  listener_open_ = true;
  uv_tcp_open(&listener_, fd);
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 511, on_connection_cb);
  if (rc != 0) {
    return Status(Code::IoError, "listen on " + cfg.listen.to_string() + ": " + uv_strerror(rc));
  }
  uv_prepare_init(&loop_, &prepare_);
  prepare_.data = this;
  uv_prepare_start(&prepare_, on_prepare_cb);
  uv_async_init(&loop_, &async_, on_async_cb);
  async_.data = this;
  uv_timer_init(&loop_, &idle_timer_);
  idle_timer_.data = this;
  if (cfg.timeouts.client_idle_ms > 0) {
    uint64_t every = std::min<uint64_t>(1000, cfg.timeouts.client_idle_ms);
    uv_timer_start(&idle_timer_, on_idle_timer_cb, every, every);
  }
  links_.reserve(ctx_.backend_capacity);
  links3_.resize(ctx_.backend_capacity);
  idle_dedicated_.resize(ctx_.backend_capacity * 2);
  add_links();
  return Status::ok();
}

void Worker::add_links() {
  const Config& cfg = *ctx_.config;
  size_t want = std::min(cfg.backends.size(), ctx_.backend_capacity);
  for (size_t i = links_.size(); i < want; ++i) {
    links_.push_back(std::make_unique<BackendLink>(*this, uint16_t(i), cfg.backends[i], cfg));
    if (started_) {
      links_.back()->start();
      LOG_INFO("worker", "w{} b {} link opened ({} added by a reload)", id_, cfg.backends[i].name,
               cfg.backends[i].address.to_string());
    }
  }
  link_count_.store(links_.size(), std::memory_order_release);
}

void Worker::start() {
  thread_ = std::thread([this] {
    started_ = true;
    for (auto& l : links_) {
      l->start();
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
  });
}

void Worker::post_config_changed() {
  config_changed_.store(true);
  uv_async_send(&async_);
}

void Worker::stop() {
  stopping_.store(true);
  uv_async_send(&async_);
}

void Worker::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Worker::post_kill(uint64_t client_id) {
  {
    std::lock_guard<std::mutex> lock(mailbox_mu_);
    kills_.push_back(client_id);
  }
  uv_async_send(&async_);
}

void Worker::post_map_changed() {
  map_changed_.store(true);
  uv_async_send(&async_);
}

void Worker::on_async_cb(uv_async_t* h) {
  auto* self = static_cast<Worker*>(h->data);
  if (self->stopping_.load()) {
    self->shutdown();
    return;
  }
  if (self->config_changed_.exchange(false) && !self->stopping_links_) {
    self->add_links();
    uint32_t limit = self->ctx_.config->limits.max_inflight_per_backend;
    for (auto* group : {&self->links_, &self->links3_, &self->dedicated_}) {
      for (auto& l : *group) {
        if (l) {
          l->set_max_inflight(limit);
        }
      }
    }
  }
  if (self->map_changed_.exchange(false)) {
    self->map();       // adopt the new map and tracker set now, before the barrier
    self->trackers();
    std::vector<Session*> held;
    held.swap(self->held_);
    for (Session* s : held) {
      s->on_map_changed();
    }
    if (self->tracking()) {
      for (Session* s : self->sessions_) {
        s->adopt_trackers();  // blocked calls on a segment that now migrates
      }
    }
    self->run_barrier();
  }
  std::vector<uint64_t> kills;
  {
    std::lock_guard<std::mutex> lock(self->mailbox_mu_);
    kills.swap(self->kills_);
  }
  for (uint64_t id : kills) {
    for (Session* s : self->sessions_) {
      if (s->id() == id) {
        s->close("killed (CLIENT KILL)");
        break;
      }
    }
  }
}

void Worker::run_barrier() {
  uint64_t v = ctx_.trackers.version();
  if (v == barrier_target_ || stopping_links_) {
    return;
  }
  barrier_target_ = v;
  static constexpr std::string_view kPing = "*1\r\n$4\r\nPING\r\n";
  barrier_sink_.worker = this;
  for (auto* group : {&links_, &links3_}) {
    for (auto& l : *group) {
      if (l && l->send(kPing, &barrier_sink_, v)) {
        ++barrier_outstanding_;
      }
    }
  }
  if (barrier_outstanding_ == 0) {
    barrier_version.store(v);
  }
}

void Worker::BarrierSink::on_backend_reply(uint64_t, std::string_view, bool) {
  if (--worker->barrier_outstanding_ == 0) {
    worker->barrier_version.store(worker->barrier_target_);
  }
}

void Worker::shutdown() {
  if (listener_open_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    listener_open_ = false;
  }
  for (Session* s : sessions_) {
    s->close("shutdown");
  }
  stopping_links_ = true;
  for (auto& l : links_) {
    l->close();
  }
  for (auto& l : links3_) {
    if (l) {
      l->close();
    }
  }
  for (auto& l : dedicated_) {
    l->close();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_timer_), nullptr);
}

// Blocked and subscribed clients are exempt: waiting is what they are for.
void Worker::on_idle_timer_cb(uv_timer_t* h) {
  auto* self = static_cast<Worker*>(h->data);
  uint64_t now = uv_now(&self->loop_);
  uint64_t idle = self->ctx_.config->timeouts.client_idle_ms;
  for (Session* s : self->sessions_) {
    if (!s->idle_exempt() && now - s->last_active_ms() > idle) {
      bump(self->counters_.clients_closed_idle);
      s->close("idle timeout");
    }
  }
}

void Worker::on_connection_cb(uv_stream_t* server, int status) {
  static_cast<Worker*>(server->data)->on_connection(status);
}

void Worker::on_connection(int status) {
  if (status != 0) {
    LOG_WARN_EVERY("worker", "w{} accept: {}", id_, uv_strerror(status));
    return;
  }
  auto* s = new Session(*this, ctx_.next_client_id.fetch_add(1));
  sessions_.insert(s);
  clients.fetch_add(1, std::memory_order_relaxed);
  int64_t total = ctx_.connected_clients.fetch_add(1, std::memory_order_relaxed) + 1;
  bump(counters_.connections_accepted);
  int rc = s->accept(reinterpret_cast<uv_stream_t*>(&listener_));
  if (rc != 0) {
    s->close(uv_strerror(rc));
    return;
  }
  if (total > int64_t(ctx_.config->limits.max_clients)) {
    bump(counters_.connections_rejected);
    LOG_WARN_EVERY("worker", "w{} maxclients ({}) reached; refusing {}", id_,
                   ctx_.config->limits.max_clients, s->peer());
    s->quit_after_reply();
    s->reply_now("-ERR max number of clients reached\r\n");
  }
}

void Worker::session_closed(Session* s) { reap_.insert(s); }

SourceCounters* Worker::source(const std::string& name) {
  constexpr size_t kMaxSources = 1000;
  std::lock_guard<std::mutex> lock(sources_mu_);
  auto it = sources_.find(name);
  if (it != sources_.end()) {
    return it->second.get();
  }
  const std::string& key = sources_.size() < kMaxSources ? name : std::string("other");
  auto& slot = sources_[key];
  if (!slot) {
    slot = std::make_unique<SourceCounters>();
  }
  return slot.get();
}

void Worker::read_sources(std::vector<std::pair<std::string, uint64_t>>& out) const {
  std::lock_guard<std::mutex> lock(sources_mu_);
  for (const auto& [name, c] : sources_) {
    out.emplace_back(name, read(c->ops));
  }
}

BackendLink& Worker::link(uint16_t backend, int protocol) {
  if (protocol != 3) {
    return *links_[backend];
  }
  if (!links3_[backend]) {
    const Config& cfg = *ctx_.config;
    links3_[backend] = std::make_unique<BackendLink>(*this, backend, cfg.backends[backend], cfg, 3);
    links3_[backend]->start();
  }
  return *links3_[backend];
}

BackendLink* Worker::acquire_dedicated(uint16_t backend, int protocol) {
  auto& idle = idle_dedicated_[backend * 2 + (protocol == 3)];
  while (!idle.empty()) {
    BackendLink* l = idle.back();
    idle.pop_back();
    if (l->state() == BackendLink::State::Ready) {
      return l;
    }
    l->close();  // went down while idle
  }
  const Config& cfg = *ctx_.config;
  dedicated_.push_back(
      std::make_unique<BackendLink>(*this, backend, cfg.backends[backend], cfg, protocol));
  dedicated_.back()->start();
  return dedicated_.back().get();
}

void Worker::release_dedicated(BackendLink* link, bool reusable) {
  link->set_stream_sink(nullptr);
  link->reset_request_timeout();
  auto& idle = idle_dedicated_[link->index() * 2 + (link->protocol() == 3)];
  constexpr size_t kMaxIdlePerBackend = 16;
  if (reusable && !stopping_links_ && link->state() == BackendLink::State::Ready &&
      link->inflight() == 0 && idle.size() < kMaxIdlePerBackend) {
    idle.push_back(link);
    return;
  }
  link->close();  // freed in before_poll once its handles are closed
}

void Worker::on_prepare_cb(uv_prepare_t* h) { static_cast<Worker*>(h->data)->before_poll(); }

// Handlers only enqueue; this writes everything queued in this iteration and
// frees sessions whose handle is closed and whose requests have all returned.
void Worker::before_poll() {
  while (!flush_sessions_.empty() || !flush_links_.empty()) {
    flush_sessions_busy_.swap(flush_sessions_);
    for (Session* s : flush_sessions_busy_) {
      s->flush();
    }
    flush_sessions_busy_.clear();
    flush_links_busy_.swap(flush_links_);
    for (BackendLink* l : flush_links_busy_) {
      l->flush();
    }
    flush_links_busy_.clear();
  }
  for (size_t i = 0; i < dedicated_.size();) {
    if (dedicated_[i]->state() == BackendLink::State::Closed && dedicated_[i]->fully_closed()) {
      std::erase(flush_links_, dedicated_[i].get());
      dedicated_[i] = std::move(dedicated_.back());
      dedicated_.pop_back();
    } else {
      ++i;
    }
  }
  if (!reap_.empty()) {
    bool trim = false;
    for (auto it = reap_.begin(); it != reap_.end();) {
      Session* s = *it;
      if (!s->reapable()) {
        ++it;
        continue;
      }
      // A reaped session may still sit in a flush list of this iteration.
      std::erase(flush_sessions_, s);
      std::erase(held_, s);
      sessions_.erase(s);
      clients.fetch_sub(1, std::memory_order_relaxed);
      ctx_.connected_clients.fetch_sub(1, std::memory_order_relaxed);
      trim |= s->held_big_buffers();
      delete s;
      it = reap_.erase(it);
    }
    if (trim) {
      malloc_trim(0);
    }
  }
}

}  // namespace proxy
