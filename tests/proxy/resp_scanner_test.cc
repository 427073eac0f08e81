// Tests for RespScanner and the reply decoders: every RESP2/RESP3 type, nesting and its limit,
// attributes, streamed types rejected, every split point of a reply stream, and the merge
// helpers (integers, strings, nulls, aggregate splitting).
#include "proxy/resp_scanner.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

namespace {

using proxy::RespScanner;
using proxy::ScanStatus;

struct ScanOutcome {
  std::vector<size_t> lengths;
  ScanStatus last = ScanStatus::NeedMore;
  size_t left = 0;
};

// Feeds `input` in `chunk`-byte reads (0: all at once) through a buffer that moves on every
// read, consuming each complete reply, like a BackendLink.
ScanOutcome scan_all(const std::string& input, size_t chunk, uint64_t max_bulk = 1ull << 32,
                     uint32_t max_depth = 128) {
  RespScanner s(max_bulk, max_depth);
  ScanOutcome o;
  std::string pending;
  size_t fed = 0;
  if (chunk == 0) {
    chunk = input.size() + 1;
  }
  for (;;) {
    std::unique_ptr<char[]> buf(new char[pending.size()]);
    pending.copy(buf.get(), pending.size());
    size_t n = 0;
    ScanStatus st = s.scan(buf.get(), pending.size(), n);
    o.last = st;
    if (st == ScanStatus::Complete) {
      REQUIRE(n > 0);
      REQUIRE(n <= pending.size());
      o.lengths.push_back(n);
      pending.erase(0, n);
      continue;
    }
    if (st == ScanStatus::Error || fed == input.size()) {
      break;
    }
    size_t k = std::min(chunk, input.size() - fed);
    pending.append(input, fed, k);
    fed += k;
  }
  o.left = pending.size();
  return o;
}

// The whole input is exactly one reply.
bool is_one_reply(const std::string& reply) {
  ScanOutcome o = scan_all(reply, 0);
  return o.lengths.size() == 1 && o.lengths[0] == reply.size() && o.left == 0;
}

bool is_error(const std::string& input) { return scan_all(input, 0).last == ScanStatus::Error; }

}  // namespace

