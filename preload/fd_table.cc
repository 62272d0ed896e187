#include "preload/fd_table.h"

#include <algorithm>

namespace shunt::preload {

FdTable::~FdTable() {
  delete[] table_.load(std::memory_order_acquire);
}

void FdTable::init(size_t size) {
  size_ = size;
  table_.store(new SocketFile*[size](), std::memory_order_release);
}

SocketFile* FdTable::add_socket(SocketId id, int domain, int type, int fd, bool nonblock) {
  auto* sf = new SocketFile();
  sf->id = id;
  sf->domain = domain;
  sf->type = type;
  sf->nonblock = nonblock;
  by_id_[id.raw()] = sf;
  add_fd(sf, fd);
  return sf;
}

void FdTable::add_fd(SocketFile* sf, int fd) {
  sf->fds.push_back(fd);
  SocketFile** t = table_.load(std::memory_order_acquire);
  if (t != nullptr && fd >= 0 && static_cast<size_t>(fd) < size_) {
    __atomic_store_n(&t[fd], sf, __ATOMIC_RELEASE);
  }
}

bool FdTable::remove_fd(SocketFile* sf, int fd) {
  SocketFile** t = table_.load(std::memory_order_acquire);
  if (t != nullptr && fd >= 0 && static_cast<size_t>(fd) < size_) {
    __atomic_store_n(&t[fd], nullptr, __ATOMIC_RELEASE);
  }
  sf->fds.erase(std::remove(sf->fds.begin(), sf->fds.end(), fd), sf->fds.end());
  if (!sf->fds.empty()) return false;
  by_id_.erase(sf->id.raw());
  return true;
}

SocketFile* FdTable::by_id(SocketId id) const {
  auto it = by_id_.find(id.raw());
  return it == by_id_.end() ? nullptr : it->second;
}

}  // namespace shunt::preload
