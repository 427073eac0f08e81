// Session: one client connection. It owns the socket, the request parser, the
// in-order reply queue and the output buffers. Every exit goes through
// close(reason); the object is freed by the worker's reaper once its handle is
// closed and no backend request still points at it.
//
// Request path (one worker thread, no locks):
//
//   socket --read--> in_ --RespParser--> Command --CommandTable--> class + keys
//      --Router (slot -> segment -> backend)--> RoutePlan
//         Local:  LocalCommands writes the reply into a new slot (ready at once)
//         Single: raw request bytes -> BackendLink (FIFO), reply fills the slot
//         Split:  one sub-request per backend; parts merged (merge.h) when all arrive
//   slots are released to out_ strictly in request order; the worker's
//   before-poll hook writes out_ (uv_try_write first, then uv_write).
//
// States: Reading -> Paused (too many commands in flight) -> Reading; any ->
// Closing (close()) -> reaped. Modes (session_modes.cc), each with its own
// dedicated backend connection where Redis semantics need one:
//   MULTI ... EXEC: queued here, sent at EXEC as one contiguous block
//                   (MULTI, commands, EXEC) on the owner's link: atomic on it
//   WATCH:          a dedicated link to the watched slot's owner until EXEC,
//                   DISCARD or UNWATCH; the EXEC block goes on that link
//   blocking:       a dedicated link, no deadline; input waits for the reply.
//                   On a migrating segment the call is registered with the
//                   tracker; unblocked at the switch, it is re-issued on the
//                   new owner with the time left (session_blocked.cc)
//   subscribed:     a dedicated link in stream mode to the pub/sub backend
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <uv.h>

#include "proxy/backend_link.h"
#include "proxy/buffer.h"
#include "proxy/merge.h"
#include "proxy/migration_tracker.h"
#include "proxy/out_queue.h"
#include "proxy/resp_parser.h"
#include "proxy/router.h"
#include "proxy/telemetry.h"

namespace proxy {

class Worker;

class Session final : public ReplySink {
 public:
  Session(Worker& worker, uint64_t id);
  ~Session() override;

  // Accepts the pending connection on `server`. On error the caller must
  // close() the session (it is then reaped as usual).
  int accept(uv_stream_t* server);
  void close(const char* reason);  // idempotent
  void flush();                    // before-poll hook: write out_
  bool reapable() const { return handle_closed_ && inflight_ == 0; }
  // It held MBs of input or output when it closed (an oversized command, a
  // client that stopped reading): after freeing it the worker asks malloc to
  // give free pages back (malloc_trim), else glibc may keep them in the
  // thread's arena and RSS would stay at the peak.
  bool held_big_buffers() const { return held_big_buffers_; }

  void on_backend_reply(uint64_t cookie, std::string_view reply, bool link_error) override;
  void on_backend_lost(uint64_t cookie, std::string_view reply, uint64_t server_client_id) override;
  // The worker adopted a new tracker set: an outstanding blocking call on a
  // segment that now migrates registers with its tracker.
  void adopt_trackers();
  // These three also update the client directory (CLIENT LIST of any worker).
  void set_protocol(int p);
  const std::string& user() const { return user_; }
  void set_user(std::string_view u, bool readonly, bool admin);
  bool admin() const { return admin_; }
  bool subscribed() const { return sub_link_ != nullptr; }
  bool in_multi() const { return in_multi_; }
  void reset_modes();  // RESET: leaves MULTI, WATCH and subscriptions

  // Read by LocalCommands (same thread).
  uint64_t id() const { return id_; }
  const std::string& name() const { return name_; }
  void set_name(std::string_view n);  // also moves the session's load to source `n`
  const std::string& peer() const { return peer_; }
  int protocol() const { return protocol_; }
  bool authenticated() const { return authenticated_; }
  void set_authenticated(bool v) { authenticated_ = v; }
  uint64_t created_ms() const { return created_ms_; }
  uint64_t last_active_ms() const { return last_active_ms_; }
  bool idle_exempt() const { return blocked_ || sub_link_ != nullptr; }
  bool input_held() const { return blocked_ || sub_fence_ || held_for_map_; }
  // The worker saw a new segment map: a write held for a switching segment
  // (held_for_map_) is dispatched again.
  void on_map_changed();
  void quit_after_reply() { quit_after_flush_ = true; }
  void reply_now(std::string_view bytes);  // a reply in request order (local replies, errors)
  Worker& worker() { return worker_; }

