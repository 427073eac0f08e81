// Session modes that need more than one request/reply: MULTI/EXEC/DISCARD,
// WATCH/UNWATCH, blocking commands and pub/sub subscriptions (see the mode
// list in session.h). Transactions are kept as Redis Cluster keeps them: all
// keys in one slot, a refused command aborts EXEC (-EXECABORT).
#include <cctype>

#include "proxy/context.h"
#include "proxy/log.h"
#include "proxy/resp_encode.h"
#include "proxy/resp_scanner.h"
#include "proxy/resp_writer.h"
#include "proxy/session.h"
#include "proxy/telemetry.h"
#include "proxy/worker.h"

namespace proxy {

namespace {

constexpr std::string_view kFence = "__foreshard_fence__";

bool one_of(const std::string& n, std::initializer_list<const char*> names) {
  for (const char* x : names) {
    if (n == x) {
      return true;
    }
  }
  return false;
}

bool is_subscribe(const std::string& n) { return one_of(n, {"subscribe", "psubscribe", "ssubscribe"}); }
bool is_unsubscribe(const std::string& n) {
  return one_of(n, {"unsubscribe", "punsubscribe", "sunsubscribe"});
}

}  // namespace

bool Session::dispatch_mode(const CommandInfo& info, const Command& cmd, std::string_view raw) {
  const std::string& n = info.name;
  if (sub_link_ != nullptr && protocol_ == 2) {
    // RESP2 subscribed connections accept only these, as in Redis.
    if (!is_subscribe(n) && !is_unsubscribe(n) && !one_of(n, {"ping", "quit", "reset"})) {
      reply_now("-ERR Can't execute '" + n +
                "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in "
                "this context\r\n");
      return true;
    }
    if (n == "ping") {
      send_sub(cmd, raw);
      return true;
    }
  }
  if (in_multi_) {
    if (n == "exec") {
      exec();
    } else if (n == "discard") {
      in_multi_ = false;
      multi_cmds_.clear();
      multi_ends_.clear();
      if (watch_link_ != nullptr) {  // DISCARD also forgets the WATCH
        worker_.release_dedicated(watch_link_, false);
        watch_link_ = nullptr;
        watch_slot_ = -1;
      }
      reply_now("+OK\r\n");
    } else if (n == "multi") {
      reply_now("-ERR MULTI calls can not be nested\r\n");
    } else if (n == "watch") {
      reply_now("-ERR WATCH inside MULTI is not allowed\r\n");
    } else if (n == "quit" || n == "reset") {
      return false;
    } else {
      queue_in_multi(info, cmd, raw);
    }
    return true;
  }
  if (n == "multi") {
    in_multi_ = true;
    multi_error_ = false;
    multi_slot_ = -1;
    multi_cmds_.clear();
    multi_ends_.clear();
    reply_now("+OK\r\n");
  } else if (n == "exec") {
    reply_now("-ERR EXEC without MULTI\r\n");
  } else if (n == "discard") {
    reply_now("-ERR DISCARD without MULTI\r\n");
  } else if (n == "watch") {
    watch(info, cmd, raw);
  } else if (n == "unwatch") {
    if (watch_link_ != nullptr) {
      BackendLink* l = watch_link_;
      watch_link_ = nullptr;
      watch_slot_ = -1;
      send_dedicated(l, cmd, raw, uint8_t(info.cls), l);
    } else {
      reply_now("+OK\r\n");
    }
  } else if (is_subscribe(n)) {
    subscribe(cmd, raw);
  } else if (is_unsubscribe(n)) {
    if (sub_link_ != nullptr) {
      send_sub(cmd, raw);
    } else {
      unsubscribe_locally(cmd);
    }
  } else {
    return false;
  }
  return true;
}

// Finds the one slot of cmd's keys (-1 when it has none). On a malformed
// command or keys in several slots, replies with the error and returns false.
bool Session::slot_of_keys(const CommandInfo& info, const Command& cmd, int32_t& slot) {
  keys_.clear();
  slot = -1;
  if (!worker_.ctx().commands->key_positions(info, cmd.args, keys_)) {
    reply_now("-ERR syntax error: cannot find the keys of '" + info.name + "'\r\n");
    return false;
  }
  auto map = worker_.map();
  for (uint32_t k : keys_) {
    int32_t s = map->slot_of(cmd.args[k]);
    if (slot >= 0 && s != slot) {
      reply_now(kCrossSlot);
      return false;
    }
    slot = s;
  }
  return true;
}

void Session::queue_in_multi(const CommandInfo& info, const Command& cmd, std::string_view raw) {
  const Limits& limits = worker_.ctx().config->limits;
  bool refused = (info.flags & kFlagNoMulti) != 0 || info.cls == CommandClass::Admin ||
                 info.cls == CommandClass::PubSub || info.cls == CommandClass::FleetWide;
  int32_t slot = -1;
  if (refused) {
    reply_now("-ERR foreshard: '" + info.name + "' is not allowed inside MULTI\r\n");
    multi_error_ = true;
    return;
  }
  if (!slot_of_keys(info, cmd, slot)) {
    multi_error_ = true;  // Redis Cluster's rule: EXEC will answer EXECABORT
    return;
  }
  if (slot >= 0) {
    if ((multi_slot_ >= 0 && slot != multi_slot_) || (watch_slot_ >= 0 && slot != watch_slot_)) {
      reply_now(kCrossSlot);
      multi_error_ = true;
      return;
    }
    multi_slot_ = slot;
  }
  if (multi_cmds_.size() + raw.size() > limits.query_buffer_bytes) {
    reply_now("-ERR transaction too large (limits.queryBuffer)\r\n");
    multi_error_ = true;
    return;
  }
  append_request(multi_cmds_, cmd, raw);
  multi_ends_.push_back(multi_cmds_.size());
  reply_now("+QUEUED\r\n");
}

// EXEC: MULTI, the queued commands and EXEC go as one contiguous block on one
// connection, so Redis runs them atomically there; only EXEC's reply is kept.
// The keys of the queued commands, for a transaction on a migrating segment.
bool Session::track_exec() {
  auto map = worker_.map();
  const Segment& seg = map->segment(map->segment_of_slot(uint32_t(multi_slot_)));
  if (seg.state == SegmentState::Stable) {
    return true;
  }
  std::shared_ptr<MigrationTracker> t;
  for (const auto& c : worker_.trackers()->trackers) {
    if (c->covers(uint32_t(multi_slot_))) {
      t = c;
    }
  }
  if (t == nullptr) {
    return false;  // map and trackers disagree for a moment: wait
  }
  std::vector<std::string> keys;
  RespParser parser(ParserLimits{});
  Command c;
  std::vector<uint32_t> pos;
  size_t start = 0;
  for (size_t end : multi_ends_) {
    size_t consumed = 0;
    if (parser.parse(multi_cmds_.data() + start, end - start, c, consumed) == ParseStatus::Ok) {
      if (const CommandInfo* info = worker_.ctx().commands->lookup(c.args)) {
        pos.clear();
        if (worker_.ctx().commands->key_positions(*info, c.args, pos)) {
          for (uint32_t p : pos) {
            keys.emplace_back(c.args[p]);
          }
        }
      }
    }
    start = end;
  }
  if (!t->write_sent(keys)) {
    return false;
  }
  tracked_.clear();
  tracked_.emplace_back(std::move(t), std::move(keys));
  return true;
}

void Session::exec() {
  in_multi_ = false;
  BackendLink* watched = watch_link_;
  watch_link_ = nullptr;
  watch_slot_ = -1;
  auto clear = [this] {
    multi_cmds_.clear();
    multi_ends_.clear();
    multi_slot_ = -1;
  };
  if (multi_error_) {
    if (watched != nullptr) {
      worker_.release_dedicated(watched, false);
    }
    clear();
    reply_now("-EXECABORT Transaction discarded because of previous errors.\r\n");
    return;
  }
  BackendLink* link = watched;
  if (watched != nullptr && multi_slot_ >= 0) {
    // The watched keys' segment changed owner since WATCH (a migration
    // switched it): the watch no longer guards anything. Abort as Redis does
    // when a watched key changed: EXEC answers a null array.
    auto map = worker_.map();
    if (map->segment(map->segment_of_slot(uint32_t(multi_slot_))).owner != watched->index()) {
      worker_.release_dedicated(watched, false);
      untrack_unsent();
      clear();
      reply_now(protocol_ == 3 ? "_\r\n" : "*-1\r\n");
      return;
    }
  }
  if (link == nullptr) {
    uint16_t backend = uint16_t(id_ % worker_.backend_count());
    if (multi_slot_ >= 0) {
      auto map = worker_.map();
      backend = map->segment(map->segment_of_slot(uint32_t(multi_slot_))).owner;
    }
    link = &worker_.link(backend, protocol_);
  }
  if (!link->accepting()) {
    untrack_unsent();
    reply_now(link->down_reply());
    if (watched != nullptr) {
      worker_.release_dedicated(watched, false);
    }
    clear();
    return;
  }
  uint32_t n = uint32_t(multi_ends_.size()) + 2;
  uint8_t cls = uint8_t(CommandClass::Transaction);
  uint64_t seq = open_slot(cls, Merge::Last, n);
  slot(seq).release_link = watched;
  slot(seq).tracked.swap(tracked_);  // a transaction on a migrating segment
  Buffer& b = link->request_buffer();
  b.append("*1\r\n$5\r\nMULTI\r\n");
  link->commit(this, make_cookie(seq, 0, link->index()));
  size_t start = 0;
  for (size_t i = 0; i < multi_ends_.size(); ++i) {
    b.append(multi_cmds_.data() + start, multi_ends_[i] - start);
    start = multi_ends_[i];
    link->commit(this, make_cookie(seq, uint32_t(i + 1), link->index()));
  }
  b.append("*1\r\n$4\r\nEXEC\r\n");
  link->commit(this, make_cookie(seq, n - 1, link->index()));
  inflight_ += n;
  bump(worker_.counters().requests(link->index(), cls), n);
  clear();
}

void Session::watch(const CommandInfo& info, const Command& cmd, std::string_view raw) {
  int32_t slot = -1;
  if (!slot_of_keys(info, cmd, slot)) {
    return;
  }
  if (watch_link_ != nullptr && slot != watch_slot_) {
    reply_now(kCrossSlot);
    return;
  }
  if (watch_link_ == nullptr) {
    auto map = worker_.map();
    uint16_t owner = map->segment(map->segment_of_slot(uint32_t(slot))).owner;
    watch_link_ = worker_.acquire_dedicated(owner, protocol_);
    watch_slot_ = slot;
  }
  if (!send_dedicated(watch_link_, cmd, raw, uint8_t(info.cls), nullptr)) {
    worker_.release_dedicated(watch_link_, false);
    watch_link_ = nullptr;
    watch_slot_ = -1;
  }
}

bool Session::send_dedicated(BackendLink* link, const Command& cmd, std::string_view raw,
                             uint8_t cls, BackendLink* release) {
  if (!link->accepting()) {
    untrack_unsent();
    reply_now(link->down_reply());
    return false;
  }
  uint64_t seq = open_slot(cls, Merge::Forward, 1);
  slot(seq).release_link = release;
  slot(seq).tracked.swap(tracked_);  // a blocking write to a migrating segment
  append_request(link->request_buffer(), cmd, raw);
  link->commit(this, make_cookie(seq, 0, link->index()));
  ++inflight_;
  bump(worker_.counters().requests(link->index(), cls));
  return true;
}

// A blocking call gets its own connection with no deadline; the session reads
// no further command until it returns (as Redis does with a blocked client).
// Its arguments are kept: a migration may unblock it at a switch, and it is
// then re-issued on the new owner (session_blocked.cc).
bool Session::blocking(const CommandInfo& info, const Command& cmd, std::string_view raw,
                       const RoutePlan& plan) {
  BackendLink* l = worker_.acquire_dedicated(plan.backend, protocol_);
  BlockedState& b = blocked_call_;
  b.call = std::make_shared<BlockedCall>();
  b.call->client_id = l->server_id_cell();
  b.args.assign(cmd.args.begin(), cmd.args.end());
  b.slots.clear();
  keys_.clear();
  if (worker_.ctx().commands->key_positions(info, cmd.args, keys_)) {
    for (uint32_t k : keys_) {
      b.slots.push_back(worker_.map()->slot_of(cmd.args[k]));
    }
  }
  b.sent_ns = uv_hrtime();
  if (worker_.tracking() && !register_blocked(b.call)) {
    end_blocked_call();
    worker_.release_dedicated(l, true);
    return false;  // its segment is switching: held until the map changes
  }
  l->set_request_timeout(0);
  if (!send_dedicated(l, cmd, raw, uint8_t(info.cls), l)) {
    end_blocked_call();
    worker_.release_dedicated(l, false);
    return true;
  }
  b.seq = tail_seq_ - 1;
  blocking_link_ = l;
  blocked_ = true;
  worker_.ctx().blocked_clients.fetch_add(1, std::memory_order_relaxed);
  count_load(info, plan, raw, tail_seq_ - 1);
  return true;
}

void Session::subscribe(const Command& cmd, std::string_view raw) {
  if (sub_link_ == nullptr) {
    sub_link_ = worker_.acquire_dedicated(worker_.router().pubsub_backend(), protocol_);
    push_sink_.session = this;
    sub_link_->set_stream_sink(&push_sink_);
  }
  if (!sub_link_->accepting()) {
    reply_now(sub_link_->down_reply());
    worker_.release_dedicated(sub_link_, false);
    sub_link_ = nullptr;
    return;
  }
  send_sub(cmd, raw);
  bump(worker_.counters().requests(sub_link_->index(), uint8_t(CommandClass::PubSub)));
}

void Session::send_sub(const Command& cmd, std::string_view raw) {
  Buffer& b = sub_link_->request_buffer();
  append_request(b, cmd, raw);
  encode_header(b, '*', 2);
  encode_bulk(b, "PING");
  encode_bulk(b, kFence);
  sub_link_->commit(&push_sink_, 0);
  sub_fence_ = true;
}

// (P|S)UNSUBSCRIBE with no subscription: Redis still answers, per channel.
void Session::unsubscribe_locally(const Command& cmd) {
  std::string out;
  RespWriter w(out, protocol_);
  std::string name(cmd.args[0]);
  for (char& c : name) {
    c = char(std::tolower(static_cast<unsigned char>(c)));
  }
  size_t n = cmd.args.size() > 1 ? cmd.args.size() - 1 : 1;
  for (size_t i = 0; i < n; ++i) {
    w.push(3);
    w.bulk(name);
    if (cmd.args.size() > 1) {
      w.bulk(cmd.args[i + 1]);
    } else {
      w.null();
    }
    w.integer(0);
  }
  reply_now(out);
}

// Everything the subscription link sends: confirmations, messages, PING
// replies. The subscription count in (un)subscribe replies tells when the
// session leaves subscribed mode.
void Session::on_push(std::string_view reply, bool link_error) {
  if (closing_) {
    return;
  }
  if (link_error) {
    BackendLink* l = sub_link_;
    sub_link_ = nullptr;
    sub_fence_ = false;
    sub_leaving_ = false;
    if (l != nullptr) {
      worker_.release_dedicated(l, false);
    }
    reply_now(reply);
    quit_after_flush_ = true;  // subscriptions are lost: the client must reconnect
    queue_flush();
    return;
  }
  // The fence's reply: ["pong", fence] while subscribed (RESP2), the bulk
  // fence itself otherwise (RESP3, or after the last unsubscribe).
  static const std::string kFenceBulk = "$" + std::to_string(kFence.size()) + "\r\n" +
                                        std::string(kFence) + "\r\n";
  static const std::string kFencePong = "*2\r\n$4\r\npong\r\n" + kFenceBulk;
  if (reply == kFenceBulk || reply == kFencePong) {
    // Our fence: everything the last (un)subscribe caused has arrived.
    sub_fence_ = false;
    if (sub_leaving_) {
      sub_leaving_ = false;
      BackendLink* l = sub_link_;
      sub_link_ = nullptr;
      worker_.release_dedicated(l, false);
    }
    input_pending_ = !in_.empty();
    queue_flush();
    return;
  }
  reply_now(reply);
  thread_local std::vector<std::string_view> elems;
  elems.clear();
  std::string_view kind;
  bool is_null = false;
  int64_t count = -1;
  if (split_aggregate(reply, elems) && elems.size() == 3 &&
      decode_simple_or_bulk(elems[0], kind, is_null) && decode_integer(elems[2], count) &&
      count == 0 && (kind == "unsubscribe" || kind == "punsubscribe" || kind == "sunsubscribe")) {
    sub_leaving_ = true;  // released when the fence arrives
  }
}

// SCAN: the client's cursor names the backend and its own cursor; keys of
// segments the backend does not own are dropped (merge_scan).
void Session::scan(const Command& cmd) {
  size_t n = worker_.backend_count();
  size_t backend = 0;
  uint64_t cursor = 0;
  if (cmd.args.size() < 2 || !split_scan_cursor(cmd.args[1], n, backend, cursor)) {
    reply_now("-ERR invalid cursor\r\n");
    return;
  }
  uint8_t cls = uint8_t(CommandClass::FleetWide);
  BackendLink& link = worker_.link(uint16_t(backend), protocol_);
  if (!link.accepting()) {
    reply_now(link.down_reply());
    return;
  }
  uint64_t seq = open_slot(cls, Merge::Scan, 1);
  slot(seq).scan_backend = uint16_t(backend);
  Buffer& b = link.request_buffer();
  encode_header(b, '*', cmd.args.size());
  encode_bulk(b, "SCAN");
  encode_bulk(b, std::to_string(cursor));
  for (size_t i = 2; i < cmd.args.size(); ++i) {
    encode_bulk(b, cmd.args[i]);
  }
  link.commit(this, make_cookie(seq, 0, uint16_t(backend)));
  ++inflight_;
  bump(worker_.counters().requests(backend, cls));
}

void Session::reset_modes() {
  in_multi_ = false;
  multi_error_ = false;
  multi_slot_ = -1;
  multi_cmds_.clear();
  multi_ends_.clear();
  for (BackendLink** l : {&watch_link_, &sub_link_}) {
    if (*l != nullptr) {
      worker_.release_dedicated(*l, false);
      *l = nullptr;
    }
  }
  sub_fence_ = false;
  sub_leaving_ = false;
  watch_slot_ = -1;
  protocol_ = 2;
}

}  // namespace proxy
