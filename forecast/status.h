// Status and Result<T> for the forecast library: how fit/predict/load report
// failure without exceptions (CONVENTIONS §3). forecast/ must not include
// proxy/, so this is its own copy of the same small design (Dragonfly's
// OpStatus/OpResult): a code plus a human-readable message.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace forecast {

enum class Code {
  Ok,
  InvalidArgument,  // bad parameter: step 0, horizon 0, unknown model name
  NotEnoughData,    // the series is empty or too short for the model
  NotFound,         // a file that does not exist
  ParseError,       // a CSV line that is not "timestamp,value"
  Numerical,        // a solve that produced non-finite numbers
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
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace forecast
