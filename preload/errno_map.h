// The one place where a stack Error becomes an errno (docs/design.md 9).
#pragma once

#include <cerrno>

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

}  // namespace shunt::preload
