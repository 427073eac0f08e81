// Config loader tests: defaults, every key read, the shipped conf/*.yaml files
// load, and one TEST_CASE per invalid input with its exact "FILE:LINE: reason"
// message (CONVENTIONS §15).
#include "proxy/config.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>
#include <string>

namespace proxy {
namespace {

// FORESHARD_SOURCE_DIR (set by ctest), else the tree this file is in.
std::string source_dir() {
  const char* env = std::getenv("FORESHARD_SOURCE_DIR");
  std::string here = __FILE__[0] == '/' ? __FILE__ : std::string("./") + __FILE__;
  return env != nullptr && *env != '\0' ? env : here.substr(0, here.rfind("/tests/proxy/"));
}

const char* kBackends =
    "backends:\n"                     // line n
    "  - name: redis-1\n"             // n+1
    "    address: 127.0.0.1:6381\n"   // n+2
    "  - name: redis-2\n"             // n+3
    "    address: 127.0.0.1:6382\n";  // n+4

// Parses `text`, expects failure, returns the message.
std::string error_of(const std::string& text) {
  Result<Config> r = parse_config(text, "t.yaml");
  REQUIRE_MESSAGE(!r.is_ok(), "expected an error for:\n" << text);
  CHECK(r.status().code() == Code::InvalidArgument);
  return r.status().message();
}

// Every setting but the file name and the backends, grouped per line, so two
// configs (or a config and the documented defaults) compare in one CHECK.
std::string settings(const Config& c) {
  const Timeouts& t = c.timeouts;
  const Limits& l = c.limits;
  std::ostringstream o;
  o << c.listen.to_string() << ' ' << c.workers << ' ' << c.slots << ' ' << c.segment_size << ' '
    << c.data_dir << ' ' << c.log_level << ' ' << c.metrics.to_string() << " [" << c.password
    << "] [" << c.admin_password << "] " << c.ignore_existing_data << '\n'
    << t.connect_ms << ' ' << t.request_ms << ' ' << t.backoff_min_ms << ' ' << t.backoff_max_ms
    << ' ' << t.client_idle_ms << '\n'
    << l.max_arguments << ' ' << l.max_bulk_length << ' ' << l.max_inline_length << ' '
    << l.query_buffer_bytes << ' ' << l.output_buffer_bytes << ' ' << l.max_inflight_per_client
    << ' ' << l.max_clients << ' ' << l.max_inflight_per_backend << '\n'
    << c.load_threshold << ' ' << c.prediction_horizon_s << ' ' << c.replication_factor << ' '
    << c.validation_interval_ms << ' ' << c.migration_priority;
  return o.str();
}

// "name@host:port user/password capacity maxmemory;" for each backend.
std::string backends_of(const Config& c) {
  std::ostringstream o;
  for (const BackendConfig& b : c.backends) {
    o << b.name << '@' << b.address.to_string() << ' ' << b.username << '/' << b.password << ' '
      << b.capacity << ' ' << b.maxmemory << ';';
  }
  return o.str();
}

// One top-level key followed by the two valid backends.
std::string error_of_key(const std::string& line) { return error_of(line + "\n" + kBackends); }

}  // namespace

TEST_SUITE("Config") {
  TEST_CASE("a minimal config gets every documented default") {
    Result<Config> r = parse_config(kBackends, "t.yaml");
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    const Config& c = r.value();
    CHECK(settings(c) ==
          "127.0.0.1:7000 0 16384 64 ./data info 127.0.0.1:9121 [] [] 0\n"     // top level
          "1000 2000 100 2000 0\n"                                             // timeouts (ms)
          "1048576 536870912 65536 1073741824 268435456 1000 10000 100000\n"  // limits
          "0.8 3600 1 1000 normal");           // load, horizon (s), replication, validation (ms)
    CHECK(settings(c) == settings(Config{}));  // the loader keeps the struct's defaults
    CHECK(c.file == "t.yaml");
    CHECK(c.effective_workers() >= 1);
    CHECK(backends_of(c) == "redis-1@127.0.0.1:6381 / 100000 0;redis-2@127.0.0.1:6382 / 100000 0;");
    CHECK(c.backend_index("redis-2") == 1);
    CHECK(c.backend_index("nope") == -1);
  }

  TEST_CASE("every key is read with its units") {
    const char* text = R"(listen: "[::1]:7001"
workers: 4
slots: 1024
segmentSize: 16
dataDir: var/lib/foreshard
logLevel: debug
metrics: 0.0.0.0:0
password: s3cret
adminPassword: "12345"
ignoreExistingData: yes
backends:
  - {name: a.b_c-1, address: "db1.example:6379", username: app, password: pw, capacity: 2.5e4,
     maxmemory: 4gb}
timeouts: {connect: 250ms, request: 3s, backoffMin: 10, backoffMax: 1m, clientIdle: 1h}
limits: {maxArguments: 100, maxBulkLength: 1mb, maxInlineLength: 4k, queryBuffer: 2mb,
         outputBuffer: 1000000, maxInflightPerClient: 5, maxClients: 6, maxInflightPerBackend: 7}
loadThreshold: 1
predictionHorizon: 2d
replicationFactor: 1
validationInterval: 2s
migrationPriority: high
)";
    Result<Config> r = parse_config(text, "t.yaml");
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    const Config& c = r.value();
    CHECK(settings(c) ==
          "::1:7001 4 1024 16 var/lib/foreshard debug 0.0.0.0:0 [s3cret] [12345] 1\n"
          "250 3000 10 60000 3600000\n"
          "100 1048576 4000 2097152 1000000 5 6 7\n"
          "1 172800 1 2000 high");
    CHECK(c.listen.host == "::1");  // brackets stripped
    CHECK(c.effective_workers() == 4);
    CHECK(backends_of(c) == "a.b_c-1@db1.example:6379 app/pw 25000 4294967296;");
  }

