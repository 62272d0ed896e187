// The data path of a stack socket shared by the interposed data calls:
// send* and recv* (intercept_io.cc), sendfile and splice
// (intercept_splice.cc).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <mutex>

#include "preload/runtime.h"

namespace shunt::preload {

// recvmsg's control messages (intercept_io.cc).
class CmsgWriter;

// stack_send / stack_recv found the fd's placeholder replaced behind our
// back (Runtime::drop_if_stale): the caller redoes the call on the kernel.
inline constexpr ssize_t kRedo = -2;

// One send on `fd`'s stack socket `sf` (lock held; a blocking send waits
// with the lock released). The bytes sent, -1/errno, or kRedo.
ssize_t stack_send(std::unique_lock<std::mutex>& lock, int fd, SocketFile* sf, const iovec* iov,
                   int iovcnt, int flags, const sockaddr* to, socklen_t tolen,
                   const msghdr* msg = nullptr);

// One receive on `fd`'s stack socket `sf` (lock held; a blocking receive
// waits with the lock released). The bytes received, -1/errno, or kRedo.
ssize_t stack_recv(std::unique_lock<std::mutex>& lock, int fd, SocketFile* sf, const iovec* iov,
                   int iovcnt, int flags, sockaddr* from, socklen_t* fromlen, int* msg_flags,
                   CmsgWriter* cw = nullptr);

}  // namespace shunt::preload
