// Session implementation: the request path of session.h. Replies are
// released strictly in request order; a reply for the head slot is copied
// straight to the output buffer (the common, in-order case), others wait in
// their slot. Cookies sent with backend requests encode (slot seq, part, backend).
#include "proxy/session.h"

#include <algorithm>
#include <cstring>

#include "proxy/admin_commands.h"
#include "proxy/context.h"
#include "proxy/local_commands.h"
#include "proxy/log.h"
#include "proxy/resp_encode.h"
#include "proxy/telemetry.h"
#include "proxy/worker.h"

namespace proxy {

namespace {

constexpr size_t kInitialSlots = 64;
constexpr size_t kKeepSlotBytes = 64 * 1024;  // a slot keeps at most this much capacity
constexpr int kWriteBufs = 64;                // chunks per writev: up to 4 MB per write
constexpr size_t kTrimAfterBytes = 4 << 20;   // see Session::held_big_buffers()

ParserLimits parser_limits(const Config& c) {
  ParserLimits l;
  l.max_arguments = c.limits.max_arguments;
  l.max_bulk_length = c.limits.max_bulk_length;
  l.max_inline_length = c.limits.max_inline_length;
  return l;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

Session::Session(Worker& worker, uint64_t id)
    : worker_(worker),
      id_(id),
      parser_(parser_limits(*worker.ctx().config)),
      slots_(kInitialSlots),
      slot_mask_(kInitialSlots - 1) {
  created_ms_ = uv_now(worker_.loop());
  authenticated_ = worker_.ctx().config->password.empty();
  admin_ = worker_.ctx().config->admin_password.empty();
  last_active_ms_ = created_ms_;
}

Session::~Session() = default;

namespace {

// "ip:port" of a socket address; the bare IP into *ip when given.
std::string address_of(const sockaddr_storage& ss, std::string* ip) {
  char buf[64] = {0};
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    uv_ip4_name(a, buf, sizeof buf);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    uv_ip6_name(a, buf, sizeof buf);
    port = ntohs(a->sin6_port);
  }
  if (ip != nullptr) {
    *ip = buf;
  }
  return std::string(buf) + ":" + std::to_string(port);
}

}  // namespace

int Session::accept(uv_stream_t* server) {
  uv_tcp_init(worker_.loop(), &tcp_);
  tcp_.data = this;
  int rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp_));
  if (rc != 0) {
    return rc;
  }
  uv_tcp_nodelay(&tcp_, 1);
  sockaddr_storage ss{};
  int len = sizeof ss;
  std::string ip;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    peer_ = address_of(ss, &ip);
    source_ = worker_.source(ip);
  }
  ClientEntry entry;
  entry.worker = worker_.id();
  entry.addr = peer_;
  len = sizeof ss;
  if (uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    entry.laddr = address_of(ss, nullptr);
  }
  entry.created_ms = created_ms_;
  worker_.ctx().clients.add(id_, std::move(entry));
  listed_ = true;
  if (source_ == nullptr) {
    source_ = worker_.source("unknown");
  }
  reading_ = true;
  return uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc_cb, on_read_cb);
}

void Session::set_name(std::string_view n) {
  name_.assign(n);
  if (!name_.empty()) {
    source_ = worker_.source(name_);
  }
  worker_.ctx().clients.update(id_, [&](ClientEntry& e) { e.name = name_; });
}

void Session::set_protocol(int p) {
  protocol_ = p;
  worker_.ctx().clients.update(id_, [&](ClientEntry& e) { e.resp = p; });
}

void Session::set_user(std::string_view u, bool readonly, bool admin) {
  user_.assign(u);
  readonly_ = readonly;
  admin_ = admin;
  worker_.ctx().clients.update(id_, [&](ClientEntry& e) { e.user = user_; });
}

void Session::close(const char* reason) {
  if (closing_) {
    return;
  }
  closing_ = true;
  LOG_DEBUG("session", "w{} c {} closed: {}", worker_.id(), id_, reason);
  if (listed_) {
    worker_.ctx().clients.remove(id_);
    listed_ = false;
  }
  // Dedicated links may hold a WATCH, a blocked call or subscriptions: close
  // them, which fails what they carry (our sink ignores it: we are closing).
  if (blocking_link_ != nullptr) {
    worker_.ctx().blocked_clients.fetch_sub(1, std::memory_order_relaxed);
  }
  end_blocked_call();
  for (BackendLink** l : {&watch_link_, &blocking_link_, &sub_link_}) {
    if (*l != nullptr) {
      BackendLink* link = *l;
      *l = nullptr;
      worker_.release_dedicated(link, false);
    }
  }
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close_cb);
  }
  // uv_close closed the fd: no write reads the chunks any more. Free them now
  // rather than at reaping, which waits for every reply still in flight.
  held_big_buffers_ = in_.capacity() + out_.size() >= kTrimAfterBytes;
  out_.release();
  writing_bytes_ = 0;
}

