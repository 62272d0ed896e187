#include "preload/blocking_wait.h"

#include "preload/calls.h"

namespace shunt::preload {

bool wait_and_look_again(std::unique_lock<std::mutex>& lock, Runtime& rt, int fd, SocketFile*& sf,
                         WaitFor what) {
  const bool for_write = what == WaitFor::kWrite;
  const Duration timeout = call_timeout(for_write ? sf->sndtimeo : sf->rcvtimeo);
  if (rt.wait(lock, sf, fd, for_write, timeout, what == WaitFor::kReadBytes) < 0) return false;
  sf = rt.lookup(fd);
  if (sf == nullptr) {
    fail(Error::kBadFd);
    return false;
  }
  return true;
}

}  // namespace shunt::preload
