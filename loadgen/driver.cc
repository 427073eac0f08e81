// The event loop of driver.h: connections (connect, pipelined writes, reply scanning, deadline,
// reconnect), the pacer and the phases connect -> prefill -> run -> drain.
#include "loadgen/driver.h"

#include <netdb.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "proxy/resp_scanner.h"

namespace loadgen {

namespace {
constexpr uint64_t kSecond = 1'000'000'000ull;
constexpr uint64_t kReconnectDelayMs = 100;
}  // namespace

struct InFlight {
  enum Kind : uint8_t { Load, Prefill, Auth };
  uint64_t sent_ns;
  uint16_t group;
  uint8_t hour;
  bool flash;
  Kind kind;
};

// One TCP connection and its in-order queue of requests in flight (a ring of `pipeline`).
class Conn {
 public:
  enum class State { Down, Connecting, Up, Closing };

  Conn(Driver& d, int pipeline) : d_(d), ring_(pipeline) {
    uv_timer_init(&d_.loop_, &retry_);
    retry_.data = this;
  }

  bool up() const { return state_ == State::Up; }
  size_t in_flight() const { return count_; }
  size_t room() const { return ring_.size() - count_; }

  void connect() {
    tcp_ = new uv_tcp_t;
    uv_tcp_init(&d_.loop_, tcp_);
    tcp_->data = this;
    uv_tcp_nodelay(tcp_, 1);
    connect_ns_ = uv_hrtime();
    state_ = State::Connecting;
    creq_.data = this;
    int rc = uv_tcp_connect(
        &creq_, tcp_, reinterpret_cast<const sockaddr*>(&d_.addr_),
        [](uv_connect_t* req, int status) { static_cast<Conn*>(req->data)->on_connect(status); });
    if (rc != 0) {
      fail(Failure::Connect);
    }
  }

  // Appends one request (head + key [+ value]) to the output buffer; flush() writes it.
  void push(std::string_view head, std::string_view key, std::string_view value, InFlight f) {
    out_.append(head).append(key).append(value);
    ring_[(head_ + count_) % ring_.size()] = f;
    ++count_;
  }

  void flush() {
    if (writing_ || out_.empty() || state_ != State::Up) {
      return;
    }
    std::swap(out_, wbuf_);
    writing_ = true;
    wreq_.data = this;
    uv_buf_t buf = uv_buf_init(wbuf_.data(), static_cast<unsigned>(wbuf_.size()));
    int rc = uv_write(
        &wreq_, reinterpret_cast<uv_stream_t*>(tcp_), &buf, 1,
        [](uv_write_t* req, int status) { static_cast<Conn*>(req->data)->on_write(status); });
    if (rc != 0) {
      writing_ = false;
      fail(Failure::Lost);
    }
  }

  // Deadlines: a head-of-line request older than the timeout expires the whole connection
  // (its replies are in order, so nothing behind it can arrive first).
  void check_deadline(uint64_t now, uint64_t timeout_ns) {
    if (state_ == State::Up && count_ > 0 && now - ring_[head_].sent_ns > timeout_ns) {
      discard(d_.stats_.errors.timeouts);
      fail(Failure::Timeout);
    } else if (state_ == State::Connecting && now - connect_ns_ > timeout_ns) {
      fail(Failure::Connect);
    }
  }

  void shutdown() {
    stopping_ = true;
    uv_timer_stop(&retry_);
    uv_close(reinterpret_cast<uv_handle_t*>(&retry_), nullptr);
    if (state_ == State::Up || state_ == State::Connecting) {
      state_ = State::Closing;
      close_tcp();
    }
  }

 private:
  enum class Failure { Connect, Lost, Timeout, Protocol };

