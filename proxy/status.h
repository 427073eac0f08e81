// Status and Result<T>: how fallible functions in the data plane report
// failure without exceptions (CONVENTIONS §3). Small on purpose: a code plus a
// human-readable message that can be sent to a client as a RESP error.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace proxy {

enum class Code {
  Ok,
  InvalidArgument,  // bad config value, bad admin argument
  NotFound,         // no such file, backend, segment
  IoError,          // disk or socket failure
  Unavailable,      // backend down or unreachable
  Timeout,
  Corrupt,          // a persisted file fails its checks
  Refused,          // a policy refusal (e.g. several non-empty backends)
};

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == Code::Ok; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::Ok;
  std::string message_;
};

// Result<T> holds either a value or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}   // NOLINT: implicit by design

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace proxy
