// Buffer: a growable byte buffer with a read and a write position, used for
// socket input and output on the hot path. It never zero-fills (unlike
// std::string::resize), keeps its capacity between uses and compacts by moving
// the unread bytes to the front, so steady state allocates nothing.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace proxy {

class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  const char* data() const { return data_.get() + rpos_; }  // first unread byte
  size_t size() const { return wpos_ - rpos_; }             // unread bytes
  bool empty() const { return wpos_ == rpos_; }
  size_t capacity() const { return cap_; }
  std::string_view view() const { return {data(), size()}; }

  void consume(size_t n) {  // drop n unread bytes from the front
    rpos_ += n;
    if (rpos_ == wpos_) {
      rpos_ = wpos_ = 0;
    }
  }
  void clear() { rpos_ = wpos_ = 0; }

  // Space to write at least `n` bytes at the end; call commit(k) after writing k.
  char* prepare(size_t n) {
    if (cap_ - wpos_ < n) {
      grow(n);
    }
    return data_.get() + wpos_;
  }
  size_t writable() const { return cap_ - wpos_; }
  void commit(size_t n) { wpos_ += n; }

  void append(const char* p, size_t n) {
    std::memcpy(prepare(n), p, n);
    wpos_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }

  // Moves unread bytes to the front (cheap when few are left).
  void compact() {
    if (rpos_ == 0) {
      return;
    }
    size_t n = size();
    if (n > 0) {
      std::memmove(data_.get(), data_.get() + rpos_, n);
    }
    rpos_ = 0;
    wpos_ = n;
  }

  // Frees memory above `keep` bytes when the buffer is empty (after a burst).
  void shrink_if_idle(size_t keep) {
    if (empty() && cap_ > keep) {
      data_.reset();
      cap_ = 0;
      rpos_ = wpos_ = 0;
    }
  }

  void swap(Buffer& o) {
    std::swap(data_, o.data_);
    std::swap(cap_, o.cap_);
    std::swap(rpos_, o.rpos_);
    std::swap(wpos_, o.wpos_);
  }

 private:
  void grow(size_t n) {
    compact();
    if (cap_ - wpos_ >= n) {
      return;
    }
    size_t want = cap_ == 0 ? 16384 : cap_;
    while (want - wpos_ < n) {
      want *= 2;
    }
    std::unique_ptr<char[]> next(new char[want]);
    if (wpos_ > 0) {
      std::memcpy(next.get(), data_.get(), wpos_);
    }
    data_ = std::move(next);
    cap_ = want;
  }

  std::unique_ptr<char[]> data_;
  size_t cap_ = 0;
  size_t rpos_ = 0;
  size_t wpos_ = 0;
};

}  // namespace proxy
