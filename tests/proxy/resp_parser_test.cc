// Tests for RespParser: multibulk and inline framing, every Redis 7.0 protocol error text,
// limits, empty-command skipping, and the incremental contract (moving buffers, every split
// point, linear work on large bulks).
#include "proxy/resp_parser.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

namespace {

using proxy::Command;
using proxy::ParserLimits;
using proxy::ParseStatus;
using proxy::RespParser;

using Args = std::vector<std::string>;

struct Outcome {
  std::vector<Args> commands;
  std::vector<size_t> wire_bytes;
  std::vector<bool> inline_forms;
  ParseStatus last = ParseStatus::NeedMore;
  std::string error;
  size_t left = 0;  // bytes the caller still holds at the end
};

// Feeds `input` the way a Session does: reads of `chunk` bytes appended to a buffer that is
// reallocated (moved) on every read, consuming after each Ok. chunk 0 means all at once.
Outcome feed(const std::string& input, size_t chunk, ParserLimits limits = {}) {
  RespParser parser(limits);
  Outcome o;
  Command cmd;
  std::string pending;  // unconsumed bytes
  size_t fed = 0;
  if (chunk == 0) {
    chunk = input.size() + 1;
  }
  while (true) {
    size_t consumed = 0;
    // A fresh heap block of exactly the bytes given, each call: a parser that kept a pointer
    // or read one byte too far would trip ASan.
    std::unique_ptr<char[]> buf(new char[pending.size()]);
    pending.copy(buf.get(), pending.size());
    ParseStatus st = parser.parse(buf.get(), pending.size(), cmd, consumed);
    o.last = st;
    if (st == ParseStatus::Ok) {
      REQUIRE(consumed > 0);
      REQUIRE(consumed <= pending.size());
      REQUIRE(cmd.wire_bytes <= consumed);
      Args a;
      for (auto v : cmd.args) {
        a.emplace_back(v);
      }
      o.commands.push_back(a);
      o.wire_bytes.push_back(cmd.wire_bytes);
      o.inline_forms.push_back(cmd.inline_form);
      pending.erase(0, consumed);
      continue;
    }
    REQUIRE(consumed == 0);
    if (st == ParseStatus::Error) {
      o.error = parser.error_message();
      break;
    }
    if (fed == input.size()) {
      break;
    }
    size_t n = std::min(chunk, input.size() - fed);
    pending.append(input, fed, n);
    fed += n;
  }
  o.left = pending.size();
  return o;
}

std::string multibulk(const Args& args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  }
  return s;
}

// Parses one complete input in a single call; the outcome's error if it fails.
std::string error_of(const std::string& input, ParserLimits limits = {}) {
  Outcome o = feed(input, 0, limits);
  REQUIRE(o.last == ParseStatus::Error);
  return o.error;
}

Args parse_inline(const std::string& line) {
  Outcome o = feed(line, 0);
  REQUIRE(o.commands.size() == 1);
  CHECK(o.inline_forms[0]);
  return o.commands[0];
}

}  // namespace

