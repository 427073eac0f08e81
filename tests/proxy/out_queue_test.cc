// Tests for proxy/out_queue.h: bytes come out in order across chunk
// boundaries, gather() describes the front, consume() frees emptied chunks but
// keeps the last one, and partial consumes of a write in progress are exact.
#include "proxy/out_queue.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

namespace proxy {

namespace {

std::string drain(OutQueue& q, size_t step) {  // consumes q in steps of <= `step` bytes
  std::string got;
  while (!q.empty()) {
    uv_buf_t bufs[4];
    int n = q.gather(bufs, 4);
    REQUIRE(n > 0);
    size_t take = std::min(step, size_t(bufs[0].len));
    got.append(bufs[0].base, take);
    q.consume(take);
  }
  return got;
}

}  // namespace

TEST_CASE("out queue: small replies stay in one small chunk") {
  OutQueue q;
  CHECK(q.empty());
  q.append("+OK\r\n");
  q.append(":1\r\n");
  CHECK(q.size() == 9);
  CHECK(q.chunks() == 1);
  uv_buf_t b[2];
  REQUIRE(q.gather(b, 2) == 1);
  CHECK(std::string(b[0].base, b[0].len) == "+OK\r\n:1\r\n");
  q.consume(9);
  CHECK(q.empty());
  CHECK(q.chunks() == 1);  // kept for the next reply
  q.append("+PONG\r\n");
  REQUIRE(q.gather(b, 2) == 1);
  CHECK(std::string(b[0].base, b[0].len) == "+PONG\r\n");
}

TEST_CASE("out queue: a large append spans chunks without reordering") {
  OutQueue q;
  std::string big(3 * OutQueue::kChunk + 123, 'x');
  for (size_t i = 0; i < big.size(); ++i) {
    big[i] = char('a' + i % 26);
  }
  q.append("head");
  q.append(big);
  q.append("tail");
  CHECK(q.size() == big.size() + 8);
  CHECK(q.chunks() >= 4);
  uv_buf_t b[64];
  int n = q.gather(b, 64);
  size_t total = 0;
  for (int i = 0; i < n; ++i) {
    total += b[i].len;
  }
  CHECK(total == q.size());
  CHECK(drain(q, 1000) == "head" + big + "tail");
  CHECK(q.chunks() == 1);
}

TEST_CASE("out queue: gather stops at max buffers; the rest follows after consume") {
  OutQueue q;
  std::string data(10 * OutQueue::kChunk, 'z');
  q.append(data);
  uv_buf_t b[3];
  int n = q.gather(b, 3);
  CHECK(n == 3);
  size_t first = b[0].len + b[1].len + b[2].len;
  CHECK(first < q.size());
  q.consume(first);
  CHECK(q.size() == data.size() - first);
}

TEST_CASE("out queue: appends behind a write in progress keep the written bytes in place") {
  OutQueue q;
  q.append(std::string(OutQueue::kFirst - 2, 'a'));
  uv_buf_t b[4];
  REQUIRE(q.gather(b, 4) == 1);
  const char* written = b[0].base;  // as handed to uv_write
  size_t len = b[0].len;
  q.append(std::string(5000, 'b'));  // fills the chunk, then a new one
  CHECK(std::string(written, len) == std::string(OutQueue::kFirst - 2, 'a'));
  q.consume(len);  // the write completed
  CHECK(q.size() == 5000);
  CHECK(drain(q, 777) == std::string(5000, 'b'));
}

TEST_CASE("out queue: random appends and consumes match a plain string") {
  std::mt19937 rng(42);
  OutQueue q;
  std::string model;
  size_t read = 0;
  for (int round = 0; round < 2000; ++round) {
    size_t n = rng() % 3 == 0 ? rng() % (2 * OutQueue::kChunk) : rng() % 300;
    std::string s(n, char('A' + round % 26));
    q.append(s);
    model += s;
    if (rng() % 2 == 0 && !q.empty()) {
      uv_buf_t b[8];
      int k = q.gather(b, 8);
      size_t avail = 0;
      std::string front;
      for (int i = 0; i < k; ++i) {
        avail += b[i].len;
        front.append(b[i].base, b[i].len);
      }
      size_t take = rng() % (avail + 1);
      REQUIRE(front.substr(0, take) == model.substr(read, take));
      q.consume(take);
      read += take;
    }
    REQUIRE(q.size() == model.size() - read);
  }
  CHECK(drain(q, 4096) == model.substr(read));
  q.release();
  CHECK(q.empty());
  CHECK(q.chunks() == 0);
}

}  // namespace proxy
