// Config loader: walks the YAML tree by hand (no yaml-cpp conversions, so no
// exception can escape) and checks every key against a table of known keys,
// types and ranges. The only file that includes yaml-cpp; its exceptions are
// caught here and turned into "FILE:LINE: reason".
#include "proxy/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <thread>

#include "proxy/segment_map.h"

namespace proxy {
namespace {

constexpr uint64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute;
constexpr uint64_t kDay = 24 * kHour;
constexpr uint64_t kI32 = std::numeric_limits<int32_t>::max();
constexpr uint64_t kTb = 1ull << 40;

std::string lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}
bool parse_uint(const std::string& s, uint64_t& out) { return parse_u64(s, out); }

// "<digits>[spaces]<unit>" with a unit from `units` (lower-case keys).
bool parse_with_unit(const std::string& s, const std::map<std::string, uint64_t>& units,
                     uint64_t& out) {
  size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) {
    ++digits;
  }
  uint64_t n = 0;
  if (!parse_u64(std::string_view(s).substr(0, digits), n)) {
    return false;
  }
  size_t unit_at = s.find_first_not_of(' ', digits);
  auto it = units.find(lower(unit_at == std::string::npos ? "" : s.substr(unit_at)));
  if (it == units.end() || n > std::numeric_limits<uint64_t>::max() / it->second) {
    return false;
  }
  out = n * it->second;
  return true;
}

std::string format_ms(uint64_t ms) {
  static const std::pair<uint64_t, const char*> kUnits[] = {
      {kDay, "d"}, {kHour, "h"}, {kMinute, "m"}, {kSecond, "s"}};
  for (const auto& [unit, suffix] : kUnits) {
    if (ms != 0 && ms % unit == 0) {
      return std::to_string(ms / unit) + suffix;
    }
  }
  return std::to_string(ms) + "ms";
}

// "host:port" or "[v6]:port"; false if malformed or the port is out of range.
bool parse_host_port(const std::string& s, uint32_t min_port, HostPort& out) {
  std::string host;
  std::string port;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find("]:");
    if (close != std::string::npos) {
      host = s.substr(1, close - 1);
      port = s.substr(close + 2);
    }
  } else if (size_t colon = s.find(':'); colon != std::string::npos && s.rfind(':') == colon) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  uint64_t p = 0;
  if (host.empty() || host.find_first_of(" \t[]") != std::string::npos || !parse_u64(port, p) ||
      p < min_port || p > 65535) {
    return false;
  }
  out = HostPort{host, static_cast<uint16_t>(p)};
  return true;
}

