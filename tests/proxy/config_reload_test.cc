// Hot-reload rules (proxy/config_reload.h): what a reload applies, what it
// refuses and why. The live path (SIGHUP, workers opening links, the map
// learning a backend) is tests/ops/reload_test.py.
#include "proxy/config_reload.h"

#include <doctest/doctest.h>

#include <string>

namespace proxy {
namespace {

const char* kTwo =
    "listen: 127.0.0.1:7000\n"
    "backends:\n"
    "  - name: redis-1\n"
    "    address: 127.0.0.1:6381\n"
    "  - name: redis-2\n"
    "    address: 127.0.0.1:6382\n";

Config parse(const std::string& text) {
  Result<Config> r = parse_config(text, "t.yaml");
  REQUIRE_MESSAGE(r.is_ok(), r.status().message());
  return std::move(r).value();
}

bool any_contains(const std::vector<std::string>& v, const std::string& s) {
  for (const std::string& x : v) {
    if (x.find(s) != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST_CASE("reload: the same config changes nothing") {
  Config c = parse(kTwo);
  ConfigDiff d = diff_config(c, c, 64);
  CHECK(d.changes.empty());
  CHECK(d.refused.empty());
}

TEST_CASE("reload: a backend appended, a capacity, limits and balancer settings apply") {
  Config a = parse(kTwo);
  Config b = parse(std::string(kTwo) +
                   "  - name: redis-3\n"
                   "    address: 127.0.0.1:6383\n"
                   "    capacity: 5000\n"
                   "limits:\n  maxClients: 50\n"
                   "balancer:\n  mode: reactive\n"
                   "loadThreshold: 0.7\n");
  b.backends[0].capacity = 1234;
  ConfigDiff d = diff_config(a, b, 64);
  CHECK(d.refused.empty());
  CHECK(any_contains(d.changes, "backends[2] redis-3 (127.0.0.1:6383, capacity 5000) added"));
  CHECK(any_contains(d.changes, "backends[0].capacity 100000 -> 1234"));
  CHECK(any_contains(d.changes, "limits.maxClients 10000 -> 50"));
  CHECK(any_contains(d.changes, "balancer.mode 'predictive' -> 'reactive'"));
  CHECK(any_contains(d.changes, "loadThreshold 0.8 -> 0.7"));
  CHECK(d.changes.size() == 5);
}

TEST_CASE("reload: what cannot change at run time is refused with its reason") {
  Config a = parse(kTwo);
  SUBCASE("listen") {
    Config b = a;
    b.listen.port = 7001;
    ConfigDiff d = diff_config(a, b, 64);
    REQUIRE(d.refused.size() == 1);
    CHECK(d.refused[0] == "listen 127.0.0.1:7000 -> 127.0.0.1:7001: cannot change while running "
                          "(restart foreshard)");
  }
  SUBCASE("a removed backend names DRAIN") {
    Config b = a;
    b.backends.pop_back();
    ConfigDiff d = diff_config(a, b, 64);
    REQUIRE(d.refused.size() == 1);
    CHECK(any_contains(d.refused, "FORESHARD DRAIN redis-2"));
  }
  SUBCASE("reordered backends") {
    Config b = a;
    std::swap(b.backends[0], b.backends[1]);
    ConfigDiff d = diff_config(a, b, 64);
    CHECK(d.refused.size() == 2);
    CHECK(any_contains(d.refused, "keep their names and order"));
  }
  SUBCASE("a backend's address") {
    Config b = a;
    b.backends[1].address.port = 7777;
    ConfigDiff d = diff_config(a, b, 64);
    REQUIRE(d.refused.size() == 1);
    CHECK(any_contains(d.refused, "backends[1].address"));
  }
  SUBCASE("history shape and timeouts") {
    Config b = a;
    b.telemetry.step_s = 60;
    b.timeouts.request_ms = 10;
    b.slots = 1024;
    ConfigDiff d = diff_config(a, b, 64);
    CHECK(d.refused.size() == 3);
    CHECK(any_contains(d.refused, "telemetry.step"));
    CHECK(any_contains(d.refused, "timeouts.request"));
    CHECK(any_contains(d.refused, "slots"));
  }
  SUBCASE("more backends than the workers were sized for") {
    Config b = a;
    b.backends.push_back(a.backends[1]);
    b.backends.back().name = "redis-3";
    ConfigDiff d = diff_config(a, b, 2);
    REQUIRE(d.refused.size() == 1);
    CHECK(any_contains(d.refused, "at most 2 backends"));
  }
}

TEST_CASE("reload: a password change is reported without its value") {
  Config a = parse(kTwo);
  Config b = a;
  b.admin_password = "s3cret";
  ConfigDiff d = diff_config(a, b, 64);
  REQUIRE(d.changes.size() == 1);
  CHECK(d.changes[0].find("s3cret") == std::string::npos);
  CHECK(d.changes[0] == "adminPassword changed (applies to the next AUTH)");
}

TEST_CASE("reload: per-worker arrays get headroom for added backends") {
  CHECK(backend_capacity_for(3) == 64);
  CHECK(backend_capacity_for(100) == 200);
  CHECK(backend_capacity_for(60000) == 65535);
}

}  // namespace
}  // namespace proxy