void Session::on_close_cb(uv_handle_t* h) {
  auto* self = static_cast<Session*>(h->data);
  self->handle_closed_ = true;
  self->worker_.session_closed(self);
}

void Session::on_alloc_cb(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Session*>(h->data);
  char* p = self->in_.prepare(16384);
  *buf = uv_buf_init(p, self->in_.writable());
}

void Session::on_read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  static_cast<Session*>(s->data)->on_read(nread);
}

void Session::on_read(ssize_t nread) {
  if (nread == 0) {
    return;
  }
  if (nread < 0) {
    close(nread == UV_EOF ? "client closed" : uv_strerror(nread));
    return;
  }
  in_.commit(nread);
  last_active_ms_ = uv_now(worker_.loop());
  bump(worker_.counters().bytes_in, nread);
  process_input();
}

void Session::process_input() {
  const Limits& limits = worker_.ctx().config->limits;
  while (!closing_ && !quit_after_flush_ && !in_.empty()) {
    if (!reading_ || input_held()) {
      input_pending_ = true;  // resumed from flush() once replies drain
      if (in_.size() > limits.query_buffer_bytes) {
        // Held (blocked, fenced, waiting for a switch) yet still sending: the
        // unparsed input is bounded as for one big command (Redis does the same).
        bump(worker_.counters().clients_closed_query_limit);
        close("query buffer limit while input is held");
      }
      return;
    }
    size_t consumed = 0;
    ParseStatus st = parser_.parse(in_.data(), in_.size(), cmd_, consumed);
    if (st == ParseStatus::NeedMore) {
      if (in_.size() > limits.query_buffer_bytes) {
        bump(worker_.counters().clients_closed_query_limit);
        reply_now("-ERR query buffer limit exceeded (limits.queryBuffer); closing\r\n");
        quit_after_flush_ = true;
      }
      break;
    }
    if (st == ParseStatus::Error) {
      bump(worker_.counters().protocol_errors);
      std::string e = "-" + parser_.error_message() + "\r\n";
      reply_now(e);
      quit_after_flush_ = true;  // as Redis does: the stream cannot be trusted past this
      in_.clear();
      break;
    }
    // `consumed` may include skipped empty commands before this one; its own
    // bytes are the last wire_bytes.
    if (!dispatch(cmd_,
                  std::string_view(in_.data() + consumed - cmd_.wire_bytes, cmd_.wire_bytes))) {
      held_for_map_ = true;  // the same bytes are parsed again once the map changed
      worker_.hold_for_map(this);
      input_pending_ = true;
      break;
    }
    in_.consume(consumed);
    if (tail_seq_ - head_seq_ >= limits.max_inflight_per_client) {
      pause_reading();
    }
  }
  if (in_.empty()) {
    in_.shrink_if_idle(1 << 20);
  }
  queue_flush();
}

