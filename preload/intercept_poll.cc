// Readiness over mixed kernel and stack fds: poll, ppoll, select,
// pselect, epoll (docs/design.md 5). Stack readiness is computed directly; the
// kernel is only asked to sleep, on the kernel fds plus the placeholders.
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "preload/calls.h"
#include "preload/readiness_events.h"

namespace shunt::preload {
namespace {

constexpr uint64_t kTag = 0x5348554eull << 32;  // "SHUN": marks our epoll_data

uint32_t interest_read(short events) { return (events & (POLLIN | POLLPRI | POLLRDNORM | POLLRDHUP)) != 0; }
uint32_t interest_write(short events) { return (events & (POLLOUT | POLLWRNORM)) != 0; }

short stack_revents(Runtime& rt, SocketFile* sf, short events) {
  if (sf->inert) return POLLERR | POLLHUP;
  auto r = rt.stack().readiness(sf->id);
  if (!r) return POLLNVAL;
  return static_cast<short>(readiness_events(*r) & (events | POLLERR | POLLHUP));
}

int64_t mono_ns() { return to_ns(Runtime::get().now()); }

int do_poll(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* sigmask) {
  Runtime& rt = Runtime::get();
  bool any = false;
  for (nfds_t i = 0; i < n && !any; ++i) any = rt.lookup(fds[i].fd) != nullptr;
  if (!any) return libc().ppoll(fds, n, timeout, sigmask);

  const int64_t deadline =
      timeout == nullptr ? INT64_MAX : mono_ns() + timeout->tv_sec * 1'000'000'000 + timeout->tv_nsec;
  std::vector<pollfd> k(fds, fds + n);
  while (true) {
    std::unique_lock<std::mutex> lock(rt.mutex());
    int ready = 0;
    std::vector<SocketFile*> socks(n, nullptr);
    for (nfds_t i = 0; i < n; ++i) {
      socks[i] = rt.lookup(fds[i].fd);
      fds[i].revents = 0;
      if (socks[i] != nullptr) {
        fds[i].revents = stack_revents(rt, socks[i], fds[i].events);
        ready += fds[i].revents != 0;
      }
    }
    const int64_t left = deadline == INT64_MAX ? -1 : std::max<int64_t>(deadline - mono_ns(), 0);
    // Register interest, then sleep in the kernel on everything.
    if (ready == 0 && left != 0) {
      for (nfds_t i = 0; i < n; ++i) {
        if (SocketFile* sf = socks[i]) {
          sf->read_waiters += interest_read(fds[i].events);
          sf->write_waiters += interest_write(fds[i].events);
          rt.update_signal(sf);
        }
      }
    }
    lock.unlock();
    for (nfds_t i = 0; i < n; ++i) {
      k[i].fd = fds[i].fd;
      k[i].events = socks[i] != nullptr ? POLLIN : fds[i].events;
      k[i].revents = 0;
    }
    timespec ts{};
    const timespec* tsp = nullptr;
    if (ready > 0 || left == 0) {
      tsp = &ts;  // only ask the kernel fds, without waiting
    } else if (left > 0) {
      ts.tv_sec = left / 1'000'000'000;
      ts.tv_nsec = left % 1'000'000'000;
      tsp = &ts;
    }
    int r = libc().ppoll(k.data(), n, tsp, sigmask);
    int saved = errno;
    lock.lock();
    if (ready == 0 && left != 0) {
      for (nfds_t i = 0; i < n; ++i) {
        if (SocketFile* sf = rt.lookup(fds[i].fd); sf != nullptr && sf == socks[i]) {
          sf->read_waiters -= interest_read(fds[i].events);
          sf->write_waiters -= interest_write(fds[i].events);
          rt.update_signal(sf);
        }
      }
    }
    if (r < 0) return fail_with_errno(saved);
    int count = 0;
    for (nfds_t i = 0; i < n; ++i) {
      if (SocketFile* sf = rt.lookup(fds[i].fd)) {
        fds[i].revents = stack_revents(rt, sf, fds[i].events);
      } else {
        fds[i].revents = k[i].revents;
      }
      count += fds[i].revents != 0;
    }
    if (count > 0 || (deadline != INT64_MAX && mono_ns() >= deadline)) return count;
    // Woken for something nobody here asked for: sleep again.
  }
}

int do_select(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, const timespec* timeout,
              const sigset_t* sigmask) {
  if (nfds < 0 || nfds > FD_SETSIZE) return fail(Error::kInval);
  std::vector<pollfd> p;
  for (int fd = 0; fd < nfds; ++fd) {
    short ev = 0;
    if (rd != nullptr && FD_ISSET(fd, rd)) ev |= POLLIN;
    if (wr != nullptr && FD_ISSET(fd, wr)) ev |= POLLOUT;
    if (ex != nullptr && FD_ISSET(fd, ex)) ev |= POLLPRI;
    if (ev != 0) p.push_back(pollfd{fd, ev, 0});
  }
  int r = do_poll(p.data(), p.size(), timeout, sigmask);
  if (r < 0) return -1;
  for (const pollfd& q : p) {
    if (q.revents & POLLNVAL) return fail(Error::kBadFd);
  }
  if (rd != nullptr) FD_ZERO(rd);
  if (wr != nullptr) FD_ZERO(wr);
  if (ex != nullptr) FD_ZERO(ex);
  int count = 0;
  for (const pollfd& q : p) {
    if (rd != nullptr && (q.events & POLLIN) && (q.revents & (POLLIN | POLLHUP | POLLERR))) {
      FD_SET(q.fd, rd);
      ++count;
    }
    if (wr != nullptr && (q.events & POLLOUT) && (q.revents & (POLLOUT | POLLERR))) {
      FD_SET(q.fd, wr);
      ++count;
    }
    if (ex != nullptr && (q.events & POLLPRI) && (q.revents & POLLPRI)) {
      FD_SET(q.fd, ex);
      ++count;
    }
  }
  return count;
}

}  // namespace
}  // namespace shunt::preload