  TEST_CASE("parse_duration_ms and parse_size_bytes accept the documented units") {
    const char* durations[] = {"250ms", "2s", "5m", "1h", "1d", "42", "3 S"};
    const uint64_t ms[] = {250, 2000, 300000, 3600000, 86400000, 42, 3000};
    const char* sizes[] = {"512mb", "1gb", "64kb", "64k", "1m", "2GB", "123"};
    const uint64_t bytes[] = {512ull << 20, 1ull << 30, 65536, 64000, 1000000, 2ull << 30, 123};
    for (size_t i = 0; i < 7; ++i) {
      uint64_t v = 0;
      CHECK((parse_duration_ms(durations[i], v) && v == ms[i]));
      CHECK((parse_size_bytes(sizes[i], v) && v == bytes[i]));
    }
    uint64_t v = 0;
    for (const char* bad : {"", "s", "1.5s", "-1s", "1w", "99999999999999999999d", "1 s x"}) {
      CHECK_FALSE(parse_duration_ms(bad, v));
    }
    for (const char* bad : {"", "mb", "12xb", "1.5gb", "-1", "20000000000gb"}) {
      CHECK_FALSE(parse_size_bytes(bad, v));
    }
  }

  TEST_CASE("conf/foreshard.example.yaml loads and states the defaults") {
    Result<Config> r = load_config(source_dir() + "/conf/foreshard.example.yaml");
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    CHECK(settings(r.value()) == settings(Config{}));
    CHECK(backends_of(r.value()) ==
          "redis-1@127.0.0.1:6381 / 100000 0;redis-2@127.0.0.1:6382 / 100000 0;"
          "redis-3@127.0.0.1:6383 / 100000 0;");
  }