bool Session::dispatch(const Command& cmd, std::string_view raw) {
  ProxyContext& ctx = worker_.ctx();
  const CommandInfo* info = ctx.commands->lookup(cmd.args);
  if (info == nullptr && authenticated_) {
    std::string& out = worker_.reply_scratch();
    out.clear();
    if (AdminCommands::run(*this, cmd, out)) {
      reply_now(out);
      return true;
    }
  }
  if (info == nullptr) {
    std::string e = "-ERR unknown command '";
    e.append(cmd.args[0].substr(0, 128));
    e.append("', with args beginning with: ");
    for (size_t i = 1; i < cmd.args.size() && i < 8; ++i) {
      e.append("'");
      e.append(cmd.args[i].substr(0, 64));
      e.append("' ");
    }
    for (char& c : e) {
      c = (c == '\r' || c == '\n') ? ' ' : c;
    }
    e.append("\r\n");
    reply_now(e);
    return true;
  }
  uint8_t cls = static_cast<uint8_t>(info->cls);
  size_t nargs = cmd.args.size();
  bump(source_->ops);
  if ((info->arity > 0 && nargs != size_t(info->arity)) ||
      (info->arity < 0 && nargs < size_t(-info->arity))) {
    reply_now("-ERR wrong number of arguments for '" + info->name + "' command\r\n");
    return true;
  }
  // lookup() returns a container's own entry only for a missing or unknown
  // subcommand; bare COMMAND is valid alone, and CLIENT's newer subcommands
  // (SETINFO and NO-TOUCH are Redis 7.2) are answered by LocalCommands.
  if (info->is_container && info->cls != CommandClass::Connection &&
      !(nargs == 1 && info->name == "command")) {
    std::string sub = nargs > 1 ? std::string(cmd.args[1].substr(0, 64)) : std::string();
    reply_now("-ERR unknown subcommand '" + sub + "'. Try " + lower(cmd.args[0]) +
              " HELP.\r\n");
    return true;
  }
  if (!authenticated_ && info->name != "auth" && info->name != "hello" &&
      info->name != "quit" && info->name != "reset") {
    reply_now("-NOAUTH Authentication required.\r\n");
    return true;
  }
  if (readonly_ && info->is_write()) {
    reply_now("-NOPERM User " + user_ + " has no permissions to run the '" + info->name +
              "' command\r\n");
    return true;
  }
  tracked_.clear();
  if (in_multi_ && !multi_error_ && multi_slot_ >= 0 && info->name == "exec" &&
      worker_.tracking() && !track_exec()) {
    return false;
  }
  if (dispatch_mode(*info, cmd, raw)) {
    return true;  // MULTI/EXEC/WATCH, subscriptions, and anything queued in MULTI
  }
  const std::shared_ptr<const SegmentMap>& map = worker_.map();
  RoutePlan& plan = worker_.plan_scratch();
  worker_.router().route(*info, cmd, *map, plan);
  if (plan.needs_admin && !ctx.config->admin_password.empty() && !admin_) {
    reply_now("-NOPERM '" + info->name +
              "' needs the admin password (AUTH admin <adminPassword>)\r\n");
    return true;
  }
  tracked_.clear();
  // Scripts are not flagged write, yet they write: tracked like writes.
  if ((info->is_write() || info->cls == CommandClass::Scripting) && worker_.tracking() &&
      (plan.kind == RouteKind::Single || plan.kind == RouteKind::Split) &&
      !track_write(*info, cmd, *map)) {
    return false;
  }
  if (plan.kind == RouteKind::Single && plan.backend == kAnyBackend) {
    plan.backend = uint16_t(id_ % worker_.backend_count());
  }
  if (plan.kind == RouteKind::Single && info->cls == CommandClass::Blocking &&
      (info->flags & kFlagBlocking) != 0) {
    if (!blocking(*info, cmd, raw, plan)) {
      untrack_unsent();
      return false;
    }
    return true;
  }
  switch (plan.kind) {
    case RouteKind::Scan:
      scan(cmd);
      return true;
    case RouteKind::Local: {
      std::string& out = worker_.reply_scratch();
      out.clear();
      LocalCommands::run(*this, *info, cmd, out);
      bump(worker_.counters().requests(worker_.counters().proxy_index(), cls));
      reply_now(out);
      return true;
    }
    case RouteKind::Error:
      bump(worker_.counters().errors(worker_.counters().proxy_index(), cls));
      if (plan.error.empty()) {
        reply_now("-ERR wrong number of arguments for '" + info->name + "' command\r\n");
      } else {
        reply_now(plan.error);
      }
      return true;
    case RouteKind::Single: {
      uint64_t seq = open_slot(cls, Merge::Forward, 1);
      Slot& s = slot(seq);
      s.tracked.swap(tracked_);
      int dst = s.tracked.empty() && worker_.tracking()
                    ? read_at_destination(*info, cmd, *map, plan)
                    : -1;
      if (dst >= 0) {
        s.reread.assign(raw);
        s.reread_backend = plan.backend;
        plan.backend = uint16_t(dst);
      }
      count_load(*info, plan, raw, seq);
      send_part(plan.backend, seq, 0, cls, cmd, raw, nullptr);
      return true;
    }
    case RouteKind::Split:
    case RouteKind::Broadcast: {
      uint32_t n = static_cast<uint32_t>(plan.backends.size());
      uint64_t seq = open_slot(cls, plan.merge, n);
      Slot& s = slot(seq);
      s.tracked.swap(tracked_);
      if (plan.kind == RouteKind::Split) {
        count_load(*info, plan, raw, seq);
      }
      s.key_part.assign(plan.key_part.begin(), plan.key_part.end());
      if (plan.kind == RouteKind::Broadcast) {
        s.key_part.clear();
      }
      for (uint32_t p = 0; p < n; ++p) {
        send_part(plan.backends[p], seq, p, cls, cmd, raw,
                  plan.kind == RouteKind::Split ? &plan : nullptr);
      }
      return true;
    }
  }
  return true;
}

