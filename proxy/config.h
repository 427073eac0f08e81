// Config: the value types of conf/*.yaml (DESIGN §9) and the loader that
// checks them. This pair is the only place that includes yaml-cpp; every
// error names the file, the line and the reason. Durations are milliseconds,
// sizes bytes; the YAML may write "250ms", "2s", "5m", "1h", "512mb", "1gb".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/status.h"

namespace proxy {

struct HostPort {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

struct BackendConfig {
  std::string name;          // unique, [A-Za-z0-9_.-]+; the map refers to backends by name
  HostPort address;          // "host:port"
  std::string username;      // optional ACL user for AUTH
  std::string password;      // optional
  double capacity = 100000;  // ops/s the backend can take at 100% load (> 0)
  uint64_t maxmemory = 0;    // bytes; 0 = ask the backend / unknown
};

// A client user (AUTH name password). `readonly` users may not run writes.
struct UserConfig {
  std::string name;
  std::string password;
  bool readonly = false;
};

struct Timeouts {
  uint32_t connect_ms = 1000;     // backend connect
  uint32_t request_ms = 2000;     // backend request (head-of-line deadline)
  uint32_t backoff_min_ms = 100;  // reconnect backoff, doubling
  uint32_t backoff_max_ms = 2000;
  uint32_t client_idle_ms = 0;    // 0 = never close idle clients
};

struct Limits {
  uint32_t max_arguments = 1024 * 1024;               // per command (multibulk count)
  uint64_t max_bulk_length = 512ull * 1024 * 1024;    // Redis proto-max-bulk-len
  uint32_t max_inline_length = 64 * 1024;             // Redis PROTO_INLINE_MAX_SIZE
  uint64_t query_buffer_bytes = 1024ull * 1024 * 1024;  // Redis client-query-buffer-limit
  uint64_t output_buffer_bytes = 256ull * 1024 * 1024;  // per client; past it the client is closed
  uint32_t max_inflight_per_client = 1000;  // commands awaiting replies; reading pauses past it
  uint32_t max_clients = 10000;
  uint32_t max_inflight_per_backend = 100000;  // per worker link; past it requests fail fast
};

// The access-pattern history and the live forecaster (DESIGN §7).
struct TelemetryConfig {
  uint32_t step_s = 300;                    // one history point per step
  uint64_t memory_bytes = 64ull << 20;      // budget of the per-slot history
  uint32_t refit_s = 300;                   // how often forecasts are refitted
  uint32_t save_s = 300;                    // how often the history is saved (a save stalls the control loop ~0.2 s at 64 MB)
  bool enabled = true;
  // Compressed time for demos and experiments: one real second stands for
  // timeScale seconds to the forecaster (86400 / timeScale s is a "day"), and
  // predictionHorizon is in those scaled seconds. 1 = real time.
  uint32_t time_scale = 1;
};

// The balancer (DESIGN §8): when it plans and whether it acts.
struct BalancerConfig {
  bool enabled = true;               // FORESHARD BALANCER on|off changes it at run time
  std::string mode = "predictive";   // static|reactive|predictive
  uint32_t interval_s = 60;          // between plans
  uint64_t rate_bytes_per_s = 20ull << 20;  // expected copy rate, for "start by" times
  uint32_t size_samples = 200;       // keys sampled per backend per plan to estimate segment bytes; 0 = off
};

struct Config {
  std::string file;            // path it was loaded from (for messages)
  HostPort listen{"127.0.0.1", 7000};
  uint32_t workers = 0;        // 0 = number of cores
  uint32_t slots = 16384;      // 1..65536
  uint32_t segment_size = 64;  // slots per initial segment, 1..slots
  std::string data_dir = "./data";
  std::string log_level = "info";  // debug|info|warn|error
  HostPort metrics{"127.0.0.1", 9121};  // port 0 = metrics off
  std::string password;        // clients must AUTH when set (issue 3 adds users)
  std::string admin_password;  // guards FORESHARD admin commands when set
  bool ignore_existing_data = false;  // first start: allow several non-empty backends
  std::vector<UserConfig> users;      // besides "default" (password) and "admin" (adminPassword)
  std::string pubsub_backend;         // backend for PUBLISH/SUBSCRIBE; empty = the first one
  std::vector<BackendConfig> backends;
  Timeouts timeouts;
  Limits limits;
  TelemetryConfig telemetry;
  BalancerConfig balancer;

  // Names kept from the seed design; validated now, used by the balancer and
  // migration engine.
  double load_threshold = 0.8;          // fraction of capacity, (0, 1]
  uint32_t prediction_horizon_s = 3600; // how far ahead the balancer looks
  uint32_t replication_factor = 1;      // copies of a segment; 1 = plain move
  uint32_t validation_interval_ms = 1000;
  std::string migration_priority = "normal";  // low|normal|high
  uint32_t max_switch_pause_ms = 2000;  // a move's write hold is bounded by this; past it, abort
  uint32_t big_key_elements = 10000;  // a move copies collections above this in chunks; 0 = never

  uint32_t effective_workers() const;
  int backend_index(const std::string& name) const;  // -1 if absent
};

// Loads and validates a YAML file. Unknown keys and bad values give a Status
// whose message is "FILE:LINE: reason".
Result<Config> load_config(const std::string& path);
// Same, from text (tests); `name` stands for the file in messages.
Result<Config> parse_config(const std::string& text, const std::string& name);

// "250ms" -> 250, "2s" -> 2000, "5m", "1h", bare integer = ms. False if malformed.
bool parse_duration_ms(const std::string& s, uint64_t& out);
// "512mb" -> 536870912, "1gb", "64kb", bare integer = bytes. False if malformed.
bool parse_size_bytes(const std::string& s, uint64_t& out);

}  // namespace proxy
