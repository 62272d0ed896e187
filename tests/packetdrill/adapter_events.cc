// poll and epoll over the adapter's sockets (design.md 5 describes what
// preload/ does for the same calls on real descriptors).
//
// epoll: level-triggered registrations report whatever is ready; EPOLLET
// ones report only after a wake-up (the stack said the socket's readiness
// may have changed, Linux's ep_poll_callback) and then wait for the next;
// EPOLLONESHOT disables the registration until EPOLL_CTL_MOD.
#include <cerrno>

#include "preload/readiness_events.h"
#include "tests/packetdrill/adapter.h"

namespace shunt::packetdrill {
namespace {

Duration from_ms(int ms) {
  return ms < 0 ? Duration(-1) : Duration(std::chrono::milliseconds(ms));
}

}  // namespace

uint32_t Adapter::poll_events(int fd) {
  FdEntry* e = socket_entry(fd);
  if (e == nullptr) return POLLNVAL;
  auto r = engine_.stack().readiness(e->id);
  return r ? preload::readiness_events(*r) : POLLNVAL;
}

int Adapter::poll(pollfd* fds, nfds_t n, int timeout_ms) {
  auto lk = engine_.lock();
  int count = 0;
  auto scan = [&] {
    count = 0;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].fd < 0) {
        fds[i].revents = 0;
        continue;
      }
      // POLLERR, POLLHUP and POLLNVAL are reported whether asked or not.
      const uint32_t have = poll_events(fds[i].fd);
      const uint32_t want = static_cast<uint16_t>(fds[i].events) | POLLERR | POLLHUP | POLLNVAL;
      fds[i].revents = static_cast<short>(have & want);
      if (fds[i].revents != 0) ++count;
    }
    return count > 0 || timeout_ms == 0;
  };
  engine_.wait(lk, scan, deadline_after(from_ms(timeout_ms)));
  return count;
}

int Adapter::epoll_create(int size) {
  auto lk = engine_.lock();
  if (size <= 0) return fail_errno(EINVAL);
  FdEntry e;
  e.kind = FdEntry::Kind::kEpoll;
  return new_fd(std::move(e));
}

int Adapter::epoll_ctl(int epfd, int op, int fd, epoll_event* ev) {
  auto lk = engine_.lock();
  auto it = fds_.find(epfd);
  if (it == fds_.end()) return fail_errno(EBADF);
  if (it->second.kind != FdEntry::Kind::kEpoll || epfd == fd) return fail_errno(EINVAL);
  if (fds_.count(fd) == 0) return fail_errno(EBADF);
  auto& watched = it->second.watched;
  auto w = watched.find(fd);
  switch (op) {
    case EPOLL_CTL_ADD:
      if (w != watched.end()) return fail_errno(EEXIST);
      if (ev == nullptr) return fail_errno(EFAULT);
      watched[fd] = EpollRegistration{ev->events, ev->data, true, false};
      return 0;
    case EPOLL_CTL_MOD:
      if (w == watched.end()) return fail_errno(ENOENT);
      if (ev == nullptr) return fail_errno(EFAULT);
      w->second = EpollRegistration{ev->events, ev->data, true, false};
      return 0;
    case EPOLL_CTL_DEL:
      if (w == watched.end()) return fail_errno(ENOENT);
      watched.erase(w);
      return 0;
    default:
      return fail_errno(EINVAL);
  }
}

int Adapter::ready_epoll_events(FdEntry& ep, epoll_event* events, int max) {
  int n = 0;
  for (auto& [fd, reg] : ep.watched) {
    if (n == max) break;
    if (reg.disabled) continue;
    const bool edge = (reg.events & EPOLLET) != 0;
    if (edge && !reg.pending) continue;
    FdEntry* s = socket_entry(fd);
    if (s == nullptr) continue;
    auto r = engine_.stack().readiness(s->id);
    if (!r) continue;
    const uint32_t got = preload::readiness_events(*r) & (reg.events | EPOLLERR | EPOLLHUP);
    if (got == 0) continue;
    events[n].events = got;
    events[n].data = reg.data;
    ++n;
    if (edge) reg.pending = false;
    if (reg.events & EPOLLONESHOT) reg.disabled = true;
  }
  return n;
}

int Adapter::epoll_wait(int epfd, epoll_event* events, int max, int timeout_ms) {
  auto lk = engine_.lock();
  auto it = fds_.find(epfd);
  if (it == fds_.end()) return fail_errno(EBADF);
  if (it->second.kind != FdEntry::Kind::kEpoll || max <= 0) return fail_errno(EINVAL);
  if (events == nullptr) return fail_errno(EFAULT);
  int n = 0;
  auto scan = [&] {
    auto again = fds_.find(epfd);
    if (again == fds_.end()) return true;
    n = ready_epoll_events(again->second, events, max);
    return n > 0 || timeout_ms == 0;
  };
  engine_.wait(lk, scan, deadline_after(from_ms(timeout_ms)));
  return n;
}

}  // namespace shunt::packetdrill
