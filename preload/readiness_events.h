// The stack's readiness bits (stack/base/socket.h) as poll(2) and epoll(7)
// events, which Linux numbers alike (POLLIN == EPOLLIN, ...): one mapping
// for poll, select and epoll_wait here, and for the packetdrill adapter.
#pragma once

#include <poll.h>
#include <sys/epoll.h>

#include <cstdint>

#include "stack/base/socket.h"

namespace shunt::preload {

static_assert(POLLIN == EPOLLIN && POLLOUT == EPOLLOUT && POLLERR == EPOLLERR &&
              POLLHUP == EPOLLHUP && POLLRDHUP == EPOLLRDHUP && POLLRDNORM == EPOLLRDNORM &&
              POLLWRNORM == EPOLLWRNORM);

constexpr uint32_t readiness_events(uint32_t r) {
  uint32_t b = 0;
  if (r & readiness::kReadable) b |= POLLIN | POLLRDNORM;
  if (r & readiness::kWritable) b |= POLLOUT | POLLWRNORM;
  if (r & (readiness::kError | readiness::kErrQueue)) b |= POLLERR;
  if (r & readiness::kHangup) b |= POLLHUP;
  if (r & readiness::kReadHangup) b |= POLLRDHUP;
  return b;
}

}  // namespace shunt::preload