  TEST_CASE("conf/foreshard.yaml loads: three local backends behind 127.0.0.1:7000") {
    Result<Config> r = load_config(source_dir() + "/conf/foreshard.yaml");
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    const Config& c = r.value();
    CHECK(c.listen.to_string() == "127.0.0.1:7000");
    CHECK(c.metrics.to_string() == "127.0.0.1:9121");
    CHECK(c.data_dir == "./data");
    CHECK(backends_of(c) ==
          "redis-1@127.0.0.1:6381 / 4000 0;redis-2@127.0.0.1:6382 / 4000 0;"
          "redis-3@127.0.0.1:6383 / 4000 0;");
    // The demo's compressed time: a 30 s day, a plan every 2 s.
    CHECK(c.telemetry.time_scale == 2880);
    CHECK(c.balancer.mode == "predictive");
    CHECK(c.balancer.interval_s == 2);
  }

  TEST_CASE("conf/dev.yaml loads with the same three backends") {
    Result<Config> r = load_config(source_dir() + "/conf/dev.yaml");
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    CHECK(backends_of(r.value()) ==
          "redis-1@127.0.0.1:6381 / 50000 0;redis-2@127.0.0.1:6382 / 50000 0;"
          "redis-3@127.0.0.1:6383 / 50000 0;");
  }

  // ---- one test per invalid input ----

  TEST_CASE("a missing file is NotFound and names the path") {
    Result<Config> r = load_config("/nonexistent/foreshard.yaml");
    CHECK(r.status().code() == Code::NotFound);
    CHECK(r.status().message() == "/nonexistent/foreshard.yaml: no such config file");
  }

  TEST_CASE("an unclosed flow map is a syntax error naming file and line") {
    CHECK(error_of("listen: 127.0.0.1:7000\nbackends: [\n  {name: a\n") ==
          "t.yaml:4: YAML syntax error: end of map flow not found");
  }

  TEST_CASE("a mis-indented key is a syntax error on its line") {
    CHECK(error_of("workers: 1\n  bad indent: 2\n") ==
          "t.yaml:2: YAML syntax error: illegal map value");
  }

  TEST_CASE("an undefined alias is a syntax error on its line") {
    CHECK(error_of("workers: &x 1\nslots: *y\n") ==
          "t.yaml:2: YAML syntax error: the referenced anchor is not defined");
  }

  TEST_CASE("a duplicate key inside a backend") {
    CHECK(error_of("backends:\n  - name: a\n    address: h:1\n    name: b\n") ==
          "t.yaml:4: duplicate key 'name' in backends[0]");
  }

  TEST_CASE("an empty file is refused") {
    CHECK(error_of("") == "t.yaml:1: the config is empty; it needs at least a 'backends' list");
  }

  TEST_CASE("a top level that is not a map is refused") {
    CHECK(error_of("- a\n- b\n") ==
          "t.yaml:1: the config must be a map of keys (listen: ..., backends: ...)");
  }

  TEST_CASE("an unknown top-level key is refused with a suggestion") {
    CHECK(error_of_key("segment_size: 64") ==
          "t.yaml:1: unknown key 'segment_size' (did you mean 'segmentSize'?)");
  }

  TEST_CASE("an unknown top-level key without a close match has no suggestion") {
    CHECK(error_of_key("foo: 1") == "t.yaml:1: unknown key 'foo'");
  }

  TEST_CASE("an unknown key inside a backend names the backend") {
    CHECK(error_of(std::string(kBackends) + "    foo: 1\n") ==
          "t.yaml:6: unknown key 'foo' in backends[1]");
  }

  TEST_CASE("an unknown key in timeouts") {
    CHECK(error_of_key("timeouts:\n  conect: 1s") ==
          "t.yaml:2: unknown key 'conect' in timeouts (did you mean 'connect'?)");
  }

  TEST_CASE("an unknown key in limits") {
    CHECK(error_of_key("limits:\n  maxBulk: 1") == "t.yaml:2: unknown key 'maxBulk' in limits");
  }

  TEST_CASE("a duplicate key is refused") {
    CHECK(error_of_key("workers: 1\nworkers: 2") == "t.yaml:2: duplicate key 'workers'");
  }

  TEST_CASE("segmentSize that is not a number") {
    CHECK(error_of_key("segmentSize: abc") ==
          "t.yaml:1: segmentSize must be an integer in 1..16384, got 'abc'");
  }