using namespace shunt;
using namespace shunt::preload;

SHUNT_EXPORT int poll(pollfd* fds, nfds_t n, int timeout_ms) {
  if (timeout_ms < 0) return do_poll(fds, n, nullptr, nullptr);
  timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000L};
  return do_poll(fds, n, &ts, nullptr);
}

SHUNT_EXPORT int __poll_chk(pollfd* fds, nfds_t n, int timeout_ms, size_t fdslen) {
  if (fdslen / sizeof(pollfd) < n) __builtin_trap();
  return poll(fds, n, timeout_ms);
}

SHUNT_EXPORT int ppoll(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* sigmask) {
  return do_poll(fds, n, timeout, sigmask);
}

SHUNT_EXPORT int __ppoll_chk(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* sigmask,
                             size_t fdslen) {
  if (fdslen / sizeof(pollfd) < n) __builtin_trap();
  return do_poll(fds, n, timeout, sigmask);
}

SHUNT_EXPORT int select(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, timeval* tv) {
  Runtime& rt = Runtime::get();
  if (!rt.started()) return libc().select(nfds, rd, wr, ex, tv);
  if (tv == nullptr) return do_select(nfds, rd, wr, ex, nullptr, nullptr);
  if (tv->tv_sec < 0 || tv->tv_usec < 0) return fail(Error::kInval);
  timespec ts{tv->tv_sec + tv->tv_usec / 1000000, (tv->tv_usec % 1000000) * 1000L};
  const int64_t start = to_ns(rt.now());
  int r = do_select(nfds, rd, wr, ex, &ts, nullptr);
  // Linux select() reports the time left.
  int64_t left = ts.tv_sec * 1'000'000'000 + ts.tv_nsec - (to_ns(rt.now()) - start);
  if (left < 0) left = 0;
  tv->tv_sec = left / 1'000'000'000;
  tv->tv_usec = (left % 1'000'000'000) / 1000;
  return r;
}

SHUNT_EXPORT int pselect(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, const timespec* ts,
                         const sigset_t* sigmask) {
  if (!Runtime::get().started()) return libc().pselect(nfds, rd, wr, ex, ts, sigmask);
  return do_select(nfds, rd, wr, ex, ts, sigmask);
}

// ---- epoll ------------------------------------------------------------------

SHUNT_EXPORT int epoll_ctl(int epfd, int op, int fd, epoll_event* event) noexcept {
  Runtime& rt = Runtime::get();
  if (rt.lookup(fd) == nullptr) return libc().epoll_ctl(epfd, op, fd, event);
  std::unique_lock<std::mutex> lock(rt.mutex());
  SocketFile* sf = rt.lookup(fd);
  if (sf == nullptr) return libc().epoll_ctl(epfd, op, fd, event);
  EpollShadow& shadow = rt.epoll();
  const EpollShadow::Registration* reg = shadow.find(epfd, fd);
  if (op != EPOLL_CTL_DEL && event == nullptr) return fail(Error::kFault);
  epoll_event kev{};
  if (event != nullptr) {
    // The kernel watches the placeholder: readable when the stack says so.
    kev.events = EPOLLIN | (event->events & (EPOLLET | EPOLLEXCLUSIVE | EPOLLWAKEUP));
    kev.data.u64 = kTag | static_cast<uint32_t>(fd);
  }
  switch (op) {
    case EPOLL_CTL_ADD: {
      if (reg != nullptr) return fail(CallError::kExist);
      if (libc().epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &kev) < 0) return -1;
      shadow.add(epfd, fd, sf, event->events, event->data.u64);
      break;
    }
    case EPOLL_CTL_MOD: {
      if (reg == nullptr) return fail(CallError::kNoEnt);
      if ((reg->events & EPOLLEXCLUSIVE) != 0) return fail(Error::kInval);
      if (libc().epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &kev) < 0) return -1;
      shadow.modify(epfd, fd, sf, event->events, event->data.u64);
      break;
    }
    case EPOLL_CTL_DEL: {
      if (reg == nullptr) return fail(CallError::kNoEnt);
      libc().epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &kev);
      shadow.remove(epfd, fd, sf);
      break;
    }
    default:
      return fail(Error::kInval);
  }
  rt.update_signal(sf);
  return 0;
}

