// The one place where errno is made (docs/design.md 9): a stack Error, or
// one of the few errors only the libc boundary decides (CallError), becomes
// an errno here and nowhere else. An interposed call fails with
// `return fail(e);`.
#pragma once

#include <cerrno>
#include <cstdint>

#include "stack/base/result.h"

namespace shunt::preload {

constexpr int to_errno(Error e) {
  switch (e) {
    case Error::kAgain: return EAGAIN;
    case Error::kAddrInUse: return EADDRINUSE;
    case Error::kAddrNotAvail: return EADDRNOTAVAIL;
    case Error::kAfNoSupport: return EAFNOSUPPORT;
    case Error::kAlready: return EALREADY;
    case Error::kBadFd: return EBADF;
    case Error::kConnAborted: return ECONNABORTED;
    case Error::kConnRefused: return ECONNREFUSED;
    case Error::kConnReset: return ECONNRESET;
    case Error::kDestAddrReq: return EDESTADDRREQ;
    case Error::kFault: return EFAULT;
    case Error::kHostUnreach: return EHOSTUNREACH;
    case Error::kInProgress: return EINPROGRESS;
    case Error::kInval: return EINVAL;
    case Error::kIsConn: return EISCONN;
    case Error::kMsgSize: return EMSGSIZE;
    case Error::kNetUnreach: return ENETUNREACH;
    case Error::kNoBufs: return ENOBUFS;
    case Error::kNoMem: return ENOMEM;
    case Error::kNoProtoOpt: return ENOPROTOOPT;
    case Error::kNotConn: return ENOTCONN;
    case Error::kOpNotSupp: return EOPNOTSUPP;
    case Error::kPipe: return EPIPE;
    case Error::kProtoNoSupport: return EPROTONOSUPPORT;
    case Error::kTimedOut: return ETIMEDOUT;
    case Error::kAccess: return EACCES;
    case Error::kProto: return EPROTO;
    case Error::kNetDown: return ENETDOWN;
    case Error::kNoDev: return ENODEV;
  }
  return EIO;
}

// Errors the stack never returns: about the call itself (an epoll
// registration, a missing capability, a libc without the call), not about
// a socket. Argument checks use the stack's names (Error::kFault for a bad
// pointer, Error::kInval for a bad flag or length, Error::kBadFd).
enum class CallError : uint8_t {
  kExist,  // EEXIST: epoll_ctl(EPOLL_CTL_ADD) of an fd already there
  kNoEnt,  // ENOENT: epoll_ctl of an fd not there; an unknown TCP_CONGESTION
  kNoSys,  // ENOSYS: the libc underneath lacks the call
  kNotTty,  // ENOTTY: an ioctl nobody answers
  kSPipe,  // ESPIPE: an offset given for a socket or a pipe
  kPerm,   // EPERM: a capability the option needs is missing
  kDom,    // EDOM: SO_RCVTIMEO / SO_SNDTIMEO out of range
};

constexpr int to_errno(CallError e) {
  switch (e) {
    case CallError::kExist: return EEXIST;
    case CallError::kNoEnt: return ENOENT;
    case CallError::kNoSys: return ENOSYS;
    case CallError::kNotTty: return ENOTTY;
    case CallError::kSPipe: return ESPIPE;
    case CallError::kPerm: return EPERM;
    case CallError::kDom: return EDOM;
  }
  return EIO;
}

// Sets errno and returns -1, as a failing libc call does.
inline int fail(Error e) {
  errno = to_errno(e);
  return -1;
}
inline int fail(CallError e) {
  errno = to_errno(e);
  return -1;
}
// Fails with an errno a real libc call already chose (kept across the
// calls made since): nothing is decided here.
inline int fail_with_errno(int kernel_errno) {
  errno = kernel_errno;
  return -1;
}

}  // namespace shunt::preload
