// Tests for proxy/commands: the built-in Redis 7.0 table (counts, classes against
// shared/reference/command-classes.json, byte-exact entries), lookup, key positions from key
// specs, and rejection of replies that are not a COMMAND reply.
#include "proxy/commands.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace proxy {
extern const unsigned char kCommandsFallback[];
extern const std::size_t kCommandsFallbackSize;
}  // namespace proxy

namespace {

using proxy::CommandClass;
using proxy::CommandInfo;
using proxy::CommandTable;
using Args = std::vector<std::string_view>;

const CommandTable& table() {
  static const CommandTable t = CommandTable::builtin();
  return t;
}

// Key positions of a command line; fails the test if the table doesn't know the command.
std::vector<uint32_t> keys(const Args& args, bool expect_ok = true) {
  const CommandInfo* info = table().lookup(args);
  REQUIRE(info != nullptr);
  std::vector<uint32_t> out;
  CHECK(table().key_positions(*info, args, out) == expect_ok);
  return out;
}

using Positions = std::vector<uint32_t>;

std::string shared_dir() {
  if (const char* d = std::getenv("FORESHARD_SHARED_DIR")) {
    return d;
  }
  if (const char* src = std::getenv("FORESHARD_SOURCE_DIR")) {
    return std::string(src) + "/../shared";
  }
  std::string file = __FILE__;  // <repo>/tests/proxy/commands_test.cc
  for (int i = 0; i < 3; ++i) {
    file = file.substr(0, file.rfind('/'));
  }
  return file + "/../shared";
}

// Minimal reader for command-classes.json: {"classes": {"<class>": ["name", ...], ...}, ...}.
// Returns name -> class, empty if the file is absent.
std::map<std::string, std::string> reference_classes(std::map<std::string, size_t>& counts) {
  std::ifstream in(shared_dir() + "/reference/command-classes.json");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string json = ss.str();
  std::map<std::string, std::string> out;
  std::size_t pos = json.find("\"classes\"");
  if (pos == std::string::npos) {
    return out;
  }
  pos = json.find('{', pos);
  std::string cls, last;
  bool in_list = false;
  for (std::size_t i = pos + 1; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '"') {
      const std::size_t end = json.find('"', i + 1);
      last = json.substr(i + 1, end - i - 1);
      if (in_list) {
        out[last] = cls;
        ++counts[cls];
      }
      i = end;
    } else if (c == '[') {
      in_list = true;
      cls = last;
    } else if (c == ']') {
      in_list = false;
    } else if (c == '}') {
      break;
    }
  }
  return out;
}

CommandClass class_from_reference(const std::string& name) {
  static const std::map<std::string, CommandClass> kMap = {
      {"single-key", CommandClass::SingleKey},
      {"multi-key-splittable", CommandClass::MultiKey},
      {"multi-key-same-segment", CommandClass::SameSlot},
      {"keyless-broadcast", CommandClass::FleetWide},
      {"keyless-local", CommandClass::Local},
      {"connection", CommandClass::Connection},
      {"pubsub", CommandClass::PubSub},
      {"blocking", CommandClass::Blocking},
      {"transactions", CommandClass::Transaction},
      {"scripting", CommandClass::Scripting},
      {"admin-unsafe", CommandClass::Admin}};
  const auto it = kMap.find(name);
  REQUIRE_MESSAGE(it != kMap.end(), "unknown reference class " << name);
  return it->second;
}

}  // namespace