  void on_connect(int status) {
    if (status == UV_ECANCELED || state_ != State::Connecting) {
      return;
    }
    if (status != 0) {
      fail(Failure::Connect);
      return;
    }
    state_ = State::Up;
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(tcp_),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) { static_cast<Conn*>(h->data)->alloc(buf); },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t*) {
          static_cast<Conn*>(s->data)->on_read(n);
        });
    if (!d_.auth_.empty()) {
      push(d_.auth_, {}, {}, InFlight{uv_hrtime(), 0, 0, false, InFlight::Auth});
      flush();
    }
    settle();
    d_.dispatch();
  }

  void settle() {
    if (!settled_) {
      settled_ = true;
      ++d_.settled_;
      d_.begin_when_settled();
    }
  }

  void on_write(int status) {
    writing_ = false;
    wbuf_.clear();
    if (status != 0) {
      if (state_ == State::Up) fail(Failure::Lost);
      return;
    }
    flush();
  }

  void alloc(uv_buf_t* buf) {
    if (in_.size() - in_len_ < 16384) {
      in_.resize(std::max(in_.size() * 2, in_len_ + 65536));
    }
    *buf = uv_buf_init(in_.data() + in_len_, static_cast<unsigned>(in_.size() - in_len_));
  }

  void on_read(ssize_t n) {
    if (n < 0) {
      fail(Failure::Lost);
      return;
    }
    in_len_ += static_cast<size_t>(n);
    uint64_t now = uv_hrtime();
    size_t pos = 0;
    while (pos < in_len_) {
      size_t len = 0;
      proxy::ScanStatus st = scanner_.scan(in_.data() + pos, in_len_ - pos, len);
      if (st == proxy::ScanStatus::NeedMore) {
        break;
      }
      if (st == proxy::ScanStatus::Error || count_ == 0) {
        fail(Failure::Protocol);
        return;
      }
      std::string_view reply(in_.data() + pos, len);
      InFlight f = ring_[head_];
      head_ = (head_ + 1) % ring_.size();
      --count_;
      bool err = proxy::is_error_reply(reply);
      if (err) {
        d_.stats_.error_sample(
            std::string(reply.substr(0, std::min<size_t>(reply.find('\r'), 120))));
      }
      if (f.kind != InFlight::Load) {
        d_.stats_.errors.error_replies += err ? 1 : 0;
      }
      if (f.kind == InFlight::Prefill) {
        ++d_.prefill_done_;
        d_.stats_.prefilled += err ? 0 : 1;
      } else if (f.kind == InFlight::Load) {
        d_.stats_.answered(now - f.sent_ns, f.group, f.hour, f.flash, err);
      }
      pos += len;
    }
    if (pos > 0) {
      std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
      in_len_ -= pos;
    }
    d_.dispatch((ring_.size() + 1) / 2);  // refill in batches: fewer, larger writes
    d_.advance();
  }

  // Counts every request in flight into `counter` and forgets them.
  void discard(uint64_t& counter) {
    for (size_t i = 0; i < count_; ++i) {
      ++counter;
      if (ring_[(head_ + i) % ring_.size()].kind == InFlight::Prefill) ++d_.prefill_done_;
    }
    head_ = count_ = 0;
  }

  void fail(Failure why) {
    if (state_ != State::Up && state_ != State::Connecting) {
      return;
    }
    auto& e = d_.stats_.errors;
    if (why == Failure::Connect) ++e.connect_failures;
    if (why == Failure::Lost) ++e.disconnects;
    if (why == Failure::Protocol) ++e.protocol;
    discard(e.dropped);
    out_.clear();
    in_len_ = 0;
    scanner_.reset();
    state_ = State::Closing;
    close_tcp();
    settle();
    d_.advance();
  }

  void close_tcp() {
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_), [](uv_handle_t* h) {
      Conn* c = static_cast<Conn*>(h->data);
      delete reinterpret_cast<uv_tcp_t*>(h);
      c->tcp_ = nullptr;
      c->state_ = State::Down;
      if (!c->stopping_) {
        uv_timer_start(
            &c->retry_,
            [](uv_timer_t* t) {
              Conn* c = static_cast<Conn*>(t->data);
              ++c->d_.stats_.reconnects;
              c->connect();
            },
            kReconnectDelayMs, 0);
      }
    });
  }

  Driver& d_;
  State state_ = State::Down;
  bool settled_ = false, writing_ = false, stopping_ = false;
  uv_tcp_t* tcp_ = nullptr;
  uv_connect_t creq_{};
  uv_write_t wreq_{};
  uv_timer_t retry_{};
  uint64_t connect_ns_ = 0;
  std::string out_, wbuf_;
  std::vector<char> in_;
  size_t in_len_ = 0;
  proxy::RespScanner scanner_;
  std::vector<InFlight> ring_;
  size_t head_ = 0, count_ = 0;
};