  TEST_CASE("segmentSize 0") {
    CHECK(error_of_key("segmentSize: 0") ==
          "t.yaml:1: segmentSize must be an integer in 1..16384, got '0'");
  }

  TEST_CASE("segmentSize larger than slots, whatever the key order") {
    CHECK(error_of_key("segmentSize: 128\nslots: 100") ==
          "t.yaml:1: segmentSize must be an integer in 1..100, got '128'");
  }

  TEST_CASE("slots below the default segmentSize") {
    CHECK(error_of_key("slots: 32") ==
          "t.yaml:1: slots is 32, below the default segmentSize of 64; set segmentSize to at "
          "most 32");
  }

  TEST_CASE("slots 0") {
    CHECK(error_of_key("slots: 0") == "t.yaml:1: slots must be an integer in 1..65536, got '0'");
  }

  TEST_CASE("slots above 65536") {
    CHECK(error_of_key("slots: 65537") ==
          "t.yaml:1: slots must be an integer in 1..65536, got '65537'");
  }

  TEST_CASE("negative workers") {
    CHECK(error_of_key("workers: -1") ==
          "t.yaml:1: workers must be an integer in 0..1024, got '-1'");
  }

  TEST_CASE("a list where a number belongs") {
    CHECK(error_of_key("workers: [1, 2]") ==
          "t.yaml:1: workers must be an integer in 0..1024, got a list");
  }

  TEST_CASE("listen without a port") {
    CHECK(error_of_key("listen: localhost") ==
          "t.yaml:1: listen must be host:port with a port in 0..65535, got 'localhost'");
  }

  TEST_CASE("listen with a port out of range") {
    CHECK(error_of_key("listen: 127.0.0.1:70000") ==
          "t.yaml:1: listen must be host:port with a port in 0..65535, got '127.0.0.1:70000'");
  }

  TEST_CASE("listen with an empty host") {
    CHECK(error_of_key("listen: :7000") ==
          "t.yaml:1: listen must be host:port with a port in 0..65535, got ':7000'");
  }

  TEST_CASE("metrics that is not host:port") {
    CHECK(error_of_key("metrics: 9121") ==
          "t.yaml:1: metrics must be host:port with a port in 0..65535, got '9121'");
  }

  TEST_CASE("metrics on the listen address") {
    CHECK(error_of_key("listen: 127.0.0.1:7000\nmetrics: 127.0.0.1:7000") ==
          "t.yaml:2: metrics and listen are both 127.0.0.1:7000");
  }

  TEST_CASE("an unknown logLevel") {
    CHECK(error_of_key("logLevel: verbose") ==
          "t.yaml:1: logLevel must be one of debug|info|warn|error, got 'verbose'");
  }

  TEST_CASE("an unknown migrationPriority") {
    CHECK(error_of_key("migrationPriority: urgent") ==
          "t.yaml:1: migrationPriority must be one of low|normal|high, got 'urgent'");
  }

  TEST_CASE("loadThreshold 0") {
    CHECK(error_of_key("loadThreshold: 0") ==
          "t.yaml:1: loadThreshold must be a number greater than 0 and at most 1, got '0'");
  }

  TEST_CASE("loadThreshold above 1") {
    CHECK(error_of_key("loadThreshold: 1.5") ==
          "t.yaml:1: loadThreshold must be a number greater than 0 and at most 1, got '1.5'");
  }

  TEST_CASE("loadThreshold as a percentage string") {
    CHECK(error_of_key("loadThreshold: 80%") ==
          "t.yaml:1: loadThreshold must be a number greater than 0 and at most 1, got '80%'");
  }

  TEST_CASE("replicationFactor 0") {
    CHECK(error_of_key("replicationFactor: 0") ==
          "t.yaml:1: replicationFactor must be an integer in 1..65535, got '0'");
  }