// DESIGN §6: during catch-up a read whose keys were copied and not written
// since is answered by the destination (migration_tracker.h). Only plain
// reads on the shared link: no write, script, blocking call, MULTI or WATCH
// (those take other paths or must see the source), not PFCOUNT (it rewrites
// its key's cached cardinality), not inline commands (the fallback re-sends
// the raw request), and only while the destination's link is up.
int Session::read_at_destination(const CommandInfo& info, const Command& cmd, const SegmentMap& map,
                                 const RoutePlan& plan) {
  if (!info.is_readonly() || info.is_write() || info.cls == CommandClass::Scripting ||
      info.cls == CommandClass::Blocking || (info.flags & kFlagBlocking) != 0 ||
      info.name == "pfcount" || cmd.inline_form || in_multi_ || watch_link_ != nullptr ||
      plan.slot == -1 || plan.backend == kAnyBackend || plan.segment >= map.size()) {
    return -1;
  }
  const Segment& seg = map.segment(plan.segment);
  if (seg.state != SegmentState::Migrating || seg.owner != plan.backend || seg.dst == seg.owner ||
      seg.dst >= worker_.backend_count()) {
    return -1;
  }
  keys_.clear();
  if (!worker_.ctx().commands->key_positions(info, cmd.args, keys_) || keys_.empty()) {
    return -1;
  }
  MigrationTracker* t = worker_.trackers()->find(map.slot_of(cmd.args[keys_[0]]));
  if (t == nullptr || t->source() != seg.owner) {
    return -1;
  }
  for (uint32_t pos : keys_) {
    uint32_t slot = map.slot_of(cmd.args[pos]);
    if (!t->covers(slot) || map.segment_of_slot(slot) != plan.segment ||
        !t->readable_at_destination(cmd.args[pos])) {
      return -1;
    }
  }
  BackendLink& link = worker_.link(seg.dst, protocol_);
  if (link.state() != BackendLink::State::Ready || !link.accepting()) {
    return -1;
  }
  t->served_at_destination(cmd.args[keys_[0]]);
  return seg.dst;
}

bool Session::track_write(const CommandInfo& info, const Command& cmd, const SegmentMap& map) {
  const auto& set = worker_.trackers();
  keys_.clear();
  if (!worker_.ctx().commands->key_positions(info, cmd.args, keys_)) {
    return true;  // malformed: the backend answers the error, nothing is written
  }
  for (uint32_t pos : keys_) {
    std::string_view key = cmd.args[pos];
    uint32_t slot = map.slot_of(key);
    const Segment& seg = map.segment(map.segment_of_slot(slot));
    if (seg.state == SegmentState::Stable) {
      continue;
    }
    std::shared_ptr<MigrationTracker> t;
    for (const auto& c : set->trackers) {
      if (c->covers(slot)) {
        t = c;
      }
    }
    if (t == nullptr) {
      // Migrating in the map but no tracker yet (or any more): hold until the
      // two agree, rather than write untracked.
      untrack_unsent();
      return false;
    }
    auto it = std::find_if(tracked_.begin(), tracked_.end(),
                           [&](const auto& p) { return p.first == t; });
    if (it == tracked_.end()) {
      tracked_.emplace_back(t, std::vector<std::string>());
      it = tracked_.end() - 1;
    }
    it->second.emplace_back(key);
  }
  for (size_t i = 0; i < tracked_.size(); ++i) {
    if (!tracked_[i].first->write_sent(tracked_[i].second)) {
      tracked_.resize(i);  // the ones before were admitted: report them unsent
      untrack_unsent();
      return false;
    }
  }
  return true;
}