Driver::Driver(const DriverConfig& cfg, Workload& workload, Stats& stats)
    : cfg_(cfg), w_(workload), stats_(stats), rng_(workload.config().seed * 0x2545f4914f6cdd1dull) {
  uv_loop_init(&loop_);
  get_head_ = "*2\r\n$3\r\nGET\r\n";
  set_head_ = "*3\r\n$3\r\nSET\r\n";
  std::string payload(static_cast<size_t>(cfg_.value_size), 'v');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i % 26);
  value_ = "$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
  auto bulk = [](const std::string& v) {
    return "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
  };
  if (!cfg_.password.empty()) {
    auth_ = cfg_.user.empty() ? "*2\r\n$4\r\nAUTH\r\n" + bulk(cfg_.password)
                              : "*3\r\n$4\r\nAUTH\r\n" + bulk(cfg_.user) + bulk(cfg_.password);
  }
}

Driver::~Driver() { uv_loop_close(&loop_); }

uint64_t Driver::next_rand() { return splitmix64(rng_); }

double Driver::now_s() const { return static_cast<double>(uv_hrtime() - start_ns_) / kSecond; }

proxy::Result<double> Driver::run() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(cfg_.port);
  if (int rc = getaddrinfo(cfg_.host.c_str(), port.c_str(), &hints, &res); rc != 0 || !res) {
    return proxy::Status(proxy::Code::InvalidArgument,
                         "cannot resolve " + cfg_.host + ": " + gai_strerror(rc));
  }
  std::memcpy(&addr_, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);

  uv_timer_init(&loop_, &tick_);
  uv_timer_init(&loop_, &second_);
  tick_.data = second_.data = this;
  uv_timer_start(
      &tick_, [](uv_timer_t* t) { static_cast<Driver*>(t->data)->on_tick(); }, 1, 1);
  for (uv_signal_t* s : {&sigint_, &sigterm_}) {
    uv_signal_init(&loop_, s);
    s->data = this;
    uv_signal_start(
        s, [](uv_signal_t* h, int) { static_cast<Driver*>(h->data)->finish_early(); },
        s == &sigint_ ? SIGINT : SIGTERM);
  }
  for (int i = 0; i < cfg_.connections; ++i) {
    conns_.push_back(std::make_unique<Conn>(*this, cfg_.pipeline));
  }
  for (auto& c : conns_) c->connect();
  uv_run(&loop_, UV_RUN_DEFAULT);
  return static_cast<double>(end_ns_ - start_ns_) / kSecond;
}

void Driver::begin_when_settled() {
  if (phase_ != Phase::Connecting || settled_ < static_cast<int>(conns_.size())) {
    return;
  }
  if (cfg_.prefill) {
    phase_ = Phase::Prefill;
    dispatch();
  } else {
    start_run();
  }
}

void Driver::start_run() {
  phase_ = Phase::Run;
  start_ns_ = last_budget_ns_ = last_second_ns_ = uv_hrtime();
  w_.refresh(0);
  rate_ = w_.target_rate(0);
  uv_timer_start(
      &second_, [](uv_timer_t* t) { static_cast<Driver*>(t->data)->on_second(); }, 1000, 1000);
  dispatch();
}