TEST_SUITE("RespScanner") {
  TEST_CASE("finds the end of every RESP2 reply type") {
    CHECK(is_one_reply("+OK\r\n"));
    CHECK(is_one_reply("+\r\n"));
    CHECK(is_one_reply("-ERR unknown command 'x'\r\n"));
    CHECK(is_one_reply(":0\r\n"));
    CHECK(is_one_reply(":-9223372036854775808\r\n"));
    CHECK(is_one_reply("$3\r\nfoo\r\n"));
    CHECK(is_one_reply("$0\r\n\r\n"));
    CHECK(is_one_reply("$-1\r\n"));
    CHECK(is_one_reply(std::string("$5\r\na\r\n\0b\r\n", 11)));
    CHECK(is_one_reply("*-1\r\n"));
    CHECK(is_one_reply("*0\r\n"));
    CHECK(is_one_reply("*3\r\n$1\r\na\r\n$-1\r\n:7\r\n"));
  }

  TEST_CASE("finds the end of every RESP3 reply type") {
    CHECK(is_one_reply("_\r\n"));
    CHECK(is_one_reply(",3.14\r\n"));
    CHECK(is_one_reply(",-inf\r\n"));
    CHECK(is_one_reply("#t\r\n"));
    CHECK(is_one_reply("#f\r\n"));
    CHECK(is_one_reply("!21\r\nSYNTAX invalid syntax\r\n"));
    CHECK(is_one_reply("=15\r\ntxt:Some string\r\n"));
    CHECK(is_one_reply("(3492890328409238509324850943850943825024385\r\n"));
    CHECK(is_one_reply("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n"));
    CHECK(is_one_reply("%0\r\n"));
    CHECK(is_one_reply("~3\r\n+a\r\n+b\r\n+c\r\n"));
    CHECK(is_one_reply(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"));
  }

  TEST_CASE("counts an attribute as part of the value it annotates") {
    std::string attr = "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.19\r\n$1\r\nb\r\n,0.05\r\n";
    std::string value = "*2\r\n:2039123\r\n:9543892\r\n";
    CHECK(is_one_reply(attr + value));
    SUBCASE("inside an aggregate") {
      CHECK(is_one_reply("*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n+v\r\n"));
    }
    SUBCASE("an empty attribute") { CHECK(is_one_reply("|0\r\n+OK\r\n")); }
    SUBCASE("an attribute alone is not yet a reply") {
      CHECK(scan_all(attr, 0).last == ScanStatus::NeedMore);
    }
  }

  TEST_CASE("handles nested aggregates") {
    std::string r = "*3\r\n*2\r\n*0\r\n*1\r\n:1\r\n%1\r\n~1\r\n+k\r\n*-1\r\n$2\r\nhi\r\n";
    CHECK(is_one_reply(r));
    std::string deep;
    for (int i = 0; i < 100; ++i) {
      deep += "*1\r\n";
    }
    deep += ":1\r\n";
    CHECK(is_one_reply(deep));
  }

  TEST_CASE("enforces max_depth") {
    std::string three = "*1\r\n*1\r\n*1\r\n:1\r\n";
    CHECK(scan_all(three, 0, 1ull << 32, 3).lengths.size() == 1);
    CHECK(scan_all(three, 0, 1ull << 32, 2).last == ScanStatus::Error);
    CHECK(scan_all("|1\r\n+a\r\n+b\r\n*1\r\n:1\r\n", 0, 1ull << 32, 1).lengths.size() == 1);
    CHECK(scan_all("*1\r\n|1\r\n+a\r\n+b\r\n:1\r\n", 0, 1ull << 32, 1).last == ScanStatus::Error);
  }

  TEST_CASE("returns pipelined replies one per call") {
    std::string in = "+OK\r\n$3\r\nbar\r\n*2\r\n:1\r\n:2\r\n:5";
    ScanOutcome o = scan_all(in, 0);
    CHECK(o.lengths == std::vector<size_t>{5, 9, 12});
    CHECK(o.last == ScanStatus::NeedMore);
    CHECK(o.left == 2);
  }

  TEST_CASE("finds the same boundaries at every split point") {
    std::string in =
        "+OK\r\n"
        "*3\r\n$3\r\nfoo\r\n$-1\r\n%1\r\n+k\r\n~1\r\n#t\r\n"
        "$17\r\n0123456789\r\n\r\n789\r\n"
        ":42\r\n"
        "|1\r\n+a\r\n+b\r\n>2\r\n+x\r\n_\r\n"
        "-ERR x\r\n"
        "=8\r\ntxt:abcd\r\n"
        ",1.5\r\n"
        "(12\r\n"
        "*-1\r\n";
    ScanOutcome whole = scan_all(in, 0);
    REQUIRE(whole.lengths.size() == 10);
    REQUIRE(whole.left == 0);
    SUBCASE("one byte at a time") { CHECK(scan_all(in, 1).lengths == whole.lengths); }
    SUBCASE("two pieces, split at every offset") {
      for (size_t cut = 0; cut <= in.size(); ++cut) {
        RespScanner s;
        std::string buf = in.substr(0, cut);
        bool rest_fed = false;
        std::vector<size_t> got;
        for (;;) {
          size_t n = 0;
          ScanStatus st = s.scan(buf.data(), buf.size(), n);
          REQUIRE(st != ScanStatus::Error);
          if (st == ScanStatus::Complete) {
            got.push_back(n);
            buf.erase(0, n);
          } else if (!rest_fed) {
            buf += in.substr(cut);
            rest_fed = true;
          } else {
            break;
          }
        }
        CHECK_MESSAGE(got == whole.lengths, "cut at ", cut);
      }
    }
    SUBCASE("odd chunk sizes") {
      for (size_t chunk : {2, 3, 5, 7, 11, 64}) {
        CHECK(scan_all(in, chunk).lengths == whole.lengths);
      }
    }
  }

  TEST_CASE("rejects streamed types, unknown bytes and malformed lines") {
    SUBCASE("streamed") {
      CHECK(is_error("$?\r\n;4\r\nHell\r\n;0\r\n"));
      CHECK(is_error("*?\r\n:1\r\n.\r\n"));
      CHECK(is_error("%?\r\n"));
      CHECK(is_error(";4\r\nHell\r\n"));
    }
    SUBCASE("unknown type byte, checked before the line is complete") {
      CHECK(is_error("x"));
      CHECK(is_error("\r\n"));
      CHECK(is_error("*1\r\n@"));
    }
    SUBCASE("lines") {
      CHECK(is_error("+OK\rX"));
      CHECK(is_error(":abc\r\n"));
      CHECK(is_error(":\r\n"));
      CHECK(is_error(":01\r\n"));
      CHECK(is_error("_x\r\n"));
      CHECK(is_error("#x\r\n"));
      CHECK(is_error("#\r\n"));
      CHECK(is_error(",\r\n"));
      CHECK(is_error("(\r\n"));
    }
    SUBCASE("lengths and counts") {
      CHECK(is_error("$-2\r\n"));
      CHECK(is_error("!-1\r\n"));
      CHECK(is_error("*-2\r\n"));
      CHECK(is_error("~-1\r\n"));
      CHECK(is_error("$x\r\n"));
      CHECK(is_error("*1x\r\n"));
      CHECK(is_error("%1152921504606846977\r\n"));
    }
    SUBCASE("bulk payload not followed by CRLF") {
      CHECK(is_error("$3\r\nfooXY"));
      CHECK(is_error("$3\r\nfoo\r\r"));
    }
    SUBCASE("bulk over max_bulk_length") {
      CHECK(scan_all("$11\r\n", 0, 10).last == ScanStatus::Error);
      CHECK(scan_all("$10\r\n0123456789\r\n", 0, 10).lengths.size() == 1);
    }
  }

  TEST_CASE("stays failed until reset") {
    RespScanner s;
    size_t n = 0;
    std::string bad = "?\r\n";
    REQUIRE(s.scan(bad.data(), bad.size(), n) == ScanStatus::Error);
    std::string good = "+OK\r\n";
    CHECK(s.scan(good.data(), good.size(), n) == ScanStatus::Error);
    s.reset();
    CHECK(s.scan(good.data(), good.size(), n) == ScanStatus::Complete);
    CHECK(n == 5);
  }

  TEST_CASE("says how many bytes a partial bulk still needs") {
    RespScanner s;
    size_t n = 0;
    std::string in = "*2\r\n$10\r\n0123";
    REQUIRE(s.scan(in.data(), in.size(), n) == ScanStatus::NeedMore);
    CHECK(s.bytes_wanted() == 8);
    in += "456789\r\n:1";
    REQUIRE(s.scan(in.data(), in.size(), n) == ScanStatus::NeedMore);
    CHECK(s.bytes_wanted() == 0);
    in += "\r\n";
    REQUIRE(s.scan(in.data(), in.size(), n) == ScanStatus::Complete);
    CHECK(n == in.size());
  }

  TEST_CASE("takes a 64 MB bulk reply in 16 KB reads") {
    const size_t big = 64u << 20;
    std::string in = "$" + std::to_string(big) + "\r\n";
    in.resize(in.size() + big, 'q');
    in += "\r\n";
    RespScanner s;
    size_t n = 0;
    ScanStatus st = ScanStatus::NeedMore;
    size_t calls = 0;
    for (size_t have = 16384; st == ScanStatus::NeedMore; have += 16384) {
      st = s.scan(in.data(), std::min(have, in.size()), n);
      ++calls;
    }
    CHECK(st == ScanStatus::Complete);
    CHECK(n == in.size());
    CHECK(calls == (in.size() + 16383) / 16384);
  }

  TEST_CASE("resumes a long status line without rescanning it") {
    std::string in = "+" + std::string(1 << 20, 's');
    RespScanner s;
    size_t n = 0;
    for (size_t have = 1; have <= in.size(); have += 4096) {
      REQUIRE(s.scan(in.data(), have, n) == ScanStatus::NeedMore);
    }
    in += "\r\n";
    REQUIRE(s.scan(in.data(), in.size(), n) == ScanStatus::Complete);
    CHECK(n == in.size());
  }
}

TEST_SUITE("RespDecoders") {
  TEST_CASE("parse_int64 follows Redis string2ll") {
    int64_t v = 0;
    CHECK((proxy::parse_int64("0", v) && v == 0));
    CHECK((proxy::parse_int64("-1", v) && v == -1));
    CHECK((proxy::parse_int64("9223372036854775807", v) && v == INT64_MAX));
    CHECK((proxy::parse_int64("-9223372036854775808", v) && v == INT64_MIN));
    for (const char* bad :
         {"", "-", "+1", "01", "-0", " 1", "1 ", "1a", "9223372036854775808",
          "-9223372036854775809", "18446744073709551616", "100000000000000000000"}) {
      CHECK_MESSAGE(!proxy::parse_int64(bad, v), bad);
    }
  }

  TEST_CASE("is_error_reply recognises - and !") {
    CHECK(proxy::is_error_reply("-ERR x\r\n"));
    CHECK(proxy::is_error_reply("!3\r\nERR\r\n"));
    CHECK_FALSE(proxy::is_error_reply("+OK\r\n"));
    CHECK_FALSE(proxy::is_error_reply(""));
  }

  TEST_CASE("decode_integer reads exactly one integer reply") {
    int64_t v = 0;
    CHECK((proxy::decode_integer(":123\r\n", v) && v == 123));
    CHECK((proxy::decode_integer(":-5\r\n", v) && v == -5));
    CHECK_FALSE(proxy::decode_integer("+123\r\n", v));
    CHECK_FALSE(proxy::decode_integer(":12x\r\n", v));
    CHECK_FALSE(proxy::decode_integer(":12\r\n:1\r\n", v));
    CHECK_FALSE(proxy::decode_integer(":12", v));
    CHECK_FALSE(proxy::decode_integer(":\r\n", v));
  }

  TEST_CASE("decode_simple_or_bulk reads strings and nulls") {
    std::string_view out;
    bool is_null = true;
    CHECK(proxy::decode_simple_or_bulk("+OK\r\n", out, is_null));
    CHECK((out == "OK" && !is_null));
    CHECK(proxy::decode_simple_or_bulk("$5\r\nhe\r\nl\r\n", out, is_null));
    CHECK((out == "he\r\nl" && !is_null));
    CHECK(proxy::decode_simple_or_bulk("$0\r\n\r\n", out, is_null));
    CHECK((out.empty() && !is_null));
    CHECK(proxy::decode_simple_or_bulk("$-1\r\n", out, is_null));
    CHECK(is_null);
    CHECK(proxy::decode_simple_or_bulk("_\r\n", out, is_null));
    CHECK(is_null);
    CHECK_FALSE(proxy::decode_simple_or_bulk(":1\r\n", out, is_null));
    CHECK_FALSE(proxy::decode_simple_or_bulk("$3\r\nab\r\n", out, is_null));
    CHECK_FALSE(proxy::decode_simple_or_bulk("$2\r\nab\r\nX", out, is_null));
    CHECK_FALSE(proxy::decode_simple_or_bulk("+OK", out, is_null));
  }

  TEST_CASE("split_aggregate returns each element's raw bytes") {
    std::vector<std::string_view> el;
    SUBCASE("a flat MGET reply") {
      REQUIRE(proxy::split_aggregate("*3\r\n$1\r\na\r\n$-1\r\n$2\r\nbc\r\n", el));
      CHECK(el == std::vector<std::string_view>{"$1\r\na\r\n", "$-1\r\n", "$2\r\nbc\r\n"});
    }
    SUBCASE("nested elements and attributes stay whole") {
      REQUIRE(proxy::split_aggregate("*2\r\n*2\r\n:1\r\n%1\r\n+k\r\n+v\r\n|1\r\n+a\r\n+b\r\n:9\r\n",
                                     el));
      CHECK(el == std::vector<std::string_view>{"*2\r\n:1\r\n%1\r\n+k\r\n+v\r\n",
                                                "|1\r\n+a\r\n+b\r\n:9\r\n"});
    }
    SUBCASE("sets and pushes, empty arrays") {
      CHECK(proxy::split_aggregate("~1\r\n+x\r\n", el));
      CHECK(el.size() == 1);
      CHECK(proxy::split_aggregate(">2\r\n+x\r\n+y\r\n", el));
      CHECK(el.size() == 2);
      CHECK(proxy::split_aggregate("*0\r\n", el));
      CHECK(el.empty());
    }
    SUBCASE("not an aggregate, null, truncated or trailing bytes") {
      CHECK_FALSE(proxy::split_aggregate("*-1\r\n", el));
      CHECK_FALSE(proxy::split_aggregate("%1\r\n+k\r\n+v\r\n", el));
      CHECK_FALSE(proxy::split_aggregate("+OK\r\n", el));
      CHECK_FALSE(proxy::split_aggregate("*2\r\n:1\r\n", el));
      CHECK(el.empty());
      CHECK_FALSE(proxy::split_aggregate("*1\r\n:1\r\n:2\r\n", el));
      CHECK_FALSE(proxy::split_aggregate("*1\r\n$5\r\nab\r\n", el));
      CHECK_FALSE(proxy::split_aggregate("*99999999\r\n:1\r\n", el));
      CHECK_FALSE(proxy::split_aggregate("", el));
    }
  }
}
