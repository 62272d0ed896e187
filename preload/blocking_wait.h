// The one wait of a blocking socket call (docs/design.md 5): the call found
// its socket not ready, so it waits until the socket may be ready or its
// timeout passes, then looks again.
//
//   while (true) {
//     auto r = rt.stack().recv_from(sf->id, ...);
//     if (r || r.error() != Error::kAgain || nonblock) return ...;
//     if (!wait_and_look_again(lock, rt, fd, sf, WaitFor::kRead)) return -1;
//   }
#pragma once

#include <cstdint>
#include <mutex>

#include "preload/runtime.h"

namespace shunt::preload {

enum class WaitFor : uint8_t {
  kRead,       // readable (SO_RCVLOWAT's mark reached), an error or a hangup
  kReadBytes,  // as kRead, and any new stream bytes below SO_RCVLOWAT (sk_wait_data)
  kWrite,      // writable, an error or a hangup
};

// Waits on `fd`'s socket `sf` (lock held; released while sleeping) for
// `what`, at most the socket's SO_RCVTIMEO (reads) or SO_SNDTIMEO (writes;
// zero: for ever), then looks `fd` up again into `sf`.
//
// True: look at `sf` again. False, with errno: EAGAIN (the timeout passed),
// EINTR (a signal, signal(7)'s restart rule applied), ENETDOWN (the runtime
// lost its device), each with `sf` unchanged; or EBADF with `sf` nullptr
// (the fd was closed while the call slept).
bool wait_and_look_again(std::unique_lock<std::mutex>& lock, Runtime& rt, int fd, SocketFile*& sf,
                         WaitFor what);

}  // namespace shunt::preload