static int do_epoll_wait(int epfd, epoll_event* events, int maxevents, const timespec* timeout,
                         const sigset_t* sigmask, bool has_sigmask) {
  Runtime& rt = Runtime::get();
  bool ours = false;
  if (rt.started()) {
    std::lock_guard<std::mutex> lock(rt.mutex());
    ours = rt.epoll().watches(epfd);
  }
  auto real_wait = [&](epoll_event* ev, int max, const timespec* t) {
    if (libc().epoll_pwait2 != nullptr) return libc().epoll_pwait2(epfd, ev, max, t, has_sigmask ? sigmask : nullptr);
    int ms = t == nullptr ? -1 : static_cast<int>(t->tv_sec * 1000 + (t->tv_nsec + 999'999) / 1'000'000);
    return libc().epoll_pwait(epfd, ev, max, ms, has_sigmask ? sigmask : nullptr);
  };
  if (!ours) return real_wait(events, maxevents, timeout);
  if (maxevents <= 0 || events == nullptr) return fail(Error::kInval);
  const int64_t deadline =
      timeout == nullptr ? INT64_MAX : mono_ns() + timeout->tv_sec * 1'000'000'000 + timeout->tv_nsec;
  std::vector<epoll_event> kev(static_cast<size_t>(maxevents));
  while (true) {
    timespec ts{};
    const timespec* tsp = nullptr;
    if (deadline != INT64_MAX) {
      int64_t left = std::max<int64_t>(deadline - mono_ns(), 0);
      ts.tv_sec = left / 1'000'000'000;
      ts.tv_nsec = left % 1'000'000'000;
      tsp = &ts;
    }
    int n = real_wait(kev.data(), maxevents, tsp);
    if (n <= 0) return n;
    int out = 0;
    std::lock_guard<std::mutex> lock(rt.mutex());
    for (int i = 0; i < n; ++i) {
      if ((kev[i].data.u64 & 0xffffffff00000000ull) != kTag) {
        events[out++] = kev[i];  // a kernel fd: the kernel has the app's data
        continue;
      }
      const int fd = static_cast<int>(kev[i].data.u64 & 0xffffffffu);
      const EpollShadow::Registration* reg = rt.epoll().find(epfd, fd);
      SocketFile* sf = rt.lookup(fd);
      if (reg == nullptr || sf == nullptr || reg->disabled) continue;
      uint32_t ev;
      if (sf->inert) {
        ev = EPOLLERR | EPOLLHUP;
      } else {
        auto r = rt.stack().readiness(sf->id);
        ev = r ? readiness_events(*r) : EPOLLERR;
      }
      ev &= reg->events | EPOLLERR | EPOLLHUP;
      if (ev == 0) continue;  // spurious: ready for what another watcher wants
      events[out].events = ev;
      events[out].data.u64 = reg->data;
      ++out;
      if (reg->events & EPOLLONESHOT) {
        // Disarmed until EPOLL_CTL_MOD, as the kernel does.
        rt.epoll().disable(epfd, fd, sf);
        epoll_event off{};
        off.data.u64 = kev[i].data.u64;
        libc().epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &off);
        rt.update_signal(sf);
      }
    }
    if (out > 0) return out;
    if (deadline != INT64_MAX && mono_ns() >= deadline) return 0;
  }
}

SHUNT_EXPORT int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout) {
  if (timeout < 0) return do_epoll_wait(epfd, events, maxevents, nullptr, nullptr, false);
  timespec ts{timeout / 1000, (timeout % 1000) * 1'000'000L};
  return do_epoll_wait(epfd, events, maxevents, &ts, nullptr, false);
}

SHUNT_EXPORT int epoll_pwait(int epfd, epoll_event* events, int maxevents, int timeout, const sigset_t* sigmask) {
  if (timeout < 0) return do_epoll_wait(epfd, events, maxevents, nullptr, sigmask, true);
  timespec ts{timeout / 1000, (timeout % 1000) * 1'000'000L};
  return do_epoll_wait(epfd, events, maxevents, &ts, sigmask, true);
}

SHUNT_EXPORT int epoll_pwait2(int epfd, epoll_event* events, int maxevents, const timespec* timeout,
                              const sigset_t* sigmask) {
  return do_epoll_wait(epfd, events, maxevents, timeout, sigmask, true);
}