TEST_SUITE("CommandTable") {
  TEST_CASE("the built-in table has Redis 7.0's 240 top-level commands and 351 leaves") {
    const CommandTable& t = table();
    CHECK(t.top_level().size() == 240);
    size_t leaves = 0, containers = 0;
    for (const CommandInfo& c : t.entries()) {
      leaves += c.is_container ? 0 : 1;
      containers += c.is_container ? 1 : 0;
    }
    CHECK(leaves == 351);
    CHECK(containers == 15);
    CHECK(t.size() == 240 + 351 - 225);  // 225 top-level leaves + 126 subcommands
  }

  TEST_CASE("every leaf lands in the class command-classes.json gives it") {
    std::map<std::string, size_t> counts;
    const auto reference = reference_classes(counts);
    if (reference.empty()) {
      MESSAGE("skipped: no command-classes.json under " << shared_dir());
      return;
    }
    CHECK(reference.size() == 351);
    std::map<CommandClass, size_t> ours;
    for (const CommandInfo& c : table().entries()) {
      if (c.is_container) {
        continue;
      }
      ++ours[c.cls];
      const auto it = reference.find(c.name);
      REQUIRE_MESSAGE(it != reference.end(), c.name << " is missing from the reference");
      CHECK_MESSAGE(c.cls == class_from_reference(it->second),
                    c.name << ": got " << proxy::class_name(c.cls) << ", want " << it->second);
    }
    for (const auto& [name, n] : counts) {
      CHECK_MESSAGE(ours[class_from_reference(name)] == n, name);
    }
  }

  TEST_CASE("containers take the keyless class their subcommands share, else local") {
    CHECK(table().lookup(Args{"client"})->cls == CommandClass::Connection);
    CHECK(table().lookup(Args{"config"})->cls == CommandClass::Admin);
    CHECK(table().lookup(Args{"cluster"})->cls == CommandClass::Admin);
    CHECK(table().lookup(Args{"command"})->cls == CommandClass::Local);
    CHECK(table().lookup(Args{"script"})->cls == CommandClass::Scripting);
    CHECK(table().lookup(Args{"object"})->cls == CommandClass::Local);
    CHECK(table().lookup(Args{"memory"})->cls == CommandClass::Local);
  }

  TEST_CASE("flags, arity and merge kinds come through") {
    const CommandInfo* get = table().lookup(Args{"get", "k"});
    CHECK(get->is_readonly());
    CHECK_FALSE(get->is_write());
    CHECK(get->arity == 2);
    CHECK(get->arity_ok(2));
    CHECK_FALSE(get->arity_ok(3));
    CHECK(table().lookup(Args{"set"})->is_write());
    CHECK(table().lookup(Args{"del"})->arity_ok(5));
    CHECK_FALSE(table().lookup(Args{"del"})->arity_ok(1));
    CHECK((table().lookup(Args{"eval"})->flags & proxy::kFlagMovableKeys) != 0);
    CHECK(table().lookup(Args{"object", "encoding"})->arity == 3);
    CHECK(table().lookup(Args{"mget"})->merge == proxy::MergeKind::ValuesInKeyOrder);
    for (const char* n : {"del", "unlink", "exists", "touch"}) {
      CHECK(table().lookup(Args{n})->merge == proxy::MergeKind::SumIntegers);
      CHECK(table().lookup(Args{n})->key_step == 1);
    }
    CHECK(table().lookup(Args{"mset"})->merge == proxy::MergeKind::AllOk);
    CHECK(table().lookup(Args{"mset"})->key_step == 2);
    CHECK(table().lookup(Args{"msetnx"})->merge == proxy::MergeKind::None);
    CHECK(std::string(proxy::class_name(CommandClass::MultiKey)) == "multi-key");
    CHECK(std::string(proxy::class_name(CommandClass::FleetWide)) == "fleet-wide");
  }

  TEST_CASE("entries are the embedded COMMAND reply byte for byte") {
    std::string all = "*240\r\n";
    for (const CommandInfo* c : table().top_level()) {
      all += table().raw_entry(*c);
    }
    const std::string embedded(reinterpret_cast<const char*>(proxy::kCommandsFallback),
                               proxy::kCommandsFallbackSize);
    CHECK(all == embedded);
    const std::string_view sub = table().raw_entry(*table().lookup(Args{"object", "encoding"}));
    CHECK(sub.starts_with("*10\r\n$15\r\nobject|encoding\r\n:3\r\n"));
    CHECK(table().raw_entry(*table().lookup(Args{"object"})).find(sub) != std::string::npos);
  }

  TEST_CASE("lookup is case-insensitive and finds subcommands") {
    CHECK(table().lookup(Args{"GeT", "k"})->name == "get");
    CHECK(table().lookup(Args{"OBJECT", "Encoding", "k"})->name == "object|encoding");
    CHECK(table().lookup(Args{"client", "SETNAME", "x"})->name == "client|setname");
    CHECK(table().find("OBJECT|FREQ")->name == "object|freq");
    CHECK(table().find("get")->name == "get");
  }

  TEST_CASE("an unknown command or an empty line is not found") {
    CHECK(table().lookup(Args{"nosuchcommand"}) == nullptr);
    CHECK(table().lookup(Args{}) == nullptr);
    CHECK(table().lookup(Args{""}) == nullptr);
    CHECK(table().lookup(Args{std::string_view(std::string(500, 'a'))}) == nullptr);
    CHECK(table().find("get|x") == nullptr);
  }

  TEST_CASE("a container with an unknown or missing subcommand returns the container") {
    CHECK(table().lookup(Args{"object", "nosuch", "k"})->name == "object");
    CHECK(table().lookup(Args{"config"})->name == "config");
    CHECK(table().lookup(Args{"config", ""})->name == "config");
    CHECK(table().lookup(Args{"config", std::string_view(std::string(300, 'x'))})->name ==
          "config");
    // A subcommand is only looked up for containers: GET's argument is a key, never "get|k".
    CHECK(table().lookup(Args{"get", "help"})->name == "get");
  }

  TEST_CASE("key positions of single-key and splittable commands") {
    CHECK(keys({"GET", "k"}) == Positions{1});
    CHECK(keys({"SET", "k", "v", "EX", "10"}) == Positions{1});
    CHECK(keys({"MSET", "a", "1", "b", "2", "c", "3"}) == Positions{1, 3, 5});
    CHECK(keys({"MGET", "a", "b", "c"}) == Positions{1, 2, 3});
    CHECK(keys({"DEL", "a", "b"}) == Positions{1, 2});
    CHECK(keys({"BLPOP", "a", "b", "0"}) == Positions{1, 2});
    CHECK(keys({"OBJECT", "ENCODING", "k"}) == Positions{2});
    CHECK(keys({"XINFO", "STREAM", "s", "FULL"}) == Positions{2});
    CHECK(keys({"MEMORY", "USAGE", "k", "SAMPLES", "5"}) == Positions{2});
  }

  TEST_CASE("key positions of numkeys commands") {
    CHECK(keys({"EVAL", "return 1", "2", "k1", "k2", "a1"}) == Positions{3, 4});
    CHECK(keys({"EVAL", "return 1", "0", "a1"}).empty());
    CHECK(keys({"EVAL", "return 1", "0"}).empty());
    CHECK(keys({"FCALL", "f", "1", "k"}) == Positions{3});
    CHECK(keys({"ZUNIONSTORE", "dst", "2", "a", "b", "WEIGHTS", "1", "2"}) == Positions{1, 3, 4});
    CHECK(keys({"LMPOP", "2", "a", "b", "LEFT", "COUNT", "3"}) == Positions{2, 3});
    CHECK(keys({"BLMPOP", "0", "2", "a", "b", "LEFT"}) == Positions{3, 4});
    CHECK(keys({"SINTERCARD", "2", "a", "b", "LIMIT", "1"}) == Positions{2, 3});
    SUBCASE("bad numkeys is malformed") {
      keys({"EVAL", "return 1", "x", "k"}, false);
      keys({"EVAL", "return 1", "-1", "k"}, false);
      keys({"EVAL", "return 1", "01", "k"}, false);
      keys({"EVAL", "return 1", "3", "k1", "k2"}, false);
      keys({"EVAL", "return 1"}, false);
      keys({"ZUNIONSTORE", "dst", "5", "a"}, false);
    }
  }

  TEST_CASE("key positions after a keyword") {
    CHECK(keys({"XREAD", "COUNT", "2", "STREAMS", "k1", "k2", "0", "0"}) == Positions{4, 5});
    CHECK(keys({"xread", "block", "0", "streams", "k1", "$"}) == Positions{4});
    CHECK(keys({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "k1", "k2", ">", ">"}) ==
          Positions{5, 6});
    CHECK(keys({"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "BLOCK", "0", "NOACK", "STREAMS",
                "s", ">"}) == Positions{10});
    CHECK(keys({"GEORADIUS", "src", "0", "0", "1", "km", "STORE", "dst"}) == Positions{1, 7});
    CHECK(keys({"GEORADIUS", "src", "0", "0", "1", "km"}) == Positions{1});
    SUBCASE("unbalanced streams and ids are malformed") {
      keys({"XREAD", "STREAMS", "k1", "k2", "0"}, false);
    }
    SUBCASE("a missing STREAMS keyword contributes no keys") {
      CHECK(keys({"XREAD", "COUNT", "1"}).empty());
    }
  }

  TEST_CASE("key positions of MIGRATE follow its two specs") {
    CHECK(keys({"MIGRATE", "h", "6379", "k", "0", "5000"}) == Positions{3});
    CHECK(keys({"MIGRATE", "h", "6379", "", "0", "5000", "COPY", "KEYS", "a", "b"}) ==
          Positions{3, 8, 9});
  }

  TEST_CASE("SORT keys are the sorted key and the STORE destination") {
    CHECK(keys({"SORT", "k"}) == Positions{1});
    CHECK(keys({"SORT", "k", "BY", "store", "LIMIT", "0", "10", "GET", "#", "STORE", "dst"}) ==
          Positions{1, 10});
    CHECK(keys({"SORT", "k", "ALPHA", "store", "d"}) == Positions{1, 4});
    CHECK(keys({"SORT_RO", "k", "BY", "w_*"}) == Positions{1});
  }

  TEST_CASE("SPUBLISH and SSUBSCRIBE channels are not keys") {
    CHECK(keys({"SPUBLISH", "ch", "msg"}).empty());
    CHECK(keys({"SSUBSCRIBE", "a", "b"}).empty());
    CHECK(keys({"PING"}).empty());
  }

  TEST_CASE("malformed arguments fail and leave the output as it was") {
    std::vector<uint32_t> out = {7};
    out.reserve(16);
    const uint32_t* data = out.data();
    const Args mset_odd = {"MSET", "a", "1", "b"};
    CHECK_FALSE(table().key_positions(*table().lookup(mset_odd), mset_odd, out));
    CHECK(out == Positions{7});
    const Args get_no_key = {"GET"};
    CHECK_FALSE(table().key_positions(*table().lookup(get_no_key), get_no_key, out));
    const Args del = {"DEL", "a", "b"};
    CHECK(table().key_positions(*table().lookup(del), del, out));
    CHECK(out == Positions{7, 1, 2});  // appends
    CHECK(out.data() == data);         // and reuses the capacity it was given
  }

  TEST_CASE("from_command_reply rejects what is not a COMMAND reply") {
    const std::string embedded(reinterpret_cast<const char*>(proxy::kCommandsFallback),
                               proxy::kCommandsFallbackSize);
    for (const std::string& bad :
         {std::string(), std::string("garbage"), std::string("+OK\r\n"),
          std::string("-ERR unknown command 'COMMAND'\r\n"), std::string("*0\r\n"),
          std::string("*1\r\n:1\r\n"), std::string("*1\r\n*2\r\n$3\r\nget\r\n:2\r\n"),
          embedded.substr(0, embedded.size() / 2), embedded + "+OK\r\n",
          std::string("*1\r\n%1\r\n")}) {
      CAPTURE(bad.substr(0, 40));
      const auto t = CommandTable::from_command_reply(bad);
      CHECK_FALSE(t.is_ok());
      CHECK(t.status().code() == proxy::Code::InvalidArgument);
    }
  }

  TEST_CASE("from_command_reply accepts the embedded reply and refuses Redis 6 entries") {
    const std::string_view embedded(reinterpret_cast<const char*>(proxy::kCommandsFallback),
                                    proxy::kCommandsFallbackSize);
    const auto t = CommandTable::from_command_reply(embedded);
    REQUIRE(t.is_ok());
    CHECK(t->size() == table().size());
    // Redis 6 has no tips or key specs, so the classes could not be derived: the caller falls
    // back to the built-in table.
    const std::string v6 =
        "*1\r\n"
        "*7\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        "*3\r\n+@read\r\n+@string\r\n+@fast\r\n";
    CHECK_FALSE(CommandTable::from_command_reply(v6).is_ok());
  }

  TEST_CASE("a minimal Redis 7 reply builds a working table") {
    const std::string reply =
        "*1\r\n*10\r\n$3\r\nGET\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n"
        "*1\r\n+@read\r\n*0\r\n"
        "*1\r\n*6\r\n$5\r\nflags\r\n*1\r\n$2\r\nRO\r\n"
        "$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n"
        "*2\r\n$5\r\nindex\r\n:1\r\n"
        "$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n"
        "*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n"
        "*0\r\n";
    const auto t = CommandTable::from_command_reply(reply);
    REQUIRE(t.is_ok());
    const Args get = {"get", "k"};
    REQUIRE(t->lookup(get) != nullptr);
    CHECK(t->lookup(get)->name == "get");  // names are lower-cased
    CHECK(t->lookup(get)->cls == CommandClass::SingleKey);
    CHECK_FALSE(t->lookup(get)->is_container);
    std::vector<uint32_t> out;
    CHECK(t->key_positions(*t->lookup(get), get, out));
    CHECK(out == Positions{1});
    CHECK("*1\r\n" + std::string(t->raw_entry(*t->lookup(get))) == reply);
  }
}
