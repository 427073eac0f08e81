// Blocking calls across a segment switch (DESIGN §6). A blocking call
// (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK, ...) waiting on the source for a key
// of a migrating segment is registered with the segment's tracker. When the
// switch begins the migration unblocks it on the source (CLIENT UNBLOCK <id>
// TIMEOUT, by its connection's id), so nothing stays blocked where writes no
// longer go. Its null reply is then not answered: the call goes back in front
// of the session's unread input with the time it has left (0 stays 0) and is
// dispatched again once the map changed, on the new owner (held like any
// command for a switching segment until then). A call that got data answers
// as usual; one whose time ran out answers its null reply.
#include "proxy/block_timeout.h"
#include "proxy/context.h"
#include "proxy/log.h"
#include "proxy/resp_encode.h"
#include "proxy/session.h"
#include "proxy/worker.h"

namespace proxy {

namespace {

bool is_null_reply(std::string_view r) { return r == "*-1\r\n" || r == "$-1\r\n" || r == "_\r\n"; }

bool can_reissue(const std::vector<std::string>& args) {
  std::vector<std::string> copy = args;
  bool expired = false;
  return rewrite_block_timeout(copy, 0, &expired);
}

}  // namespace

// Registers the call with the trackers of its keys' segments. False when one
// is switching, or the map says migrating but no tracker is known yet: the
// caller holds the call (nothing stays registered).
bool Session::register_blocked(const std::shared_ptr<BlockedCall>& call) {
  BlockedState& b = blocked_call_;
  if (!can_reissue(b.args)) {
    return true;  // a call it cannot re-issue is left as it is
  }
  const auto& set = worker_.trackers();
  const auto& map = worker_.map();
  for (uint32_t slot : b.slots) {
    bool covered = false;
    for (const auto& t : set->trackers) {
      if (!t->covers(slot)) {
        continue;
      }
      covered = true;
      if (std::find(b.trackers.begin(), b.trackers.end(), t) != b.trackers.end()) {
        continue;
      }
      if (!t->add_blocked(call)) {
        end_blocked_call();
        return false;
      }
      b.trackers.push_back(t);
    }
    if (!covered && map->segment(map->segment_of_slot(slot)).state != SegmentState::Stable) {
      end_blocked_call();
      return false;
    }
  }
  return true;
}

// The outstanding call ended (reply, error, close): leave every tracker.
void Session::end_blocked_call() {
  BlockedState& b = blocked_call_;
  for (const auto& t : b.trackers) {
    t->remove_blocked(b.call.get());
  }
  b.trackers.clear();
  b.call.reset();
  b.args.clear();
  b.slots.clear();
}

// A call blocked before its segment started to migrate registers now (the
// worker calls this for every session when it adopts a new tracker set,
// before its barrier completes, so before any switch of that tracker).
void Session::adopt_trackers() {
  BlockedState& b = blocked_call_;
  const auto& set = worker_.trackers();
  if (blocking_link_ == nullptr || b.call == nullptr || set == nullptr || !can_reissue(b.args)) {
    return;
  }
  for (uint32_t slot : b.slots) {
    for (const auto& t : set->trackers) {
      if (t->covers(slot) &&
          std::find(b.trackers.begin(), b.trackers.end(), t) == b.trackers.end() &&
          t->add_blocked(b.call)) {
        b.trackers.push_back(t);
      }
    }
  }
}

// The null reply of a call a migration unblocked: instead of answering it, put
// the call (with the time left) back in front of the input; false to answer
// `reply` as usual (data, or the time is up).
bool Session::reissue_blocked(uint64_t seq, std::string_view reply) {
  BlockedState& b = blocked_call_;
  if (!is_null_reply(reply) || seq + 1 != tail_seq_ || blocking_link_ == nullptr) {
    return false;
  }
  std::vector<std::string> args = b.args;
  bool expired = false;
  uint64_t elapsed_ms = (uv_hrtime() - b.sent_ns) / 1000000;
  if (!rewrite_block_timeout(args, elapsed_ms, &expired) || expired) {
    return false;
  }
  Slot& s = slot(seq);
  if (!s.tracked.empty()) {
    finish_tracking(s);  // a blocking write that wrote nothing
  }
  BackendLink* l = s.release_link;
  s.release_link = nullptr;
  end_blocked_call();
  blocking_link_ = nullptr;
  blocked_ = false;
  worker_.ctx().blocked_clients.fetch_sub(1, std::memory_order_relaxed);
  if (l != nullptr) {
    worker_.release_dedicated(l, true);
  }
  --tail_seq_;  // its slot is opened again when the call is dispatched again
  Buffer again;
  encode_header(again, '*', args.size());
  for (const std::string& a : args) {
    encode_bulk(again, a);
  }
  again.append(in_.data(), in_.size());
  in_.swap(again);
  bump(worker_.counters().blocked_reissued);
  last_active_ms_ = uv_now(worker_.loop());  // not idle: held a moment, then blocked again
  LOG_DEBUG("session", "w{} c {} {} unblocked by a switch: re-issued", worker_.id(), id_, args[0]);
  input_pending_ = true;  // dispatched at the next flush: held while the segment switches
  queue_flush();
  return true;
}

}  // namespace proxy
