// Socket options beyond the common ones that intercept_socket.cc serves
// itself: receive and send low-water marks, ancillary-data switches,
// multicast, IP_RECVERR, buffer forcing, device binding, priorities and
// marks, UDP corking and segmentation, TCP deferral and Fast Open
// (docs/compatibility.md lists what each does and what is refused).
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "preload/errno_map.h"
#include "preload/runtime.h"

namespace shunt::preload {

// Writes an option's value for getsockopt, truncated to *optlen as Linux
// does; 0, or -1 with errno.
template <class T>
int put_opt(void* optval, socklen_t* optlen, T v) {
  if (optval == nullptr || optlen == nullptr) return fail(Error::kFault);
  socklen_t n = std::min<socklen_t>(*optlen, sizeof(T));
  std::memcpy(optval, &v, n);
  *optlen = n;
  return 0;
}

// "Not one of these options": setsockopt/getsockopt go on to their own.
inline constexpr int kUnhandled = -2;

// Lock held. Return 0, -1 with errno, or kUnhandled.
int set_more_option(Runtime& rt, SocketFile* sf, int level, int name, const void* optval,
                    socklen_t optlen);
int get_more_option(Runtime& rt, SocketFile* sf, int level, int name, void* optval,
                    socklen_t* optlen);

// Whether the process has `cap` (linux/capability.h) in its effective set,
// as the kernel's checks for the same option would find.
bool has_capability(int cap);

}  // namespace shunt::preload
