// Interposed sendfile and splice on stack sockets, emulated by copying
// through a buffer (the kernel cannot move pages into or out of a
// user-space stack).
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "preload/calls.h"
#include "preload/data_path.h"

using namespace shunt;
using namespace shunt::preload;

// sendfile with a stack socket as the destination: read the file and send
// (docs/design.md / issue 5: emulated). A stack socket as the source is EINVAL,
// as for any socket on Linux.
static ssize_t do_sendfile(int out_fd, int in_fd, off_t* offset, size_t count, bool is64) {
  Runtime& rt = Runtime::get();
  if (rt.lookup(out_fd) == nullptr) {
    if (rt.lookup(in_fd) != nullptr) return fail(Error::kInval);
    return is64 ? libc().sendfile64(out_fd, in_fd, reinterpret_cast<off64_t*>(offset), count)
                : libc().sendfile(out_fd, in_fd, offset, count);
  }
  std::vector<uint8_t> buf(std::min<size_t>(count, 256 * 1024));
  size_t done = 0;
  off_t pos = offset != nullptr ? *offset : 0;
  while (done < count) {
    size_t want = std::min(buf.size(), count - done);
    ssize_t n = offset != nullptr ? pread(in_fd, buf.data(), want, pos)
                                  : libc().read(in_fd, buf.data(), want);
    if (n < 0) return done > 0 ? static_cast<ssize_t>(done) : -1;
    if (n == 0) break;
    ssize_t w;
    {
      std::unique_lock<std::mutex> lock(rt.mutex());
      SocketFile* sf = rt.lookup(out_fd);
      if (sf == nullptr) return fail(Error::kBadFd);
      iovec v{buf.data(), static_cast<size_t>(n)};
      w = stack_send(lock, out_fd, sf, &v, 1, 0, nullptr, 0);
    }
    if (w == kRedo) {
      // out_fd is a kernel file now: the rest goes the kernel's way, from
      // where this round started reading.
      if (offset == nullptr) lseek(in_fd, -n, SEEK_CUR);
      if (done > 0) break;
      return is64 ? libc().sendfile64(out_fd, in_fd, reinterpret_cast<off64_t*>(offset), count)
                  : libc().sendfile(out_fd, in_fd, offset, count);
    }
    if (w < 0) {
      if (done > 0) break;
      return -1;
    }
    done += static_cast<size_t>(w);
    pos += w;
    if (w < n) {
      // The socket took less (non-blocking): put the file position back.
      if (offset == nullptr) lseek(in_fd, w - n, SEEK_CUR);
      break;
    }
  }
  if (offset != nullptr) *offset = pos;
  return static_cast<ssize_t>(done);
}

SHUNT_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) noexcept {
  return do_sendfile(out_fd, in_fd, offset, count, false);
}

SHUNT_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t* offset, size_t count) noexcept {
  return do_sendfile(out_fd, in_fd, reinterpret_cast<off_t*>(offset), count, true);
}