// Writes admitted by a tracker that will not be sent after all.
void Session::untrack_unsent() {
  for (auto& [t, keys] : tracked_) {
    t->write_done(keys);
  }
  tracked_.clear();
}

// A write whose part to the tracker's source lost its reply keeps its keys
// pending until the migration killed that connection.
void Session::finish_tracking(Slot& s) {
  for (auto& [t, keys] : s.tracked) {
    auto lost = std::find_if(s.lost.begin(), s.lost.end(),
                             [&](const auto& l) { return l.first == t->source(); });
    if (lost != s.lost.end()) {
      t->write_lost(keys, lost->second);
    } else {
      t->write_done(keys);
    }
  }
  s.tracked.clear();
  s.lost.clear();
}

void Session::on_map_changed() {
  if (held_for_map_) {
    held_for_map_ = false;
    input_pending_ = true;
    queue_flush();
  }
}

// Sends the whole command (split == nullptr) or the key groups of `split`
// that belong to `backend`. A link that is down answers the part at once.
void Session::send_part(uint16_t backend, uint64_t seq, uint32_t part, uint8_t cls,
                        const Command& cmd, std::string_view raw, const RoutePlan* split) {
  BackendLink& link = worker_.link(backend, protocol_);
  if (!link.accepting()) {
    bump(worker_.counters().requests(backend, cls));  // so errors never outnumber requests
    bump(worker_.counters().errors(backend, cls));
    complete_part(seq, part, link.down_reply(), true);
    return;
  }
  Buffer& b = link.request_buffer();
  if (split != nullptr) {
    size_t groups = 0;
    for (uint16_t kb : split->key_backend) {
      groups += (kb == backend);
    }
    encode_header(b, '*', 1 + groups * split->key_step);
    encode_bulk(b, cmd.args[0]);
    for (size_t g = 0; g < split->key_backend.size(); ++g) {
      if (split->key_backend[g] != backend) {
        continue;
      }
      size_t first = split->first_key + g * split->key_step;
      for (size_t a = first; a < first + split->key_step; ++a) {
        encode_bulk(b, cmd.args[a]);
      }
    }
  } else {
    append_request(b, cmd, raw);
  }
  link.commit(this, make_cookie(seq, part, backend));
  ++inflight_;
  bump(worker_.counters().requests(backend, cls));
}

void Session::on_backend_lost(uint64_t cookie, std::string_view reply,
                              uint64_t server_client_id) {
  Slot& s = slot(head_seq_ + uint32_t(uint32_t(cookie >> 32) - uint32_t(head_seq_)));
  if (!s.tracked.empty()) {
    s.lost.emplace_back(uint16_t(cookie & 0xfff), server_client_id);
  }
  on_backend_reply(cookie, reply, true);
}

void Session::on_backend_reply(uint64_t cookie, std::string_view reply, bool link_error) {
  --inflight_;
  if (closing_) {
    // Nobody reads the reply, but a migration waits for its write to finish.
    Slot& s = slot(head_seq_ + uint32_t(uint32_t(cookie >> 32) - uint32_t(head_seq_)));
    if (!s.tracked.empty()) {
      if (s.parts_pending <= 1) {
        finish_tracking(s);
      } else {
        --s.parts_pending;
      }
    }
    if (reapable()) {
      worker_.session_closed(this);
    }
    return;
  }
  uint64_t seq = head_seq_ + uint32_t(uint32_t(cookie >> 32) - uint32_t(head_seq_));
  uint32_t part = (cookie >> 12) & 0xfffff;
  uint16_t backend = cookie & 0xfff;
  if (!link_error && blocked_call_.call != nullptr && seq == blocked_call_.seq &&
      blocked_call_.call->unblock_requested.load() && reissue_blocked(seq, reply)) {
    return;  // unblocked by a migration's switch: runs again on the new owner
  }
  if (!slot(seq).reread.empty() &&
      (link_error || reply.starts_with("-BUSY") || reply.starts_with("-LOADING"))) {
    // The destination failed a read (link down, timeout, busy with a script,
    // loading): the source answers.
    Slot& s = slot(seq);
    std::string request;
    request.swap(s.reread);
    BackendLink& src = worker_.link(s.reread_backend, protocol_);
    if (src.send(request, this, make_cookie(seq, part, s.reread_backend))) {
      ++inflight_;
      bump(worker_.counters().requests(s.reread_backend, s.cls));
      return;
    }
    backend = s.reread_backend;
    reply = src.down_reply();
  }
  slot(seq).reread.clear();
  if (int32_t ts = slot(seq).tslot; ts >= 0) {
    worker_.counters().count_reply(uint32_t(ts), backend, reply.size());
  }
  if (!link_error && is_error_reply(reply)) {
    bump(worker_.counters().errors(backend, slot(seq).cls));
  } else if (link_error) {
    bump(worker_.counters().errors(backend, slot(seq).cls));
  }
  complete_part(seq, part, reply, link_error);
}