  TEST_CASE("replicationFactor above the number of backends") {
    CHECK(error_of_key("replicationFactor: 3") ==
          "t.yaml:1: replicationFactor must be an integer in 1..2 (the number of backends), "
          "got '3'");
  }

  TEST_CASE("predictionHorizon that is not a duration") {
    CHECK(error_of_key("predictionHorizon: soon") ==
          "t.yaml:1: predictionHorizon must be a duration (250ms, 2s, 5m, 1h, 1d) from 1m to "
          "30d, got 'soon'");
  }

  TEST_CASE("predictionHorizon as a bare number is milliseconds, so 3600 is too short") {
    CHECK(error_of_key("predictionHorizon: 3600") ==
          "t.yaml:1: predictionHorizon must be a duration (250ms, 2s, 5m, 1h, 1d) from 1m to "
          "30d, got '3600'");
  }

  TEST_CASE("predictionHorizon that is not whole seconds") {
    CHECK(error_of_key("predictionHorizon: 60500ms") ==
          "t.yaml:1: predictionHorizon must be a whole number of seconds (e.g. 90s, 1h), got "
          "'60500ms'");
  }

  TEST_CASE("validationInterval 0") {
    CHECK(error_of_key("validationInterval: 0") ==
          "t.yaml:1: validationInterval must be a duration (250ms, 2s, 5m, 1h, 1d) from 1ms to "
          "1h, got '0'");
  }

  TEST_CASE("ignoreExistingData that is not a boolean") {
    CHECK(error_of_key("ignoreExistingData: maybe") ==
          "t.yaml:1: ignoreExistingData must be true or false, got 'maybe'");
  }

  TEST_CASE("an empty dataDir") {
    CHECK(error_of_key("dataDir: \"\"") == "t.yaml:1: dataDir must be a directory path, got ''");
  }

  TEST_CASE("a password that is a map") {
    CHECK(error_of_key("password: {a: 1}") == "t.yaml:1: password must be a string, got a map");
  }

  TEST_CASE("no backends key at all") {
    CHECK(error_of("workers: 1\n") ==
          "t.yaml:1: no backends: the config needs a 'backends' list with at least one entry");
  }

  TEST_CASE("an empty backends list") {
    CHECK(error_of("workers: 1\nbackends: []\n") ==
          "t.yaml:2: backends must be a list of 1..65535 {name, address, ...}, got a list");
  }

  TEST_CASE("backends as a map instead of a list") {
    CHECK(error_of("backends:\n  redis-1: 127.0.0.1:6381\n") ==
          "t.yaml:2: backends must be a list of 1..65535 {name, address, ...}, got a map");
  }

  TEST_CASE("a backend that is a plain string") {
    CHECK(error_of("backends:\n  - 127.0.0.1:6381\n") ==
          "t.yaml:2: backends[0] must be a map with name and address, got '127.0.0.1:6381'");
  }

  TEST_CASE("a backend without a name") {
    CHECK(error_of("backends:\n  - address: 127.0.0.1:6381\n") ==
          "t.yaml:2: backends[0].name is required");
  }

  TEST_CASE("a backend without an address") {
    CHECK(error_of("backends:\n  - name: a\n") ==
          "t.yaml:2: backends[0].address (host:port) is required");
  }

  TEST_CASE("a backend name with a space") {
    CHECK(error_of("backends:\n  - name: redis 1\n    address: h:1\n") ==
          "t.yaml:2: backends[0].name must be made of [A-Za-z0-9_.-], got 'redis 1'");
  }

  TEST_CASE("a backend address with port 0") {
    CHECK(error_of("backends:\n  - name: a\n    address: h:0\n") ==
          "t.yaml:3: backends[0].address must be host:port with a port in 1..65535, got 'h:0'");
  }

  TEST_CASE("duplicate backend names") {
    CHECK(error_of(std::string(kBackends) + "  - name: redis-1\n    address: 127.0.0.1:6383\n") ==
          "t.yaml:6: duplicate backend name 'redis-1' (also backends[0])");
  }