// For "did you mean": equal ignoring case, '_' and '-', or at most two edits away.
bool looks_like(std::string a, std::string b) {
  auto loose = [](std::string s) {
    std::erase_if(s, [](char c) { return c == '_' || c == '-'; });
    return lower(s);
  };
  if (loose(a) == loose(b)) {
    return true;
  }
  std::vector<size_t> d(b.size() + 1);  // Levenshtein, one row
  std::iota(d.begin(), d.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = d[0];
    d[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = d[j];
      d[j] = std::min({d[j] + 1, d[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return d[b.size()] <= 2;
}

using Handler = std::function<void(const YAML::Node&)>;
using KeyTable = std::vector<std::pair<const char*, Handler>>;

// Walks one document and keeps the first error. Values are named by their
// full path ("timeouts.connect", "backends[1].capacity"), and the line of
// every key read is remembered for checks that span several keys.
class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  std::string at(int line_no) const { return file_ + ":" + std::to_string(line_no) + ": "; }
  static int line(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 1; }
  bool has(const std::string& path) const { return lines_.count(path) != 0; }
  int line_of(const std::string& path) const { return has(path) ? lines_.at(path) : 1; }

  void fail(int line_no, const std::string& reason) {
    if (error_.empty()) {
      error_ = at(line_no) + reason;
    }
  }
  void fail(const YAML::Node& n, const std::string& reason) { fail(line(n), reason); }
  void bad(const YAML::Node& n, const std::string& name, const std::string& want) {
    std::string got = n.IsSequence() ? "a list" : n.IsMap() ? "a map" : "'" + text(n) + "'";
    fail(n, name + " must be " + want + ", got " + got);
  }

  // Dispatches each key of `map` to its handler. `prefix` is "" at the top,
  // else "timeouts." or "backends[1].". Unknown and repeated keys are errors.
  void walk(const YAML::Node& map, const KeyTable& table, const std::string& prefix) {
    const std::string where = prefix.empty() ? "" : " in " + prefix.substr(0, prefix.size() - 1);
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end() && !failed(); ++it) {
      const YAML::Node key = it->first;  // copies: the iterator's pair is a temporary
      const YAML::Node value = it->second;
      const std::string name = key.IsScalar() ? key.Scalar() : "";
      auto entry =
          std::find_if(table.begin(), table.end(), [&](const auto& e) { return name == e.first; });
      if (!key.IsScalar()) {
        fail(key, "keys must be plain words" + where);
      } else if (!seen.insert(name).second) {
        fail(key, "duplicate key '" + name + "'" + where);
      } else if (entry == table.end()) {
        auto close = std::find_if(table.begin(), table.end(),
                                  [&](const auto& e) { return looks_like(name, e.first); });
        std::string hint =
            close == table.end() ? "" : " (did you mean '" + std::string(close->first) + "'?)";
        fail(key, "unknown key '" + name + "'" + where + hint);
      } else {
        lines_[prefix + name] = line(value);
        entry->second(value);
      }
    }
  }

  // A handler reading a scalar through `parse(text) -> bool`; on false the
  // error is "NAME must be WANT, got 'TEXT'".
  template <typename Parse>
  Handler value(std::string name, std::string want, Parse parse) {
    return [this, name, want, parse](const YAML::Node& n) {
      if (!(n.IsNull() || n.IsScalar()) || !parse(text(n))) {
        bad(n, name, want);
      }
    };
  }
  Handler str(std::string name, std::string& out) {
    return value(name, "a string", [&out](const std::string& s) { return out = s, true; });
  }
  Handler boolean(std::string name, bool& out) {
    return value(name, "true or false", [&out](const std::string& s) {
      std::string w = lower(s);
      bool yes = w == "true" || w == "yes" || w == "on";
      return (yes || w == "false" || w == "no" || w == "off") && ((out = yes), true);
    });
  }
  // An unsigned value in lo..hi read by `parse` (integer, duration or size).
  template <typename T>
  Handler ranged(std::string name, std::string want, bool (*parse)(const std::string&, uint64_t&),
                 uint64_t lo, uint64_t hi, T& out) {
    return value(name, want, [parse, lo, hi, &out](const std::string& s) {
      uint64_t v = 0;
      return parse(s, v) && v >= lo && v <= hi && ((out = static_cast<T>(v)), true);
    });
  }
  template <typename T>
  Handler integer(std::string name, uint64_t lo, uint64_t hi, T& out) {
    std::string want = "an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
    return ranged(name, want, parse_uint, lo, hi, out);
  }
  template <typename T>
  Handler duration(std::string name, uint64_t lo, uint64_t hi, T& out_ms) {
    std::string want = "a duration (250ms, 2s, 5m, 1h, 1d) from " + format_ms(lo) + " to ";
    return ranged(name, want + format_ms(hi), parse_duration_ms, lo, hi, out_ms);
  }
  template <typename T>
  Handler size(std::string name, uint64_t lo, uint64_t hi, T& out) {
    std::string want = "a size (bytes, or 64kb, 512mb, 1gb) in " + std::to_string(lo) + "..";
    return ranged(name, want + std::to_string(hi) + " bytes", parse_size_bytes, lo, hi, out);
  }
  // `allowed` is "a|b|c".
  Handler one_of(std::string name, std::string allowed, std::string& out) {
    return value(name, "one of " + allowed, [allowed, &out](const std::string& s) {
      bool ok = s.find('|') == std::string::npos &&
                ("|" + allowed + "|").find("|" + s + "|") != std::string::npos;
      return ok && ((out = s), true);
    });
  }
  Handler host_port(std::string name, uint32_t min_port, HostPort& out) {
    std::string want = "host:port with a port in " + std::to_string(min_port) + "..65535";
    return value(name, want, [&out, min_port](const std::string& s) {
      return parse_host_port(s, min_port, out);
    });
  }
  // A finite number accepted by `ok`, described by `want`.
  Handler number(std::string name, std::string want, bool (*ok)(double), double& out) {
    return value(name, want, [&out, ok](const std::string& s) {
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      return !s.empty() && end == s.c_str() + s.size() && std::isfinite(v) && ok(v) &&
             ((out = v), true);
    });
  }

 private:
  static std::string text(const YAML::Node& n) { return n.IsScalar() ? n.Scalar() : ""; }

  std::string file_;
  std::string error_;
  std::map<std::string, int> lines_;  // "timeouts.backoffMax" -> line
};

void load_backend(Loader& L, const YAML::Node& n, size_t index, BackendConfig& b) {
  const std::string p = "backends[" + std::to_string(index) + "].";
  if (!n.IsMap()) {
    L.bad(n, p.substr(0, p.size() - 1), "a map with name and address");
    return;
  }
  KeyTable table = {
      {"name", L.value(p + "name", "made of [A-Za-z0-9_.-]",
                       [&b](const std::string& s) {
                         b.name = s;
                         return is_valid_backend_name(s);
                       })},
      {"address", L.host_port(p + "address", 1, b.address)},
      {"username", L.str(p + "username", b.username)},
      {"password", L.str(p + "password", b.password)},
      {"capacity", L.number(
                       p + "capacity", "a number of ops/s greater than 0",
                       [](double x) { return x > 0; }, b.capacity)},
      {"maxmemory", L.size(p + "maxmemory", 0, std::numeric_limits<uint64_t>::max(), b.maxmemory)},
  };
  L.walk(n, table, p);
  if (L.failed()) {
    return;
  }
  if (!L.has(p + "name")) {
    L.fail(n, p + "name is required");
  } else if (!L.has(p + "address")) {
    L.fail(n, p + "address (host:port) is required");
  } else if (!b.username.empty() && b.password.empty()) {
    L.fail(L.line_of(p + "username"), p + "username needs a password as well");
  }
}

void load_backends(Loader& L, const YAML::Node& n, Config& c) {
  if (!n.IsSequence() || n.size() == 0 || n.size() > 65535) {
    L.bad(n, "backends", "a list of 1..65535 {name, address, ...}");
    return;
  }
  std::map<std::string, size_t> seen;  // "name 'x'" / "address h:p" -> first index
  for (size_t i = 0; i < n.size() && !L.failed(); ++i) {
    BackendConfig b;
    load_backend(L, n[i], i, b);
    for (const std::string& k : {"name '" + b.name + "'", "address " + b.address.to_string()}) {
      if (auto [it, fresh] = seen.emplace(k, i); !fresh) {
        L.fail(n[i],
               "duplicate backend " + k + " (also backends[" + std::to_string(it->second) + "])");
      }
    }
    c.backends.push_back(std::move(b));
  }
}

void load_users(Loader& L, const YAML::Node& n, Config& c) {
  if (!n.IsSequence()) {
    L.bad(n, "users", "a list of {name, password, readonly}");
    return;
  }
  for (size_t i = 0; i < n.size() && !L.failed(); ++i) {
    const std::string p = "users[" + std::to_string(i) + "].";
    if (!n[i].IsMap()) {
      L.bad(n[i], p.substr(0, p.size() - 1), "a map with name and password");
      return;
    }
    UserConfig u;
    KeyTable table = {
        {"name", L.value(p + "name", "made of [A-Za-z0-9_.-] and not default or admin",
                         [&u](const std::string& s) {
                           u.name = s;
                           return is_valid_backend_name(s) && s != "default" && s != "admin";
                         })},
        {"password", L.str(p + "password", u.password)},
        {"readonly", L.boolean(p + "readonly", u.readonly)},
    };
    L.walk(n[i], table, p);
    if (!L.failed() && (!L.has(p + "name") || !L.has(p + "password"))) {
      L.fail(n[i], p + "needs a name and a password");
    }
    c.users.push_back(std::move(u));
  }
}

// A handler for a nested map of keys.
Handler section(Loader& L, const char* name, KeyTable table) {
  return [&L, name, table = std::move(table)](const YAML::Node& n) {
    if (!n.IsMap()) {
      L.bad(n, name, "a map");
    } else {
      L.walk(n, table, std::string(name) + ".");
    }
  };
}

// Checks that involve several keys; they run after the whole file was read
// because YAML key order is free. Each names the line of the key to change.
void cross_check(Loader& L, Config& c, const YAML::Node* segment_size) {
  const Timeouts& t = c.timeouts;
  const Limits& l = c.limits;
  if (segment_size != nullptr) {
    L.integer("segmentSize", 1, c.slots, c.segment_size)(*segment_size);
  } else if (c.segment_size > c.slots) {
    L.fail(L.line_of("slots"), "slots is " + std::to_string(c.slots) +
                                   ", below the default segmentSize of " +
                                   std::to_string(c.segment_size) +
                                   "; set segmentSize to at most " + std::to_string(c.slots));
  }
  if (L.failed()) {
    return;
  } else if (!L.has("backends")) {
    L.fail(1, "no backends: the config needs a 'backends' list with at least one entry");
  } else if (c.replication_factor > c.backends.size()) {
    L.fail(L.line_of("replicationFactor"),
           "replicationFactor must be an integer in 1.." + std::to_string(c.backends.size()) +
               " (the number of backends), got '" + std::to_string(c.replication_factor) + "'");
  } else if (c.metrics.port != 0 && c.metrics.to_string() == c.listen.to_string()) {
    L.fail(L.line_of("metrics"), "metrics and listen are both " + c.listen.to_string());
  } else if (t.backoff_max_ms < t.backoff_min_ms) {
    L.fail(L.line_of(L.has("timeouts.backoffMax") ? "timeouts.backoffMax" : "timeouts.backoffMin"),
           "timeouts.backoffMax (" + format_ms(t.backoff_max_ms) +
               ") must not be less than timeouts.backoffMin (" + format_ms(t.backoff_min_ms) + ")");
  } else if (l.max_bulk_length > l.query_buffer_bytes) {
    L.fail(L.line_of(L.has("limits.maxBulkLength") ? "limits.maxBulkLength" : "limits.queryBuffer"),
           "limits.maxBulkLength (" + std::to_string(l.max_bulk_length) +
               ") must not exceed limits.queryBuffer (" + std::to_string(l.query_buffer_bytes) +
               "): a value that long could never be received");
  }
  if (!L.failed() && !c.pubsub_backend.empty() && c.backend_index(c.pubsub_backend) < 0) {
    L.fail(L.line_of("pubsubBackend"),
           "pubsubBackend names '" + c.pubsub_backend + "', which is not in backends");
  }
  for (size_t i = 0; i < c.backends.size() && !L.failed(); ++i) {
    if (c.backends[i].address.to_string() == c.listen.to_string()) {
      std::string k = "backends[" + std::to_string(i) + "].address";
      L.fail(L.line_of(k), k + " " + c.listen.to_string() + " is foreshard's own listen address");
    }
  }
}

Result<Config> load_root(Loader& L, const YAML::Node& root, Config c) {
  if (root.IsNull()) {
    L.fail(1, "the config is empty; it needs at least a 'backends' list");
  } else if (!root.IsMap()) {
    L.fail(root, "the config must be a map of keys (listen: ..., backends: ...)");
  }
  if (L.failed()) {
    return Status(Code::InvalidArgument, L.error());
  }
  YAML::Node segment_size;  // checked against slots once both are known
  bool has_segment_size = false;
  Timeouts& t = c.timeouts;
  KeyTable timeouts = {
      {"connect", L.duration("timeouts.connect", 1, 10 * kMinute, t.connect_ms)},
      {"request", L.duration("timeouts.request", 1, kHour, t.request_ms)},
      {"backoffMin", L.duration("timeouts.backoffMin", 1, 10 * kMinute, t.backoff_min_ms)},
      {"backoffMax", L.duration("timeouts.backoffMax", 1, kHour, t.backoff_max_ms)},
      {"clientIdle", L.duration("timeouts.clientIdle", 0, 30 * kDay, t.client_idle_ms)},
  };
  Limits& l = c.limits;
  KeyTable limits = {
      {"maxArguments", L.integer("limits.maxArguments", 1, kI32, l.max_arguments)},
      {"maxBulkLength", L.size("limits.maxBulkLength", 1, kTb, l.max_bulk_length)},
      {"maxInlineLength", L.size("limits.maxInlineLength", 1, kI32, l.max_inline_length)},
      {"queryBuffer", L.size("limits.queryBuffer", 1, kTb, l.query_buffer_bytes)},
      {"outputBuffer", L.size("limits.outputBuffer", 1, kTb, l.output_buffer_bytes)},
      {"maxInflightPerClient",
       L.integer("limits.maxInflightPerClient", 1, kI32, l.max_inflight_per_client)},
      {"maxClients", L.integer("limits.maxClients", 1, kI32, l.max_clients)},
      {"maxInflightPerBackend",
       L.integer("limits.maxInflightPerBackend", 1, kI32, l.max_inflight_per_backend)},
  };
  TelemetryConfig& tc = c.telemetry;
  uint64_t step_ms = tc.step_s * kSecond, refit_ms = tc.refit_s * kSecond,
           save_ms = tc.save_s * kSecond;
  KeyTable telemetry = {
      {"enabled", L.boolean("telemetry.enabled", tc.enabled)},
      {"step", L.duration("telemetry.step", kSecond, kDay, step_ms)},
      {"memory", L.size("telemetry.memory", 1ull << 20, 1ull << 40, tc.memory_bytes)},
      {"refit", L.duration("telemetry.refit", kSecond, kDay, refit_ms)},
      {"save", L.duration("telemetry.save", kSecond, kDay, save_ms)},
      {"timeScale", L.integer("telemetry.timeScale", 1, 86400, tc.time_scale)},
  };
  BalancerConfig& bc = c.balancer;
  uint64_t plan_ms = bc.interval_s * kSecond;
  KeyTable balancer = {
      {"enabled", L.boolean("balancer.enabled", bc.enabled)},
      {"mode", L.one_of("balancer.mode", "static|reactive|predictive", bc.mode)},
      {"interval", L.duration("balancer.interval", kSecond, kDay, plan_ms)},
      {"rate", L.size("balancer.rate", 1024, kTb, bc.rate_bytes_per_s)},
      {"sizeSamples", L.integer("balancer.sizeSamples", 0, 100000, bc.size_samples)},
  };
  KeyTable table = {
      {"telemetry", section(L, "telemetry", std::move(telemetry))},
      {"balancer", section(L, "balancer", std::move(balancer))},
      {"listen", L.host_port("listen", 0, c.listen)},  // port 0: any free port (tests)
      {"workers", L.integer("workers", 0, 1024, c.workers)},
      {"slots", L.integer("slots", 1, 65536, c.slots)},
      {"segmentSize",
       [&](const YAML::Node& v) {
         segment_size = v;
         has_segment_size = true;
       }},
      {"dataDir", L.value("dataDir", "a directory path",
                          [&c](const std::string& s) { return (c.data_dir = s), !s.empty(); })},
      {"logLevel", L.one_of("logLevel", "debug|info|warn|error", c.log_level)},
      {"metrics", L.host_port("metrics", 0, c.metrics)},  // port 0: metrics off
      {"password", L.str("password", c.password)},
      {"adminPassword", L.str("adminPassword", c.admin_password)},
      {"ignoreExistingData", L.boolean("ignoreExistingData", c.ignore_existing_data)},
      {"users", [&L, &c](const YAML::Node& n) { load_users(L, n, c); }},
      {"pubsubBackend", L.str("pubsubBackend", c.pubsub_backend)},
      {"backends", [&](const YAML::Node& v) { load_backends(L, v, c); }},
      {"timeouts", section(L, "timeouts", std::move(timeouts))},
      {"limits", section(L, "limits", std::move(limits))},
      {"loadThreshold", L.number(
                            "loadThreshold", "a number greater than 0 and at most 1",
                            [](double x) { return x > 0 && x <= 1; }, c.load_threshold)},
      {"predictionHorizon",
       [&](const YAML::Node& v) {
         uint64_t ms = 0;
         L.duration("predictionHorizon", kMinute, 30 * kDay, ms)(v);
         if (!L.failed() && ms % kSecond != 0) {
           L.bad(v, "predictionHorizon", "a whole number of seconds (e.g. 90s, 1h)");
         }
         c.prediction_horizon_s = static_cast<uint32_t>(ms / kSecond);
       }},
      {"replicationFactor", L.integer("replicationFactor", 1, 65535, c.replication_factor)},
      {"validationInterval", L.duration("validationInterval", 1, kHour, c.validation_interval_ms)},
      {"migrationPriority", L.one_of("migrationPriority", "low|normal|high", c.migration_priority)},
      {"maxSwitchPause", L.duration("maxSwitchPause", 10, kMinute, c.max_switch_pause_ms)},
      {"bigKeyElements", L.integer("bigKeyElements", 0, kI32, c.big_key_elements)},
  };
  L.walk(root, table, "");
  tc.step_s = uint32_t(step_ms / kSecond);
  tc.refit_s = uint32_t(refit_ms / kSecond);
  tc.save_s = uint32_t(save_ms / kSecond);
  bc.interval_s = uint32_t(plan_ms / kSecond);
  if (!L.failed()) {
    cross_check(L, c, has_segment_size ? &segment_size : nullptr);
  }
  if (L.failed()) {
    return Status(Code::InvalidArgument, L.error());
  }
  return c;
}

}  // namespace

uint32_t Config::effective_workers() const {
  unsigned cores = std::thread::hardware_concurrency();
  return workers != 0 ? workers : std::max(1u, cores);
}

int Config::backend_index(const std::string& name) const {
  for (size_t i = 0; i < backends.size(); ++i) {
    if (backends[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

Result<Config> parse_config(const std::string& text, const std::string& name) {
  Loader L(name);
  Config c;
  c.file = name;
  try {
    return load_root(L, YAML::Load(text), std::move(c));
  } catch (const YAML::Exception& e) {
    // Marks are 0-based; an exception without a mark has line -1.
    int line = e.mark.line >= 0 ? e.mark.line + 1 : 1;
    return Status(Code::InvalidArgument, L.at(line) + "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return Status(Code::InvalidArgument, name + ": " + e.what());
  }
}

Result<Config> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    int err = errno;
    return err == ENOENT ? Status(Code::NotFound, path + ": no such config file")
                         : Status(Code::IoError, path + ": cannot open: " + std::strerror(err));
  }
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    return Status(Code::IoError, path + ": read error");
  }
  return parse_config(text, path);
}

bool parse_duration_ms(const std::string& s, uint64_t& out) {
  static const std::map<std::string, uint64_t> kUnits = {
      {"", 1}, {"ms", 1}, {"s", kSecond}, {"m", kMinute}, {"h", kHour}, {"d", kDay}};
  return parse_with_unit(s, kUnits, out);
}

bool parse_size_bytes(const std::string& s, uint64_t& out) {
  // Redis's memtoull() units: k/m/g are powers of 1000, kb/mb/gb of 1024.
  static const std::map<std::string, uint64_t> kUnits = {
      {"", 1},           {"b", 1},           {"k", 1000},
      {"kb", 1024},      {"m", 1000000},     {"mb", 1ull << 20},
      {"g", 1000000000}, {"gb", 1ull << 30}, {"tb", 1ull << 40},
  };
  return parse_with_unit(s, kUnits, out);
}

}  // namespace proxy