 private:
  // One reply position in request order.
  struct Slot {
    bool ready = false;
    uint32_t parts_pending = 0;
    uint32_t nparts = 0;
    uint8_t cls = 0;             // CommandClass, for counters
    Merge merge = Merge::Forward;
    std::string reply;           // complete reply once ready (unless sent straight out)
    std::vector<std::string> parts;      // part replies of a split/broadcast, by part index
    std::vector<uint16_t> key_part;      // KeyOrder: part index of each key, in request order
    uint16_t scan_backend = 0;           // Scan: the backend asked
    int32_t tslot = -1;                  // slot whose load the reply bytes count to
    BackendLink* release_link = nullptr; // dedicated link to give back when this completes
    // A write to a migrating segment: its keys, per tracker, reported done
    // when the last part completes (migration_tracker.h).
    std::vector<std::pair<std::shared_ptr<MigrationTracker>, std::vector<std::string>>> tracked;
    // Parts whose reply was lost after they may have reached the backend:
    // (backend, server-side client id of the connection, 0 if unknown).
    std::vector<std::pair<uint16_t, uint64_t>> lost;
    // A read sent to a migrating segment's destination: the request, sent
    // again to `reread_backend` (the source) if the destination's link fails.
    std::string reread;
    uint16_t reread_backend = 0;
  };
  // Pub/sub replies and pushes arrive from a stream-mode link.
  struct PushSink final : ReplySink {
    Session* session = nullptr;
    void on_backend_reply(uint64_t, std::string_view reply, bool link_error) override {
      session->on_push(reply, link_error);
    }
  };