  TEST_CASE("duplicate backend addresses") {
    CHECK(error_of(std::string(kBackends) + "  - name: redis-3\n    address: 127.0.0.1:6381\n") ==
          "t.yaml:6: duplicate backend address 127.0.0.1:6381 (also backends[0])");
  }

  TEST_CASE("a backend capacity of 0") {
    CHECK(error_of("backends:\n  - name: a\n    address: h:1\n    capacity: 0\n") ==
          "t.yaml:4: backends[0].capacity must be a number of ops/s greater than 0, got '0'");
  }

  TEST_CASE("a backend capacity that is not a number") {
    CHECK(error_of("backends:\n  - name: a\n    address: h:1\n    capacity: lots\n") ==
          "t.yaml:4: backends[0].capacity must be a number of ops/s greater than 0, got 'lots'");
  }

  TEST_CASE("a backend maxmemory with an unknown unit") {
    CHECK(error_of("backends:\n  - name: a\n    address: h:1\n    maxmemory: 2xb\n")
              .rfind("t.yaml:4: backends[0].maxmemory must be a size (bytes, or 64kb, 512mb, 1gb)",
                     0) == 0);
  }

  TEST_CASE("a backend username without a password") {
    CHECK(error_of("backends:\n  - name: a\n    address: h:1\n    username: app\n") ==
          "t.yaml:4: backends[0].username needs a password as well");
  }

  TEST_CASE("a backend on foreshard's own listen address") {
    CHECK(error_of("listen: 127.0.0.1:6381\n" + std::string(kBackends)) ==
          "t.yaml:4: backends[0].address 127.0.0.1:6381 is foreshard's own listen address");
  }

  TEST_CASE("timeouts that is not a map") {
    CHECK(error_of_key("timeouts: 5s") == "t.yaml:1: timeouts must be a map, got '5s'");
  }

  TEST_CASE("a timeout that is not a duration") {
    CHECK(error_of_key("timeouts:\n  connect: fast") ==
          "t.yaml:2: timeouts.connect must be a duration (250ms, 2s, 5m, 1h, 1d) from 1ms to 10m, "
          "got 'fast'");
  }

  TEST_CASE("a negative clientIdle") {
    CHECK(error_of_key("timeouts:\n  clientIdle: -1s") ==
          "t.yaml:2: timeouts.clientIdle must be a duration (250ms, 2s, 5m, 1h, 1d) from 0ms to "
          "30d, got '-1s'");
  }

  TEST_CASE("backoffMax below backoffMin") {
    CHECK(error_of_key("timeouts:\n  backoffMax: 50ms\n  backoffMin: 1s") ==
          "t.yaml:2: timeouts.backoffMax (50ms) must not be less than timeouts.backoffMin (1s)");
  }

  TEST_CASE("limits that is a list") {
    CHECK(error_of_key("limits: [1]") == "t.yaml:1: limits must be a map, got a list");
  }

  TEST_CASE("maxArguments 0") {
    CHECK(error_of_key("limits:\n  maxArguments: 0") ==
          "t.yaml:2: limits.maxArguments must be an integer in 1..2147483647, got '0'");
  }

  TEST_CASE("maxClients that is not a number") {
    CHECK(error_of_key("limits:\n  maxClients: many") ==
          "t.yaml:2: limits.maxClients must be an integer in 1..2147483647, got 'many'");
  }

  TEST_CASE("an outputBuffer that is not a size") {
    CHECK(error_of_key("limits:\n  outputBuffer: big") ==
          "t.yaml:2: limits.outputBuffer must be a size (bytes, or 64kb, 512mb, 1gb) in "
          "1..1099511627776 bytes, got 'big'");
  }

  TEST_CASE("maxBulkLength above queryBuffer") {
    CHECK(error_of_key("limits:\n  queryBuffer: 1mb\n  maxBulkLength: 2mb") ==
          "t.yaml:3: limits.maxBulkLength (2097152) must not exceed limits.queryBuffer (1048576): "
          "a value that long could never be received");
  }
}

}  // namespace proxy
