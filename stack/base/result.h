// Result<T>: the socket API's return type. The stack never sets errno; the
// preload layer maps Error to errno in exactly one place.
#pragma once

#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "stack/base/check.h"

namespace shunt {

// Named after the errno Linux returns for the same condition.
enum class Error : uint8_t {
  kAgain,            // EAGAIN / EWOULDBLOCK
  kAddrInUse,        // EADDRINUSE
  kAddrNotAvail,     // EADDRNOTAVAIL
  kAfNoSupport,      // EAFNOSUPPORT
  kAlready,          // EALREADY
  kBadFd,            // EBADF (unknown socket id)
  kConnAborted,      // ECONNABORTED
  kConnRefused,      // ECONNREFUSED
  kConnReset,        // ECONNRESET
  kDestAddrReq,      // EDESTADDRREQ
  kFault,            // EFAULT
  kHostUnreach,      // EHOSTUNREACH
  kInProgress,       // EINPROGRESS
  kInval,            // EINVAL
  kIsConn,           // EISCONN
  kMsgSize,          // EMSGSIZE
  kNetUnreach,       // ENETUNREACH
  kNoBufs,           // ENOBUFS
  kNoMem,            // ENOMEM
  kNoProtoOpt,       // ENOPROTOOPT
  kNotConn,          // ENOTCONN
  kOpNotSupp,        // EOPNOTSUPP
  kPipe,             // EPIPE
  kProtoNoSupport,   // EPROTONOSUPPORT
  kTimedOut,         // ETIMEDOUT
  kAccess,           // EACCES (broadcast without SO_BROADCAST)
  kProto,            // EPROTO
  kNetDown,          // ENETDOWN
  kNoDev,            // ENODEV (no such interface)
};

std::string_view to_string(Error e);

template <class T, class E>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Expected(E error) : v_(std::in_place_index<1>, error) {}             // NOLINT(implicit)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  E error() const {
    SHUNT_CHECK(!ok());
    return std::get<1>(v_);
  }
  T& value() & {
    SHUNT_CHECK(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    SHUNT_CHECK(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    SHUNT_CHECK(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] Expected<void, E> {
 public:
  Expected() = default;
  Expected(E error) : error_(error), ok_(false) {}  // NOLINT(implicit)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  E error() const {
    SHUNT_CHECK(!ok_);
    return error_;
  }

 private:
  E error_{};
  bool ok_ = true;
};

template <class T = void>
using Result = Expected<T, Error>;

}  // namespace shunt