void Session::count_load(const CommandInfo& info, const RoutePlan& plan, std::string_view raw,
                         uint64_t seq) {
  OpKind kind = info.is_write() ? OpKind::Write : info.is_readonly() ? OpKind::Read : OpKind::Other;
  WorkerCounters& c = worker_.counters();
  if (plan.slot >= 0) {
    c.count_load(uint32_t(plan.slot), plan.backend, kind, raw.size());
    slot(seq).tslot = plan.slot;
  } else if (plan.slot == -2 || plan.kind == RouteKind::Split) {
    // A multi-key command counts once per key group, on that key's slot.
    size_t groups = plan.key_slot.size();
    for (size_t g = 0; g < groups; ++g) {
      c.count_load(plan.key_slot[g], plan.key_backend[g], kind, raw.size() / groups);
    }
    slot(seq).tslot = groups > 0 ? int32_t(plan.key_slot[0]) : -1;
  }
}

void Session::append_request(Buffer& b, const Command& cmd, std::string_view raw) {
  if (!cmd.inline_form) {
    b.append(raw);  // the client's own bytes: no re-encoding on the fast path
    return;
  }
  encode_header(b, '*', cmd.args.size());
  for (std::string_view a : cmd.args) {
    encode_bulk(b, a);
  }
}

void Session::complete_part(uint64_t seq, uint32_t part, std::string_view reply,
                            bool link_error) {
  Slot& s = slot(seq);
  if (!s.tracked.empty() && s.parts_pending == 1) {
    finish_tracking(s);
  }
  if (s.release_link != nullptr && s.parts_pending == 1) {
    // The last reply a dedicated link owed this slot: give the link back.
    BackendLink* l = s.release_link;
    s.release_link = nullptr;
    if (l == blocking_link_) {
      end_blocked_call();
      blocking_link_ = nullptr;
      blocked_ = false;
      worker_.ctx().blocked_clients.fetch_sub(1, std::memory_order_relaxed);
      input_pending_ = !in_.empty();
    }
    worker_.release_dedicated(l, true);
  }
  if (s.merge == Merge::Last || s.merge == Merge::Scan) {
    if (part + 1 == s.nparts) {
      s.reply.clear();
      if (s.merge == Merge::Scan) {
        auto map = worker_.map();
        KeyFilter keep = [&](size_t b, std::string_view key) {
          return map->segment(map->segment_of_slot(map->slot_of(key))).owner == b;
        };
        merge_scan(reply, s.scan_backend, worker_.backend_count(), keep, s.reply);
      } else {
        s.reply.assign(reply);
      }
    }
    if (--s.parts_pending == 0) {
      s.ready = true;
      if (seq == head_seq_) {
        release_ready();
      }
    }
    return;
  }
  if (s.nparts == 1 && s.merge == Merge::Forward) {
    if (seq == head_seq_) {
      out_.append(reply);  // in order: straight out, no copy into the slot
      ++head_seq_;
      release_ready();
    } else {
      s.reply.assign(reply);
      s.ready = true;
    }
    return;
  }
  s.parts[part].assign(reply);
  if (--s.parts_pending > 0) {
    return;
  }
  s.reply.clear();
  if (s.merge == Merge::Concat) {
    // KEYS: a backend contributes only keys of segments it owns.
    auto map = worker_.map();
    KeyFilter keep = [&](size_t b, std::string_view key) {
      return map->segment(map->segment_of_slot(map->slot_of(key))).owner == b;
    };
    merge_replies(s.merge, s.parts, s.nparts, s.key_part, s.reply, &keep);
  } else {
    merge_replies(s.merge, s.parts, s.nparts, s.key_part, s.reply);
  }
  s.ready = true;
  if (seq == head_seq_) {
    release_ready();
  }
}

