// Tests for RespWriter: the exact bytes of every reply kind in RESP2 and RESP3 (matching Redis
// 7.0's networking.c), sanitised status and error lines, and that every output scans as
// complete replies.
#include "proxy/resp_writer.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "proxy/resp_scanner.h"

namespace {

using proxy::RespWriter;
using namespace std::string_literals;

// What Redis's addReplyDouble prints for a finite double.
std::string redis_g17(double d) {
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%.17g", d);
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

TEST_SUITE("RespWriter") {
  TEST_CASE("writes strings, integers and bulks the same in both protocols") {
    for (int proto : {2, 3}) {
      CAPTURE(proto);
      std::string out;
      RespWriter w(out, proto);
      CHECK(w.protocol() == proto);
      w.simple("OK");
      w.integer(0);
      w.integer(-42);
      w.integer(INT64_MAX);
      w.integer(INT64_MIN);
      w.bulk("foo");
      w.bulk("");
      w.bulk(std::string("a\r\n\0", 4));
      w.array(2);
      w.raw("+raw\r\n");
      CHECK(out ==
            "+OK\r\n:0\r\n:-42\r\n:9223372036854775807\r\n:-9223372036854775808\r\n"
            "$3\r\nfoo\r\n$0\r\n\r\n$4\r\na\r\n\0\r\n*2\r\n+raw\r\n"s);
    }
  }

  TEST_CASE("appends to what the output already holds") {
    std::string out = "+first\r\n";
    RespWriter w(out);
    w.integer(1);
    CHECK(out == "+first\r\n:1\r\n");
  }

  TEST_CASE("writes errors with one leading '-' and no CR/LF inside") {
    std::string out;
    RespWriter w(out);
    SUBCASE("plain") {
      w.error("ERR unknown command 'foo'");
      CHECK(out == "-ERR unknown command 'foo'\r\n");
    }
    SUBCASE("caller already added the dash") {
      w.error("-MOVED 3999 127.0.0.1:6381");
      CHECK(out == "-MOVED 3999 127.0.0.1:6381\r\n");
    }
    SUBCASE("CR and LF become spaces") {
      w.error("ERR Protocol error: expected '$', got '\r'\nmore");
      CHECK(out == "-ERR Protocol error: expected '$', got ' ' more\r\n");
    }
    SUBCASE("status lines are sanitised too") {
      w.simple("a\r\nb");
      CHECK(out == "+a  b\r\n");
    }
  }

  TEST_CASE("writes nulls per protocol") {
    std::string out;
    SUBCASE("RESP2") {
      RespWriter w(out, 2);
      w.null();
      w.null_array();
      CHECK(out == "$-1\r\n*-1\r\n");
    }
    SUBCASE("RESP3") {
      RespWriter w(out, 3);
      w.null();
      w.null_array();
      CHECK(out == "_\r\n_\r\n");
    }
  }

  TEST_CASE("writes aggregate headers per protocol") {
    std::string out;
    SUBCASE("RESP2 flattens maps and uses arrays for sets and pushes") {
      RespWriter w(out, 2);
      w.map(3);
      w.set(2);
      w.push(3);
      w.array(0);
      CHECK(out == "*6\r\n*2\r\n*3\r\n*0\r\n");
    }
    SUBCASE("RESP3 has its own types") {
      RespWriter w(out, 3);
      w.map(3);
      w.set(2);
      w.push(3);
      w.array(0);
      CHECK(out == "%3\r\n~2\r\n>3\r\n*0\r\n");
    }
  }

  TEST_CASE("writes booleans per protocol") {
    std::string out2;
    std::string out3;
    RespWriter w2(out2, 2);
    RespWriter w3(out3, 3);
    w2.boolean(true);
    w2.boolean(false);
    w3.boolean(true);
    w3.boolean(false);
    CHECK(out2 == ":1\r\n:0\r\n");
    CHECK(out3 == "#t\r\n#f\r\n");
  }

  TEST_CASE("formats doubles like Redis's %.17g") {
    for (double d : {0.0, 1.0, -1.5, 3.14, 0.1, 1e300, -2.5e-300, 123456789.125,
                     std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
                     std::numeric_limits<double>::denorm_min()}) {
      CAPTURE(d);
      std::string g = redis_g17(d);
      std::string out2;
      std::string out3;
      RespWriter(out2, 2).dbl(d);
      RespWriter(out3, 3).dbl(d);
      CHECK(out2 == "$" + std::to_string(g.size()) + "\r\n" + g + "\r\n");
      CHECK(out3 == "," + g + "\r\n");
    }
    SUBCASE("infinities are spelled inf and -inf") {
      std::string out2;
      std::string out3;
      RespWriter(out2, 2).dbl(INFINITY);
      RespWriter(out2, 2).dbl(-INFINITY);
      RespWriter(out3, 3).dbl(INFINITY);
      RespWriter(out3, 3).dbl(-INFINITY);
      CHECK(out2 == "$3\r\ninf\r\n$4\r\n-inf\r\n");
      CHECK(out3 == ",inf\r\n,-inf\r\n");
    }
    SUBCASE("nan") {
      std::string out3;
      RespWriter(out3, 3).dbl(std::nan(""));
      CHECK(out3 == ",nan\r\n");
    }
  }

  TEST_CASE("writes verbatim strings per protocol") {
    std::string out;
    SUBCASE("RESP2: a plain bulk") {
      RespWriter(out, 2).verbatim("hello");
      CHECK(out == "$5\r\nhello\r\n");
    }
    SUBCASE("RESP3: format prefix counted in the length") {
      RespWriter(out, 3).verbatim("hello");
      RespWriter(out, 3).verbatim("# x", "mkd");
      CHECK(out == "=9\r\ntxt:hello\r\n=7\r\nmkd:# x\r\n");
    }
    SUBCASE("RESP3 with a bad format falls back to a bulk") {
      RespWriter(out, 3).verbatim("hi", "text");
      CHECK(out == "$2\r\nhi\r\n");
    }
  }

  TEST_CASE("produces replies the scanner accepts whole") {
    for (int proto : {2, 3}) {
      CAPTURE(proto);
      std::string out;
      RespWriter w(out, proto);
      w.map(2);
      w.bulk("k");
      w.dbl(2.5);
      w.simple("s");
      w.set(3);
      w.null();
      w.boolean(true);
      w.verbatim("v");
      w.push(1);
      w.error("ERR\r\nx");
      w.null_array();
      proxy::RespScanner s;
      size_t n = 0;
      size_t replies = 0;
      std::string_view rest = out;
      while (!rest.empty()) {
        REQUIRE(s.scan(rest.data(), rest.size(), n) == proxy::ScanStatus::Complete);
        rest.remove_prefix(n);
        ++replies;
      }
      CHECK(replies == 3);
    }
  }
}
