// MapStore tests in a fresh temp dir each: save/load round trip, atomic
// replace, a stale .tmp ignored, missing and corrupt files, and the data-dir
// lock refusing a second holder.
#include "proxy/map_store.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace proxy {
namespace {

const std::vector<std::string> kNames = {"redis-1", "redis-2", "redis-3"};

// A temp directory removed (with its files) when the test ends.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/foreshard-map-store-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    CHECK(std::system(cmd.c_str()) == 0);
  }
};

SegmentMap sample_map() {
  Result<SegmentMap> r =
      SegmentMap::initial(16384, 64, {{"redis-1", 1}, {"redis-2", 1}, {"redis-3", 2}});
  REQUIRE(r.is_ok());
  return r.value().with_state(5, SegmentState::Migrating, 2).value();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_SUITE("MapStore") {
  TEST_CASE("ensure_dir creates nested directories and tolerates existing ones") {
    TempDir t;
    MapStore store(t.path + "/a/b/c/");
    CHECK(store.path() == t.path + "/a/b/c/segment-map");
    REQUIRE(store.ensure_dir().is_ok());
    REQUIRE(store.ensure_dir().is_ok());
    struct stat st;
    CHECK(stat((t.path + "/a/b/c").c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
  }

  TEST_CASE("ensure_dir fails when the path is a file") {
    TempDir t;
    write_file(t.path + "/file", "x");
    MapStore store(t.path + "/file");
    Status st = store.ensure_dir();
    CHECK(st.code() == Code::IoError);
    CHECK(st.message().find(t.path + "/file") != std::string::npos);
  }

  TEST_CASE("save then load gives the same map") {
    TempDir t;
    MapStore store(t.path);
    SegmentMap m = sample_map();
    CHECK_FALSE(store.exists());
    REQUIRE(store.save(m).is_ok());
    CHECK(store.exists());
    CHECK(read_file(store.path()) == m.serialize());
    Result<SegmentMap> back = store.load(kNames);
    REQUIRE_MESSAGE(back.is_ok(), back.status().message());
    CHECK(back.value().epoch() == m.epoch());
    CHECK(back.value().diff(m).empty());
    struct stat st;
    CHECK(stat((store.path() + ".tmp").c_str(), &st) != 0);  // no temp file left behind
  }

  TEST_CASE("save replaces the previous map") {
    TempDir t;
    MapStore store(t.path);
    SegmentMap m = sample_map();
    REQUIRE(store.save(m).is_ok());
    SegmentMap next = m.with_owner(5, 2).value();
    REQUIRE(store.save(next).is_ok());
    Result<SegmentMap> back = store.load(kNames);
    REQUIRE(back.is_ok());
    CHECK(back.value().epoch() == next.epoch());
    CHECK(back.value().segment(5).owner == 2);
  }

  TEST_CASE("load remaps owners when the config reorders backends") {
    TempDir t;
    MapStore store(t.path);
    SegmentMap m = sample_map();
    REQUIRE(store.save(m).is_ok());
    Result<SegmentMap> back = store.load({"redis-3", "redis-2", "redis-1"});
    REQUIRE(back.is_ok());
    CHECK(back.value().segment(0).owner == 2);    // redis-1
    CHECK(back.value().segment(255).owner == 0);  // redis-3
  }

  TEST_CASE("a stale .tmp from a crashed save is ignored") {
    TempDir t;
    MapStore store(t.path);
    SegmentMap m = sample_map();
    REQUIRE(store.save(m).is_ok());
    write_file(store.path() + ".tmp", "foreshard-segment-map 1\nepoch 99\n");  // half written
    Result<SegmentMap> back = store.load(kNames);
    REQUIRE(back.is_ok());
    CHECK(back.value().epoch() == m.epoch());
    REQUIRE(store.save(m.with_owner(0, 1).value()).is_ok());  // and overwritten by the next save
    CHECK(store.load(kNames).is_ok());
  }

  TEST_CASE("load without a map file is NotFound") {
    TempDir t;
    MapStore store(t.path);
    Result<SegmentMap> r = store.load(kNames);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::NotFound);
    CHECK(r.status().message() == "no segment map at " + t.path + "/segment-map");
  }

  TEST_CASE("load of a truncated map is Corrupt and names the file") {
    TempDir t;
    MapStore store(t.path);
    std::string text = sample_map().serialize();
    write_file(store.path(), text.substr(0, text.size() - 30));
    Result<SegmentMap> r = store.load(kNames);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::Corrupt);
    CHECK(r.status().message().rfind(store.path() + ": segment map line ", 0) == 0);
  }

  TEST_CASE("load refuses a map whose owner left the config") {
    TempDir t;
    MapStore store(t.path);
    REQUIRE(store.save(sample_map()).is_ok());
    Result<SegmentMap> r = store.load({"redis-1", "redis-2"});
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == Code::InvalidArgument);
    CHECK(r.status().message().find("'redis-3' that the config no longer has") !=
          std::string::npos);
  }

  TEST_CASE("save into a missing directory fails with IoError and keeps nothing") {
    TempDir t;
    MapStore store(t.path + "/missing");
    Status st = store.save(sample_map());
    CHECK(st.code() == Code::IoError);
    CHECK(st.message().find(t.path + "/missing/segment-map.tmp") != std::string::npos);
  }

  TEST_CASE("the lock is refused to a second holder and released with the first") {
    TempDir t;
    auto first = std::make_unique<MapStore>(t.path);
    REQUIRE(first->lock().is_ok());
    CHECK(first->lock().is_ok());  // idempotent
    CHECK(read_file(t.path + "/lock") == std::to_string(getpid()) + "\n");
    {
      MapStore second(t.path);
      Status st = second.lock();
      CHECK(st.code() == Code::Refused);
      CHECK(st.message() == "data dir " + t.path + " is in use by another foreshard (pid " +
                                std::to_string(getpid()) + ")");
    }
    first.reset();
    MapStore third(t.path);
    CHECK(third.lock().is_ok());
  }

  TEST_CASE("the lock is refused to another process") {
    TempDir t;
    MapStore store(t.path);
    REQUIRE(store.lock().is_ok());
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      MapStore other(t.path);
      _exit(other.lock().code() == Code::Refused ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}

}  // namespace proxy