uint64_t Session::open_slot(uint8_t cls, Merge merge, uint32_t parts) {
  if (tail_seq_ - head_seq_ == slots_.size()) {
    std::vector<Slot> next(slots_.size() * 2);
    uint64_t mask = next.size() - 1;
    for (uint64_t q = head_seq_; q < tail_seq_; ++q) {
      next[q & mask] = std::move(slots_[q & slot_mask_]);
    }
    slots_.swap(next);
    slot_mask_ = mask;
  }
  Slot& s = slot(tail_seq_);
  s.ready = false;
  s.release_link = nullptr;
  s.reread.clear();
  s.tslot = -1;
  s.cls = cls;
  s.merge = merge;
  s.nparts = parts;
  s.parts_pending = parts;
  if (parts > 1 && merge != Merge::Last && s.parts.size() < parts) {
    s.parts.resize(parts);
  }
  return tail_seq_++;
}

void Session::reply_now(std::string_view bytes) {
  if (head_seq_ == tail_seq_) {
    out_.append(bytes);
    queue_flush();
    return;
  }
  uint64_t seq = open_slot(0, Merge::Forward, 0);
  Slot& s = slot(seq);
  s.reply.assign(bytes);
  s.ready = true;
}

void Session::release_ready() {
  while (head_seq_ < tail_seq_) {
    Slot& s = slot(head_seq_);
    if (!s.ready) {
      break;
    }
    out_.append(s.reply);
    if (s.reply.capacity() > kKeepSlotBytes) {
      std::string().swap(s.reply);
    }
    s.ready = false;
    ++head_seq_;
  }
  if (!reading_ && !closing_ &&
      tail_seq_ - head_seq_ <= worker_.ctx().config->limits.max_inflight_per_client / 2) {
    resume_reading();
  }
  queue_flush();
}

void Session::queue_flush() {
  if (!flush_queued_ && !closing_) {
    flush_queued_ = true;
    worker_.queue_flush(this);
  }
}

void Session::pause_reading() {
  if (reading_) {
    reading_ = false;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  }
}

void Session::resume_reading() {
  if (!reading_) {
    reading_ = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc_cb, on_read_cb);
    input_pending_ = !in_.empty();
    queue_flush();
  }
}

void Session::flush() {
  flush_queued_ = false;
  if (closing_) {
    return;
  }
  if (input_pending_ && reading_ && !input_held()) {
    input_pending_ = false;
    process_input();  // bytes left over when reading paused
  }
  size_t pending = out_.size();
  if (pending > worker_.ctx().config->limits.output_buffer_bytes) {
    bump(worker_.counters().clients_closed_output_limit);
    LOG_WARN_EVERY("session", "w{} c {} {} closed: output buffer limit ({} bytes pending)",
                   worker_.id(), id_, peer_, pending);
    close("output buffer limit");
    return;
  }
  if (!writing_active_ && !out_.empty()) {
    uv_buf_t bufs[kWriteBufs];
    int nb = out_.gather(bufs, kWriteBufs);
    int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), bufs, nb);
    if (n < 0 && n != UV_EAGAIN) {
      close(uv_strerror(n));
      return;
    }
    if (n > 0) {
      bump(worker_.counters().bytes_out, n);
      out_.consume(n);
    }
    if (!out_.empty()) {
      // The rest goes out asynchronously from the chunks themselves; appends
      // meanwhile land behind it.
      nb = out_.gather(bufs, kWriteBufs);
      writing_bytes_ = 0;
      for (int i = 0; i < nb; ++i) {
        writing_bytes_ += bufs[i].len;
      }
      write_req_.data = this;
      writing_active_ = true;
      int rc = uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), bufs, nb, on_write_cb);
      if (rc != 0) {
        writing_active_ = false;
        close(uv_strerror(rc));
        return;
      }
    }
  }
  if (quit_after_flush_ && head_seq_ == tail_seq_ && out_.empty() && !writing_active_) {
    close("quit");
  }
}

void Session::on_write_cb(uv_write_t* req, int status) {
  auto* self = static_cast<Session*>(req->data);
  self->writing_active_ = false;
  if (status != 0) {
    self->close(uv_strerror(status));
    return;
  }
  bump(self->worker_.counters().bytes_out, self->writing_bytes_);
  self->out_.consume(self->writing_bytes_);
  self->writing_bytes_ = 0;
  if (!self->out_.empty() || self->quit_after_flush_) {
    self->queue_flush();
  }
}

}  // namespace proxy