  static void on_alloc_cb(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void on_read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void on_write_cb(uv_write_t* req, int status);
  static void on_close_cb(uv_handle_t* h);

  void on_read(ssize_t nread);
  void process_input();
  // False when the command must wait for the next map (its segment is
  // switching owners): nothing was done, the input stays where it is.
  bool dispatch(const Command& cmd, std::string_view raw);
  // Writes to a migrating segment register with its tracker (filling
  // tracked_); false if one is switching (hold the command).
  bool track_write(const CommandInfo& info, const Command& cmd, const SegmentMap& map);
  void finish_tracking(Slot& s);
  void untrack_unsent();
  // A single-key read of a migrating segment whose keys are clean: the
  // destination's index (plan.backend is the source), or -1 (the source).
  int read_at_destination(const CommandInfo& info, const Command& cmd, const SegmentMap& map,
                          const RoutePlan& plan);
  bool track_exec();  // false: hold EXEC (its segment is switching)
  // Mode handlers (session_modes.cc); each returns true if it answered cmd.
  bool dispatch_mode(const CommandInfo& info, const Command& cmd, std::string_view raw);
  void queue_in_multi(const CommandInfo& info, const Command& cmd, std::string_view raw);
  void exec();
  void watch(const CommandInfo& info, const Command& cmd, std::string_view raw);
  // False: hold the call (its segment is switching owners).
  bool blocking(const CommandInfo& info, const Command& cmd, std::string_view raw,
                const RoutePlan& plan);
  // Blocking calls across a switch (session_blocked.cc).
  bool register_blocked(const std::shared_ptr<BlockedCall>& call);
  void end_blocked_call();
  bool reissue_blocked(uint64_t seq, std::string_view reply);
  void subscribe(const Command& cmd, std::string_view raw);
  void unsubscribe_locally(const Command& cmd);
  void on_push(std::string_view reply, bool link_error);
  void scan(const Command& cmd);
  bool slot_of_keys(const CommandInfo& info, const Command& cmd, int32_t& slot);
  void append_request(Buffer& b, const Command& cmd, std::string_view raw);
  // Load accounting per slot and backend (telemetry.h) for a routed command.
  void count_load(const CommandInfo& info, const RoutePlan& plan, std::string_view raw,
                  uint64_t seq);
  void execute(const Command& cmd, std::string_view raw, const RoutePlan& plan, uint8_t cls);
  void send_part(uint16_t backend, uint64_t seq, uint32_t part, uint8_t cls, const Command& cmd,
                 std::string_view raw, const RoutePlan* split);

  // Cookie: slot sequence (low 32 bits) | part (20 bits) | backend (12 bits).
  // The window of unanswered slots is far below 2^32, so the full sequence is
  // recovered from the head (see on_backend_reply).
  static uint64_t make_cookie(uint64_t seq, uint32_t part, uint16_t backend) {
    return (seq << 32) | (uint64_t(part & 0xfffff) << 12) | (backend & 0xfff);
  }
  // Sends cmd on a dedicated link in a new slot; `release` is given back when
  // its reply arrives. False (and an error reply) if the link cannot take it.
  bool send_dedicated(BackendLink* link, const Command& cmd, std::string_view raw, uint8_t cls,
                      BackendLink* release);
  uint64_t open_slot(uint8_t cls, Merge merge, uint32_t parts);  // returns its sequence number
  Slot& slot(uint64_t seq) { return slots_[seq & slot_mask_]; }
  void complete_part(uint64_t seq, uint32_t part, std::string_view reply, bool link_error);
  void release_ready();  // moves ready slots at the head to out_
  void queue_flush();
  void pause_reading();
  void resume_reading();

  Worker& worker_;
  uint64_t id_;
  uv_tcp_t tcp_;
  uv_write_t write_req_;
  Buffer in_;
  OutQueue out_;              // replies in order; the front writing_bytes_ are in a uv_write
  size_t writing_bytes_ = 0;
  RespParser parser_;
  Command cmd_;
  std::vector<uint32_t> keys_;  // key positions scratch

  std::vector<Slot> slots_;  // ring indexed by sequence number
  uint64_t slot_mask_;
  uint64_t head_seq_ = 0;    // oldest unreleased slot
  uint64_t tail_seq_ = 0;    // next slot to open
  uint32_t inflight_ = 0;    // backend requests whose sink is this session

  // Modes.
  bool in_multi_ = false;
  bool multi_error_ = false;       // a queued command was refused: EXEC aborts
  int32_t multi_slot_ = -1;        // slot of the transaction's keys, -1 = none yet
  Buffer multi_cmds_;              // queued commands, encoded
  std::vector<size_t> multi_ends_; // end offset of each queued command
  BackendLink* watch_link_ = nullptr;
  int32_t watch_slot_ = -1;
  BackendLink* blocking_link_ = nullptr;
  bool blocked_ = false;           // a blocking command is outstanding: input waits
  // The outstanding blocking call, kept to re-issue it after a switch.
  struct BlockedState {
    std::shared_ptr<BlockedCall> call;
    std::vector<std::shared_ptr<MigrationTracker>> trackers;  // registered with
    std::vector<std::string> args;
    std::vector<uint32_t> slots;  // of its keys
    uint64_t sent_ns = 0;
    uint64_t seq = 0;
  } blocked_call_;
  BackendLink* sub_link_ = nullptr;
  PushSink push_sink_;
  // After each (un)subscribe the session sends PING <fence> on sub_link_ and
  // reads no more input until the fence comes back: all confirmations of
  // that command have then arrived, so later replies stay in order.
  bool sub_fence_ = false;
  bool sub_leaving_ = false;  // the last unsubscribe confirmed: release at the fence
  void send_sub(const Command& cmd, std::string_view raw);
  std::string user_ = "default";
  bool readonly_ = false;
  bool admin_ = false;
  uint64_t last_active_ms_ = 0;
  SourceCounters* source_ = nullptr;  // this client's load counters (name, else peer IP)

  bool reading_ = false;
  bool writing_active_ = false;
  bool flush_queued_ = false;
  bool closing_ = false;
  bool handle_closed_ = false;
  bool quit_after_flush_ = false;
  bool held_big_buffers_ = false;
  bool listed_ = false;  // in ctx.clients (from accept until close)
  bool held_for_map_ = false;  // a write waits for a switching segment's new owner
  std::vector<std::pair<std::shared_ptr<MigrationTracker>, std::vector<std::string>>> tracked_;
  bool input_pending_ = false;   // unparsed input left while paused
  bool authenticated_ = false;
  int protocol_ = 2;
  uint64_t created_ms_ = 0;
  std::string name_;
  std::string peer_;

  friend class LocalCommands;
};

}  // namespace proxy