void Driver::dispatch(size_t min_room) {
  if (phase_ == Phase::Prefill) {
    for (auto& c : conns_) {
      while (c->up() && c->room() > 0 && prefill_next_ < w_.key_count()) {
        c->push(set_head_, w_.encoded_key(prefill_next_++), value_,
                InFlight{uv_hrtime(), 0, 0, false, InFlight::Prefill});
      }
      c->flush();
    }
    return;
  }
  if (phase_ != Phase::Run) {
    return;
  }
  uint64_t now = uv_hrtime();
  double add = rate_ * static_cast<double>(now - last_budget_ns_) / kSecond;
  last_budget_ns_ = now;
  budget_ = std::min(budget_ + add, std::max(rate_ * 0.1, 1.0));
  sec_target_ += add;
  if (budget_ < 1) {
    return;
  }
  double t = static_cast<double>(now - start_ns_) / kSecond;
  uint8_t hour = static_cast<uint8_t>(std::min(23.0, w_.hour_at(t)));
  const size_t n = conns_.size();
  for (size_t i = 0; i < n && budget_ >= 1; ++i) {
    Conn& c = *conns_[(rr_ + i) % n];
    if (!c.up() || c.room() < min_room) continue;
    size_t k = std::min(c.room(), static_cast<size_t>(budget_));
    for (size_t j = 0; j < k; ++j) {
      uint64_t r1 = next_rand(), r2 = next_rand();
      Pick p = w_.pick(static_cast<double>(r1 >> 11) * 0x1.0p-53, r2 >> 8);
      bool read = static_cast<double>(r2 & 0xff) < cfg_.read_ratio * 256;
      c.push(read ? get_head_ : set_head_, w_.encoded_key(p.key),
             read ? std::string_view() : std::string_view(value_),
             InFlight{now, p.group, hour, p.flash, InFlight::Load});
    }
    budget_ -= static_cast<double>(k);
    stats_.sent += k;
    c.flush();
  }
  rr_ = (rr_ + 1) % n;
}

void Driver::on_tick() {
  uint64_t now = uv_hrtime();
  uint64_t timeout_ns = static_cast<uint64_t>(cfg_.timeout_ms) * 1'000'000ull;
  for (auto& c : conns_) c->check_deadline(now, timeout_ns);
  if (phase_ == Phase::Run) {
    double t = static_cast<double>(now - start_ns_) / kSecond;
    if (t >= cfg_.duration) {
      begin_drain();
      return;
    }
    w_.refresh(t);
    rate_ = w_.target_rate(t);
    dispatch();
  }
  advance();
}

void Driver::on_second() {
  uint64_t now = uv_hrtime();
  double interval = static_cast<double>(now - last_second_ns_) / kSecond;
  last_second_ns_ = now;
  stats_.close_second(w_, now_s(), interval, sec_target_, cfg_.quiet);
  sec_target_ = 0;
}

void Driver::begin_drain() {
  if (phase_ != Phase::Run) {
    return;
  }
  dispatch();  // account the target up to now
  phase_ = Phase::Draining;
  end_ns_ = uv_hrtime();
  uv_timer_stop(&second_);
  if (static_cast<double>(end_ns_ - last_second_ns_) / kSecond > 0.05) {
    on_second();
  }
  advance();
}

void Driver::finish_early() {
  if (phase_ == Phase::Run) {
    begin_drain();
  } else if (phase_ != Phase::Draining) {
    end_ns_ = start_ns_ = uv_hrtime();
    stop();
  }
}

void Driver::advance() {
  if (phase_ == Phase::Prefill && prefill_done_ >= w_.key_count()) {
    start_run();
  } else if (phase_ == Phase::Draining) {
    for (auto& c : conns_) {
      if (c->in_flight() > 0) return;
    }
    stop();
  }
}

void Driver::stop() {
  if (phase_ == Phase::Done) {
    return;
  }
  phase_ = Phase::Done;
  for (uv_timer_t* t : {&tick_, &second_}) {
    uv_timer_stop(t);
    uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
  }
  for (uv_signal_t* s : {&sigint_, &sigterm_}) {
    uv_signal_stop(s);
    uv_close(reinterpret_cast<uv_handle_t*>(s), nullptr);
  }
  for (auto& c : conns_) c->shutdown();
}

}  // namespace loadgen