namespace {

bool is_pipe(int fd) {
  struct stat st {};
  return libc().fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

// Waits until the pipe `fd` is ready for `events` (POLLIN / POLLOUT), or,
// for POLLIN, has no writers left. Returns 0, or -1 with errno (EINTR).
int wait_pipe(int fd, short events) {
  pollfd p{fd, events, 0};
  while (true) {
    int r = libc().poll(&p, 1, -1);
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return -1;
    if (r < 0) return -1;
  }
}

// A stack socket into a pipe: what the pipe has room for is peeked from
// the socket, written into the pipe, and then taken off the socket, so
// nothing is lost when the pipe takes less.
ssize_t splice_socket_to_pipe(int sock, int pipe_w, size_t len, unsigned flags) {
  const bool nonblock = (flags & SPLICE_F_NONBLOCK) != 0;
  Runtime& rt = Runtime::get();
  while (true) {
    const int size = libc().fcntl(pipe_w, F_GETPIPE_SZ);
    int queued = 0;
    libc().ioctl(pipe_w, FIONREAD, &queued);
    const size_t room = size > queued ? static_cast<size_t>(size - queued) : 0;
    if (room == 0) {
      if (nonblock) return fail(Error::kAgain);
      if (wait_pipe(pipe_w, POLLOUT) < 0) return -1;
      continue;
    }
    std::vector<uint8_t> buf(std::min(len, room));
    iovec v{buf.data(), buf.size()};
    ssize_t n;
    bool datagram;
    {
      std::unique_lock<std::mutex> lock(rt.mutex());
      SocketFile* sf = rt.lookup(sock);
      if (sf == nullptr) return fail(Error::kBadFd);
      datagram = sf->type == SOCK_DGRAM;
      // A datagram is taken whole (the rest of a long one is lost, as with
      // read); a stream is only peeked here.
      const int rflags = (datagram ? 0 : MSG_PEEK) | (nonblock ? MSG_DONTWAIT : 0);
      n = stack_recv(lock, sock, sf, &v, 1, rflags, nullptr, nullptr, nullptr);
    }
    if (n == kRedo) return fail(Error::kBadFd);
    if (n <= 0) return n;
    ssize_t w = libc().write(pipe_w, buf.data(), static_cast<size_t>(n));
    if (w < 0) return datagram ? -1 : w;
    if (!datagram) {
      std::unique_lock<std::mutex> lock(rt.mutex());
      SocketFile* sf = rt.lookup(sock);
      if (sf == nullptr) return fail(Error::kBadFd);
      iovec take{buf.data(), static_cast<size_t>(w)};
      (void)stack_recv(lock, sock, sf, &take, 1, MSG_DONTWAIT, nullptr, nullptr, nullptr);
    }
    return w;
  }
}

// A pipe into a stack socket: the pipe's bytes are copied out with tee(2)
// (leaving them in the pipe), sent, and then as many as the socket took
// are read off the pipe.
ssize_t splice_pipe_to_socket(int pipe_r, int sock, size_t len, unsigned flags) {
  const bool nonblock = (flags & SPLICE_F_NONBLOCK) != 0;
  Runtime& rt = Runtime::get();
  int avail = 0;
  while (true) {
    libc().ioctl(pipe_r, FIONREAD, &avail);
    if (avail > 0) break;
    pollfd p{pipe_r, POLLIN, 0};
    libc().poll(&p, 1, 0);
    if ((p.revents & POLLHUP) != 0) return 0;  // empty, and no writer left
    if (nonblock) return fail(Error::kAgain);
    if (wait_pipe(pipe_r, POLLIN) < 0) return -1;
  }
  const size_t want = std::min(len, static_cast<size_t>(avail));
  int scratch[2];
  if (pipe2(scratch, O_CLOEXEC) < 0) return -1;
  ssize_t copied = tee(pipe_r, scratch[1], want, SPLICE_F_NONBLOCK);
  std::vector<uint8_t> buf(copied > 0 ? static_cast<size_t>(copied) : 0);
  if (copied > 0) copied = libc().read(scratch[0], buf.data(), buf.size());
  libc().close(scratch[0]);
  libc().close(scratch[1]);
  if (copied <= 0) return copied < 0 ? -1 : fail(Error::kAgain);
  ssize_t sent;
  {
    std::unique_lock<std::mutex> lock(rt.mutex());
    SocketFile* sf = rt.lookup(sock);
    if (sf == nullptr) return fail(Error::kBadFd);
    iovec v{buf.data(), static_cast<size_t>(copied)};
    const int sflags =
        ((flags & SPLICE_F_MORE) != 0 ? MSG_MORE : 0) | (nonblock ? MSG_DONTWAIT : 0);
    sent = stack_send(lock, sock, sf, &v, 1, sflags, nullptr, 0);
  }
  if (sent == kRedo) return fail(Error::kBadFd);
  if (sent <= 0) return sent;
  // Take off the pipe what the socket took.
  size_t left = static_cast<size_t>(sent);
  while (left > 0) {
    ssize_t r = libc().read(pipe_r, buf.data(), left);
    if (r <= 0) break;
    left -= static_cast<size_t>(r);
  }
  return sent;
}

}  // namespace

// splice(2) with a stack socket at one end, emulated by copying through a
// buffer (the kernel cannot move pages into or out of a user-space
// stack). The other end must be a pipe, and the socket end takes no
// offset, as on Linux.
SHUNT_EXPORT ssize_t splice(int fd_in, loff_t* off_in, int fd_out, loff_t* off_out, size_t len,
                            unsigned int flags) {
  Runtime& rt = Runtime::get();
  const bool in_stack = rt.lookup(fd_in) != nullptr;
  const bool out_stack = rt.lookup(fd_out) != nullptr;
  if (!in_stack && !out_stack) return libc().splice(fd_in, off_in, fd_out, off_out, len, flags);
  if (in_stack && out_stack) return fail(Error::kInval);  // neither is a pipe
  const int pipe_fd = in_stack ? fd_out : fd_in;
  if (!is_pipe(pipe_fd)) return fail(Error::kInval);
  // do_splice: an offset for the socket is EINVAL, for the pipe ESPIPE.
  if ((in_stack ? off_in : off_out) != nullptr) return fail(Error::kInval);
  if ((in_stack ? off_out : off_in) != nullptr) return fail(CallError::kSPipe);
  if (len == 0) return 0;
  return in_stack ? splice_socket_to_pipe(fd_in, fd_out, len, flags)
                  : splice_pipe_to_socket(fd_in, fd_out, len, flags);
}

// Fortified aliases (-D_FORTIFY_SOURCE builds import these).
