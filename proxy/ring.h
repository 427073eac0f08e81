// RingQueue<T>: a FIFO over a power-of-two vector that keeps its capacity, so
// pushing and popping in steady state allocates nothing (std::deque would).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace proxy {

template <typename T>
class RingQueue {
 public:
  RingQueue() : items_(16), mask_(15) {}
  bool empty() const { return head_ == tail_; }
  size_t size() const { return tail_ - head_; }
  T& front() { return items_[head_ & mask_]; }
  T& at(size_t i) { return items_[(head_ + i) & mask_]; }  // i-th from the front
  void push(T v) {
    if (size() == items_.size()) {
      grow();
    }
    items_[tail_ & mask_] = std::move(v);
    ++tail_;
  }
  void pop() { ++head_; }
  void clear() { head_ = tail_ = 0; }

 private:
  void grow() {
    std::vector<T> next(items_.size() * 2);
    for (size_t i = 0; i < size(); ++i) {
      next[i] = std::move(items_[(head_ + i) & mask_]);
    }
    tail_ = size();
    head_ = 0;
    items_.swap(next);
    mask_ = items_.size() - 1;
  }

  std::vector<T> items_;
  size_t mask_;
  size_t head_ = 0;
  size_t tail_ = 0;
};

}  // namespace proxy
