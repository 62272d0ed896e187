// Shared pieces of the interposed calls.
#pragma once

#include <cerrno>
#include <mutex>

#include "preload/errno_map.h"
#include "preload/libc.h"
#include "preload/runtime.h"

#define SHUNT_EXPORT extern "C" __attribute__((visibility("default")))

namespace shunt::preload {

// The timeout a blocking call on `sf` waits (SO_RCVTIMEO / SO_SNDTIMEO;
// zero means for ever, which wait() spells as negative).
inline Duration call_timeout(Duration opt) { return opt == Duration::zero() ? Duration(-1) : opt; }

// Replaces a stack socket by a kernel socket on the same fd number
// (docs/design.md 6: loopback and real IPv6 go to the kernel). Replays the
// recorded options and the bind. Lock held; returns 0 or -1/errno.
int handover(std::unique_lock<std::mutex>& lock, int fd, SocketFile* sf);

// EPIPE from a send: SIGPIPE unless MSG_NOSIGNAL (send(2)).
void raise_sigpipe(int flags);

// UDP_CORK turned off: the datagram held back leaves (intercept_io.cc).
// Lock held; 0 or -1/errno.
int flush_udp_cork(Runtime& rt, SocketFile* sf);

}  // namespace shunt::preload
