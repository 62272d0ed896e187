#include "preload/epoll_shadow.h"

#include <sys/epoll.h>

namespace shunt::preload {

void count_epoll_interest(SocketFile* sf, uint32_t events, int sign) {
  if (events & (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLRDNORM)) sf->epoll_read += sign;
  if (events & (EPOLLOUT | EPOLLWRNORM)) sf->epoll_write += sign;
  if (events & EPOLLET) sf->epoll_edge += sign;
}

EpollShadow::~EpollShadow() {
  delete[] flags_.load(std::memory_order_acquire);
}

void EpollShadow::init(size_t size) {
  size_ = size;
  flags_.store(new std::atomic<uint8_t>[size](), std::memory_order_release);
}

int EpollShadow::count(int epfd) const {
  auto it = counts_.find(epfd);
  return it == counts_.end() ? 0 : it->second;
}

const EpollShadow::Registration* EpollShadow::find(int epfd, int fd) const {
  auto it = regs_.find(key(epfd, fd));
  return it == regs_.end() ? nullptr : &it->second;
}

bool EpollShadow::add(int epfd, int fd, SocketFile* sf, uint32_t events, uint64_t data) {
  if (!regs_.emplace(key(epfd, fd), Registration{events, data, false}).second) return false;
  if (std::atomic<uint8_t>* f = flags_.load(std::memory_order_acquire);
      f != nullptr && epfd >= 0 && static_cast<size_t>(epfd) < size_) {
    f[epfd].store(1);
  }
  ++counts_[epfd];
  count_epoll_interest(sf, events, +1);
  return true;
}

bool EpollShadow::modify(int epfd, int fd, SocketFile* sf, uint32_t events, uint64_t data) {
  auto it = regs_.find(key(epfd, fd));
  if (it == regs_.end()) return false;
  if (!it->second.disabled) count_epoll_interest(sf, it->second.events, -1);
  it->second = Registration{events, data, false};
  count_epoll_interest(sf, events, +1);
  return true;
}

bool EpollShadow::remove(int epfd, int fd, SocketFile* sf) {
  auto it = regs_.find(key(epfd, fd));
  if (it == regs_.end()) return false;
  drop(it, sf);
  return true;
}

void EpollShadow::disable(int epfd, int fd, SocketFile* sf) {
  auto it = regs_.find(key(epfd, fd));
  if (it == regs_.end() || it->second.disabled) return;
  it->second.disabled = true;
  count_epoll_interest(sf, it->second.events, -1);
}

void EpollShadow::forget_fd(int fd) {
  for (auto it = regs_.begin(); it != regs_.end();) {
    const int epfd = static_cast<int>(it->first >> 32);
    const int watched = static_cast<int>(it->first & 0xffffffffu);
    it = (watched == fd || epfd == fd) ? drop(it, fds_.lookup(watched)) : std::next(it);
  }
}

EpollShadow::Map::iterator EpollShadow::drop(Map::iterator it, SocketFile* sf) {
  const int epfd = static_cast<int>(it->first >> 32);
  if (sf != nullptr && !it->second.disabled) count_epoll_interest(sf, it->second.events, -1);
  if (auto c = counts_.find(epfd); c != counts_.end() && --c->second <= 0) {
    counts_.erase(c);
    if (std::atomic<uint8_t>* f = flags_.load(std::memory_order_acquire);
        f != nullptr && static_cast<size_t>(epfd) < size_) {
      f[epfd].store(0);
    }
  }
  return regs_.erase(it);
}

}  // namespace shunt::preload
