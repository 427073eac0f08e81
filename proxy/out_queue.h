// OutQueue: a client's pending reply bytes as a chain of fixed-size chunks.
//
// Why not one growing Buffer: a client that stops reading makes its output
// grow up to limits.outputBuffer, and a doubling buffer copies everything it
// holds into fresh pages at each step, all inside one loop iteration: the
// 32 -> 64 MB step stalled every other client of that worker for 220-300 ms
// (abuse test, check 4, before this file). Chunks grow the queue 64 KB at a
// time, never copy, and go out with one writev (uv_write with several bufs).
//
// Bytes handed to an asynchronous uv_write stay in the queue (the kernel reads
// them from the chunks) until the write completes and the caller consume()s
// them; appends only ever touch the tail chunk past those bytes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <deque>
#include <memory>
#include <string_view>

#include <uv.h>

namespace proxy {

class OutQueue {
 public:
  static constexpr size_t kChunk = 64 * 1024;
  static constexpr size_t kFirst = 4 * 1024;  // an idle client's only chunk stays small

  OutQueue() = default;
  OutQueue(const OutQueue&) = delete;
  OutQueue& operator=(const OutQueue&) = delete;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t chunks() const { return chunks_.size(); }

  void append(std::string_view s) { append(s.data(), s.size()); }
  void append(const char* p, size_t n) {
    while (n > 0) {
      if (chunks_.empty()) {
        size_t cap = n <= kFirst ? kFirst : kChunk;
        chunks_.push_back(Chunk{cap == kChunk ? take_chunk() : new_chunk(cap), 0, 0, cap});
      } else if (chunks_.back().end == chunks_.back().cap) {
        chunks_.push_back(Chunk{take_chunk(), 0, 0, kChunk});
      }
      Chunk& c = chunks_.back();
      size_t k = std::min(n, c.cap - c.end);
      std::memcpy(c.data.get() + c.end, p, k);
      c.end += k;
      size_ += k;
      p += k;
      n -= k;
    }
  }

  // Describes up to `max` buffers from the front into `bufs`; returns how
  // many. Their total is min(size(), max chunks' worth).
  int gather(uv_buf_t* bufs, int max) const {
    int n = 0;
    for (auto it = chunks_.begin(); it != chunks_.end() && n < max; ++it) {
      if (it->end > it->begin) {
        bufs[n++] = uv_buf_init(it->data.get() + it->begin, unsigned(it->end - it->begin));
      }
    }
    return n;
  }

  // Drops n bytes from the front. Emptied chunks are freed, except the last,
  // kept rewound for the next reply (a steady flow of small replies allocates
  // nothing), and one spare while more are queued.
  void consume(size_t n) {
    size_ -= n;
    while (n > 0) {
      Chunk& c = chunks_.front();
      size_t k = std::min(n, c.end - c.begin);
      c.begin += k;
      n -= k;
      if (c.begin == c.end) {
        if (chunks_.size() == 1) {
          c.begin = c.end = 0;  // the last chunk stays, rewound
          spare_.reset();       // the burst is over
          break;
        }
        if (c.cap == kChunk && !spare_) {
          spare_ = std::move(c.data);
        }
        chunks_.pop_front();
      }
    }
  }

  // Frees every chunk (the session is closing).
  void release() {
    chunks_.clear();
    spare_.reset();
    size_ = 0;
  }

 private:
  struct Chunk {
    std::unique_ptr<char[]> data;
    size_t begin;
    size_t end;
    size_t cap;
  };
  static std::unique_ptr<char[]> new_chunk(size_t cap) {
    return std::unique_ptr<char[]>(new char[cap]);  // not zero-filled
  }
  std::unique_ptr<char[]> take_chunk() { return spare_ ? std::move(spare_) : new_chunk(kChunk); }

  std::deque<Chunk> chunks_;
  std::unique_ptr<char[]> spare_;  // at most one freed chunk kept for reuse
  size_t size_ = 0;
};

}  // namespace proxy