TEST_SUITE("RespParser") {
  TEST_CASE("parses a multibulk SET into views over the caller's bytes") {
    std::string in = multibulk({"SET", "key", "value"});
    RespParser p;
    Command cmd;
    size_t consumed = 0;
    REQUIRE(p.parse(in.data(), in.size(), cmd, consumed) == ParseStatus::Ok);
    CHECK(consumed == in.size());
    CHECK(cmd.wire_bytes == in.size());
    CHECK_FALSE(cmd.inline_form);
    REQUIRE(cmd.args.size() == 3);
    CHECK(cmd.args[0] == "SET");
    CHECK(cmd.args[1] == "key");
    CHECK(cmd.args[2] == "value");
    for (auto a : cmd.args) {
      CHECK(a.data() >= in.data());
      CHECK(a.data() + a.size() <= in.data() + in.size());
    }
  }

  TEST_CASE("yields pipelined commands one per call") {
    std::string in = multibulk({"GET", "a"}) + multibulk({"GET", "b"}) + "PING\r\n";
    Outcome o = feed(in, 0);
    REQUIRE(o.commands.size() == 3);
    CHECK(o.commands[0] == Args{"GET", "a"});
    CHECK(o.commands[1] == Args{"GET", "b"});
    CHECK(o.commands[2] == Args{"PING"});
    CHECK(o.inline_forms == std::vector<bool>{false, false, true});
    CHECK(o.last == ParseStatus::NeedMore);
    CHECK(o.left == 0);
  }

  TEST_CASE("gives the same commands at every split point of a stream") {
    std::string in = multibulk({"SET", "k", std::string("a\r\nb\0c", 6)}) + "*0\r\n" +
                     "get  \"x y\" 'z'\r\n" + "\r\n" + multibulk({"", "MGET", "k1", "k2"}) +
                     "*-1\r\n" + "PING\n" + multibulk({"ECHO", std::string(300, 'v')});
    Outcome whole = feed(in, 0);
    REQUIRE(whole.commands.size() == 5);
    CHECK(whole.left == 0);
    SUBCASE("one byte at a time") {
      Outcome o = feed(in, 1);
      CHECK(o.commands == whole.commands);
      CHECK(o.wire_bytes == whole.wire_bytes);
      CHECK(o.left == 0);
    }
    SUBCASE("two pieces, split at every offset") {
      for (size_t cut = 0; cut <= in.size(); ++cut) {
        RespParser p;
        Command cmd;
        std::vector<Args> got;
        std::string buf = in.substr(0, cut);
        size_t fed = cut;
        for (;;) {
          size_t consumed = 0;
          ParseStatus st = p.parse(buf.data(), buf.size(), cmd, consumed);
          REQUIRE(st != ParseStatus::Error);
          if (st == ParseStatus::Ok) {
            got.emplace_back(cmd.args.begin(), cmd.args.end());
            buf.erase(0, consumed);
          } else if (fed < in.size()) {
            buf += in.substr(fed);
            fed = in.size();
          } else {
            break;
          }
        }
        CHECK_MESSAGE(got == whole.commands, "cut at ", cut);
      }
    }
    SUBCASE("odd chunk sizes") {
      for (size_t chunk : {2, 3, 5, 7, 13, 64}) {
        CHECK(feed(in, chunk).commands == whole.commands);
      }
    }
  }

  TEST_CASE("accepts binary payloads and empty arguments") {
    std::string bin("\0\r\n$*\xff", 6);
    Outcome o = feed(multibulk({"SET", "", bin}), 0);
    REQUIRE(o.commands.size() == 1);
    CHECK(o.commands[0] == Args{"SET", "", bin});
  }

  TEST_CASE("skips empty multibulk commands silently") {
    SUBCASE("before a command, consumed with it but not counted in wire_bytes") {
      std::string cmd = multibulk({"PING"});
      std::string in = "*0\r\n*-1\r\n*-7\r\n" + cmd;
      RespParser p;
      Command c;
      size_t consumed = 0;
      REQUIRE(p.parse(in.data(), in.size(), c, consumed) == ParseStatus::Ok);
      CHECK(consumed == in.size());
      CHECK(c.wire_bytes == cmd.size());
      CHECK(c.args.size() == 1);
    }
    SUBCASE("alone: NeedMore, and the bytes go with the next command") {
      std::string in = "*0\r\n";
      RespParser p;
      Command c;
      size_t consumed = 7;
      CHECK(p.parse(in.data(), in.size(), c, consumed) == ParseStatus::NeedMore);
      CHECK(consumed == 0);
      in += "PING\r\n";
      REQUIRE(p.parse(in.data(), in.size(), c, consumed) == ParseStatus::Ok);
      CHECK(consumed == in.size());
      CHECK(c.wire_bytes == 6);
      CHECK(c.inline_form);
    }
  }

  TEST_CASE("reports Redis's error for a bad multibulk count") {
    const std::string msg = "ERR Protocol error: invalid multibulk length";
    SUBCASE("not a number") { CHECK(error_of("*abc\r\n") == msg); }
    SUBCASE("trailing garbage") { CHECK(error_of("*1x\r\n") == msg); }
    SUBCASE("empty") { CHECK(error_of("*\r\n") == msg); }
    SUBCASE("leading zero") { CHECK(error_of("*01\r\n") == msg); }
    SUBCASE("plus sign") { CHECK(error_of("*+1\r\n") == msg); }
    SUBCASE("minus zero") { CHECK(error_of("*-0\r\n") == msg); }
    SUBCASE("space") { CHECK(error_of("* 1\r\n") == msg); }
    SUBCASE("overflows int64") { CHECK(error_of("*99999999999999999999\r\n") == msg); }
    SUBCASE("CR not followed by LF") { CHECK(error_of("*1\rX$1\r\na\r\n") == msg); }
    SUBCASE("over max_arguments") {
      ParserLimits l;
      l.max_arguments = 3;
      CHECK(error_of("*4\r\n", l) == msg);
      CHECK(feed(multibulk({"a", "b", "c"}), 0, l).commands.size() == 1);
    }
    SUBCASE("over the default of 1M arguments") { CHECK(error_of("*1048577\r\n") == msg); }
  }

  TEST_CASE("reports Redis's error for a bad bulk length") {
    const std::string msg = "ERR Protocol error: invalid bulk length";
    SUBCASE("negative") { CHECK(error_of("*1\r\n$-1\r\n") == msg); }
    SUBCASE("not a number") { CHECK(error_of("*1\r\n$x\r\n") == msg); }
    SUBCASE("empty") { CHECK(error_of("*1\r\n$\r\n") == msg); }
    SUBCASE("CR not followed by LF") { CHECK(error_of("*1\r\n$1\rXa\r\n") == msg); }
    SUBCASE("over max_bulk_length") {
      ParserLimits l;
      l.max_bulk_length = 10;
      CHECK(error_of("*1\r\n$11\r\n", l) == msg);
      CHECK(feed(multibulk({std::string(10, 'x')}), 0, l).commands.size() == 1);
    }
    SUBCASE("over the default 512 MB") { CHECK(error_of("*1\r\n$536870913\r\n") == msg); }
    SUBCASE("payload not followed by CRLF") {
      CHECK(error_of("*1\r\n$3\r\nfooXY") == msg);
      CHECK(error_of("*1\r\n$3\r\nfoo\rX") == msg);
      CHECK(error_of("*1\r\n$3\r\nfoo\n\r") == msg);
    }
  }

  TEST_CASE("reports the byte found where a '$' was expected, once its line is complete") {
    CHECK(error_of("*1\r\nx3\r\n") == "ERR Protocol error: expected '$', got 'x'");
    CHECK(error_of("*2\r\n$1\r\na\r\n:1\r\n") == "ERR Protocol error: expected '$', got ':'");
    CHECK(error_of("*1\r\n\r\n") == "ERR Protocol error: expected '$', got ' '");
    Outcome partial = feed("*1\r\nx3", 0);
    CHECK(partial.last == ParseStatus::NeedMore);
  }

  TEST_CASE("bounds the header lines like PROTO_INLINE_MAX_SIZE") {
    ParserLimits l;
    l.max_inline_length = 16;
    SUBCASE("count line without CR") {
      CHECK(error_of("*" + std::string(16, '1'), l) ==
            "ERR Protocol error: too big mbulk count string");
      CHECK(feed("*" + std::string(15, '1'), 0, l).last == ParseStatus::NeedMore);
    }
    SUBCASE("bulk length line without CR") {
      CHECK(error_of("*1\r\n$" + std::string(16, '1'), l) ==
            "ERR Protocol error: too big bulk count string");
      CHECK(feed("*1\r\n$" + std::string(15, '1'), 0, l).last == ParseStatus::NeedMore);
    }
    SUBCASE("default limit, arriving in small reads") {
      std::string in = "*" + std::string(64 * 1024, '9');
      CHECK(feed(in, 1000).error == "ERR Protocol error: too big mbulk count string");
    }
  }

  TEST_CASE("reads header numbers the same on the fast and the general path") {
    SUBCASE("leading zeros and long numbers are refused") {
      CHECK(error_of("*1\r\n$01\r\na\r\n") == "ERR Protocol error: invalid bulk length");
      CHECK(error_of("*1\r\n$1000000000000000000\r\n") ==
            "ERR Protocol error: invalid bulk length");
      CHECK(error_of("*1000000000000000000\r\n") == "ERR Protocol error: invalid multibulk length");
    }
    SUBCASE("the line limit applies to short, well-formed lines too") {
      ParserLimits l;
      l.max_inline_length = 2;
      CHECK(feed("*1\r\n$1\r\na\r\n", 0, l).commands.size() == 1);
      CHECK(error_of("*10\r\n", l) == "ERR Protocol error: too big mbulk count string");
      CHECK(error_of("*1\r\n$10\r\n", l) == "ERR Protocol error: too big bulk count string");
    }
    SUBCASE("a header split inside its digits") {
      Outcome o = feed(multibulk({std::string(123456, 'x')}), 3);
      REQUIRE(o.commands.size() == 1);
      CHECK(o.commands[0][0].size() == 123456);
    }
  }

  TEST_CASE("splits inline commands like sdssplitargs") {
    SUBCASE("plain words, CRLF or LF") {
      CHECK(parse_inline("PING\r\n") == Args{"PING"});
      CHECK(parse_inline("set a b\n") == Args{"set", "a", "b"});
      CHECK(parse_inline("  get \t  key \t\r\n") == Args{"get", "key"});
    }
    SUBCASE("double quotes with every escape") {
      CHECK(parse_inline("set \"a b\" \"c\\\"d\"\r\n") == Args{"set", "a b", "c\"d"});
      CHECK(parse_inline("x \"\\n\\r\\t\\b\\a\\\\\\q\"\n") ==
            Args{"x", std::string("\n\r\t\b\a\\q")});
      CHECK(parse_inline("x \"\\x41\\x7a\\xFF\\x00\"\n") == Args{"x", std::string("Az\xff\0", 4)});
      CHECK(parse_inline("x \"\\xZZ\\x4\"\n") == Args{"x", "xZZx4"});
    }
    SUBCASE("single quotes only unescape \\'") {
      CHECK(parse_inline("x 'it\\'s' '\\n'\n") == Args{"x", "it's", "\\n"});
    }
    SUBCASE("empty quoted arguments") { CHECK(parse_inline("x \"\" ''\n") == Args{"x", "", ""}); }
    SUBCASE("a quote may open mid-argument") {
      CHECK(parse_inline("ab\"c d\" e\n") == Args{"abc d", "e"});
    }
    SUBCASE("a quote closing at the end of the line") {
      CHECK(parse_inline("get \"k\"\r\n") == Args{"get", "k"});
    }
    SUBCASE("only one CR is stripped; another one separates") {
      CHECK(parse_inline("PING\r\r\n") == Args{"PING"});
      CHECK(parse_inline("a\rb\n") == Args{"a", "b"});
    }
    SUBCASE("vertical tab and form feed skip as blanks but do not end an argument") {
      CHECK(parse_inline("\va\vb\f c\n") == Args{"a\vb\f", "c"});
    }
    SUBCASE("a NUL byte ends the line, as in Redis's C string") {
      CHECK(parse_inline(std::string("GET a\0b c\n", 10)) == Args{"GET", "a"});
    }
  }

  TEST_CASE("points unquoted inline arguments into the caller's bytes, quoted ones elsewhere") {
    std::string in = "set plain \"quoted\"\r\n";
    RespParser p;
    Command c;
    size_t consumed = 0;
    REQUIRE(p.parse(in.data(), in.size(), c, consumed) == ParseStatus::Ok);
    REQUIRE(c.args.size() == 3);
    CHECK(c.args[1].data() == in.data() + 4);
    CHECK(c.args[2] == "quoted");
    bool inside = c.args[2].data() >= in.data() && c.args[2].data() < in.data() + in.size();
    CHECK_FALSE(inside);
  }

  TEST_CASE("skips blank inline lines silently") {
    Outcome o = feed("\r\n   \n\n\t\r\nPING\n", 0);
    REQUIRE(o.commands.size() == 1);
    CHECK(o.commands[0] == Args{"PING"});
    CHECK(o.wire_bytes[0] == 5);
    CHECK(feed("\r\n\r\n", 0).commands.empty());
    CHECK(feed("\r\n\r\n", 0).last == ParseStatus::NeedMore);
  }

  TEST_CASE("reports unbalanced quotes") {
    const std::string msg = "ERR Protocol error: unbalanced quotes in request";
    SUBCASE("unterminated double quote") { CHECK(error_of("get \"abc\r\n") == msg); }
    SUBCASE("unterminated single quote") { CHECK(error_of("get 'abc\n") == msg); }
    SUBCASE("backslash before the end") { CHECK(error_of("get \"abc\\\n") == msg); }
    SUBCASE("closing double quote followed by a letter") { CHECK(error_of("\"a\"b\n") == msg); }
    SUBCASE("closing single quote followed by a letter") { CHECK(error_of("'a'b\n") == msg); }
    SUBCASE("NUL inside quotes") { CHECK(error_of(std::string("\"a\0\"\n", 5)) == msg); }
  }

  TEST_CASE("bounds inline lines by max_inline_length") {
    ParserLimits l;
    l.max_inline_length = 10;
    const std::string msg = "ERR Protocol error: too big inline request";
    SUBCASE("exactly the limit, with or without CR") {
      CHECK(feed(std::string(10, 'a') + "\n", 0, l).commands.size() == 1);
      CHECK(feed(std::string(9, 'a') + "\r\n", 0, l).commands.size() == 1);
    }
    SUBCASE("one over, newline present") { CHECK(error_of(std::string(11, 'a') + "\n", l) == msg); }
    SUBCASE("over without a newline; at the limit it waits") {
      CHECK(error_of(std::string(11, 'a'), l) == msg);
      CHECK(feed(std::string(10, 'a'), 0, l).last == ParseStatus::NeedMore);
    }
    SUBCASE("the same outcome in small reads") {
      CHECK(feed(std::string(11, 'a') + "\n", 3, l).error == msg);
      CHECK(feed(std::string(10, 'a') + "\nPING\n", 3, l).commands.size() == 2);
    }
    SUBCASE("default 64 KB") { CHECK(error_of(std::string(64 * 1024 + 1, 'a')) == msg); }
  }

  TEST_CASE("stays failed until reset") {
    RespParser p;
    Command c;
    size_t consumed = 0;
    std::string bad = "*x\r\n";
    REQUIRE(p.parse(bad.data(), bad.size(), c, consumed) == ParseStatus::Error);
    std::string good = "PING\r\n";
    CHECK(p.parse(good.data(), good.size(), c, consumed) == ParseStatus::Error);
    CHECK(p.error_message() == "ERR Protocol error: invalid multibulk length");
    p.reset();
    CHECK(p.error_message().empty());
    CHECK(p.parse(good.data(), good.size(), c, consumed) == ParseStatus::Ok);
  }

  TEST_CASE("reset forgets a partial command") {
    RespParser p;
    Command c;
    size_t consumed = 0;
    std::string part = "*2\r\n$3\r\nGET\r\n";
    CHECK(p.parse(part.data(), part.size(), c, consumed) == ParseStatus::NeedMore);
    p.reset();
    std::string in = multibulk({"PING"});
    REQUIRE(p.parse(in.data(), in.size(), c, consumed) == ParseStatus::Ok);
    CHECK(c.args.size() == 1);
  }

  TEST_CASE("says how many bytes a partial bulk still needs") {
    RespParser p;
    Command c;
    size_t consumed = 0;
    std::string in = "*2\r\n$3\r\nGET\r\n$10\r\nab";
    CHECK(p.bytes_wanted() == 0);
    REQUIRE(p.parse(in.data(), in.size(), c, consumed) == ParseStatus::NeedMore);
    CHECK(p.bytes_wanted() == 10);  // 8 payload bytes + CRLF
    in += "cdefghij\r";
    REQUIRE(p.parse(in.data(), in.size(), c, consumed) == ParseStatus::NeedMore);
    CHECK(p.bytes_wanted() == 1);
    in += "\n";
    REQUIRE(p.parse(in.data(), in.size(), c, consumed) == ParseStatus::Ok);
    CHECK(p.bytes_wanted() == 0);
  }

  TEST_CASE("takes a 64 MB bulk in 16 KB reads without rescanning it") {
    const size_t big = 64u << 20;
    std::string in = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + std::to_string(big) + "\r\n";
    size_t header = in.size();
    in.resize(header + big + 2, 'z');
    in[in.size() - 2] = '\r';
    in[in.size() - 1] = '\n';
    RespParser p;
    Command c;
    size_t consumed = 0;
    size_t calls = 0;
    ParseStatus st = ParseStatus::NeedMore;
    for (size_t have = 16384; st == ParseStatus::NeedMore; have += 16384) {
      have = std::min(have, in.size());
      st = p.parse(in.data(), have, c, consumed);
      ++calls;
      if (st == ParseStatus::NeedMore) {
        CHECK(p.bytes_wanted() == in.size() - have);
      }
    }
    REQUIRE(st == ParseStatus::Ok);
    CHECK(consumed == in.size());
    CHECK(c.args[2].size() == big);
    CHECK(c.args[2].data() == in.data() + header);
    CHECK(calls == (in.size() + 16383) / 16384);
  }

  TEST_CASE("keeps the args vector's capacity between commands") {
    std::string in = multibulk({"MSET", "a", "1", "b", "2"}) + multibulk({"GET", "a"});
    RespParser p;
    Command c;
    size_t consumed = 0;
    REQUIRE(p.parse(in.data(), in.size(), c, consumed) == ParseStatus::Ok);
    size_t cap = c.args.capacity();
    const char* rest = in.data() + consumed;
    REQUIRE(p.parse(rest, in.size() - consumed, c, consumed) == ParseStatus::Ok);
    CHECK(c.args.size() == 2);
    CHECK(c.args.capacity() == cap);
  }

  TEST_CASE("survives a caller that passes fewer bytes than before") {
    std::string in = multibulk({"GET", "key"});
    RespParser p;
    Command c;
    size_t consumed = 0;
    REQUIRE(p.parse(in.data(), in.size() - 3, c, consumed) == ParseStatus::NeedMore);
    CHECK(p.parse(in.data(), 5, c, consumed) == ParseStatus::NeedMore);
    REQUIRE(p.parse(in.data(), in.size(), c, consumed) == ParseStatus::Ok);
    CHECK(c.args[1] == "key");
  }
}
