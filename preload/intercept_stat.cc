// fstat on a stack socket reports a socket (S_IFSOCK), as the kernel does,
// instead of the placeholder eventfd's anonymous inode: programs check
// S_ISSOCK (socket activation, libuv's handle guessing).
#include <fcntl.h>
#include <sys/stat.h>

#include "preload/calls.h"

namespace {

template <class St>
void as_socket(St* st) {
  st->st_mode = S_IFSOCK | 0777;
  st->st_size = 0;
}

}  // namespace

using namespace shunt::preload;

namespace {

// Without a runtime there are no stack fds; fstat does not make one.
bool is_stack_fd(int fd) {
  Runtime* rt = Runtime::existing();
  return rt != nullptr && rt->lookup(fd) != nullptr;
}

}  // namespace

SHUNT_EXPORT int fstat(int fd, struct stat* st) noexcept {
  const auto real = libc().fstat;
  int r = real(fd, st);
  if (r == 0 && is_stack_fd(fd)) as_socket(st);
  return r;
}

SHUNT_EXPORT int fstat64(int fd, struct stat64* st) noexcept {
  const auto real = libc().fstat64;
  int r = real(fd, st);
  if (r == 0 && is_stack_fd(fd)) as_socket(st);
  return r;
}

// Binaries built against glibc < 2.33 import these instead.
SHUNT_EXPORT int __fxstat(int ver, int fd, struct stat* st) noexcept {
  const auto real = libc().__fxstat;
  if (real == nullptr) return fail(CallError::kNoSys);
  int r = real(ver, fd, st);
  if (r == 0 && is_stack_fd(fd)) as_socket(st);
  return r;
}

SHUNT_EXPORT int __fxstat64(int ver, int fd, struct stat64* st) noexcept {
  const auto real = libc().__fxstat64;
  if (real == nullptr) return fail(CallError::kNoSys);
  int r = real(ver, fd, st);
  if (r == 0 && is_stack_fd(fd)) as_socket(st);
  return r;
}

// fstatat(fd, "", st, AT_EMPTY_PATH) and statx(fd, "", AT_EMPTY_PATH, ...)
// describe the fd itself (libuv's uv_fs_fstat uses statx).
namespace {

bool describes_stack_fd(int fd, const char* path, int flags) {
  return (flags & AT_EMPTY_PATH) != 0 && path != nullptr && *path == '\0' && is_stack_fd(fd);
}

}  // namespace

SHUNT_EXPORT int fstatat(int fd, const char* path, struct stat* st, int flags) noexcept {
  const auto real = libc().fstatat;
  int r = real(fd, path, st, flags);
  if (r == 0 && describes_stack_fd(fd, path, flags)) as_socket(st);
  return r;
}

SHUNT_EXPORT int fstatat64(int fd, const char* path, struct stat64* st, int flags) noexcept {
  const auto real = libc().fstatat64;
  int r = real(fd, path, st, flags);
  if (r == 0 && describes_stack_fd(fd, path, flags)) as_socket(st);
  return r;
}

SHUNT_EXPORT int statx(int fd, const char* path, int flags, unsigned mask, struct statx* stx) noexcept {
  const auto real = libc().statx;
  if (real == nullptr) return fail(CallError::kNoSys);
  int r = real(fd, path, flags, mask, stx);
  if (r == 0 && describes_stack_fd(fd, path, flags)) {
    stx->stx_mode = S_IFSOCK | 0777;
    stx->stx_size = 0;
  }
  return r;
}
