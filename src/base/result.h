// Result<T>: the error-as-value type used across module boundaries.
//
// GCC 12 has no std::expected in C++20 mode (see shared/notes/toolchain.md), so this is
// a deliberately small subset of its interface: construction from a value or from
// `fail(...)`, `has_value()`, `value()`, `error()`, `*` and `->`. Reading the value of a
// failed result is a programmer error and throws std::logic_error.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace sipbox {

// What went wrong, in words a user can act on.
struct Error {
  std::string message;
};

template <class E>
struct Unexpected {
  E error;
};

// `return fail("Content-Length larger than the message");`
inline Unexpected<Error> fail(std::string message) { return {Error{std::move(message)}}; }

template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : state_(std::in_place_index<0>, value) {}
  Result(T&& value) : state_(std::in_place_index<0>, std::move(value)) {}
  template <class U>
    requires std::is_constructible_v<T, U&&> && (!std::is_same_v<std::decay_t<U>, Result>) &&
             (!std::is_same_v<std::decay_t<U>, Unexpected<E>>)
  Result(U&& value) : state_(std::in_place_index<0>, std::forward<U>(value)) {}
  Result(Unexpected<E> failure) : state_(std::in_place_index<1>, std::move(failure.error)) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return check(), std::get<0>(state_); }
  const T& value() const& { return check(), std::get<0>(state_); }
  T&& value() && { return check(), std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(state_) : static_cast<T>(std::forward<U>(fallback));
  }

  const E& error() const& {
    if (has_value()) throw std::logic_error("Result::error() called on a success");
    return std::get<1>(state_);
  }

 private:
  void check() const {
    if (!has_value()) throw std::logic_error("Result::value() called on a failure");
  }
  std::variant<T, E> state_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  Result(Unexpected<E> failure) : error_(std::move(failure.error)), failed_(true) {}

  bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (failed_) throw std::logic_error("Result::value() called on a failure");
  }
  const E& error() const& {
    if (!failed_) throw std::logic_error("Result::error() called on a success");
    return error_;
  }

 private:
  E error_{};
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace sipbox
