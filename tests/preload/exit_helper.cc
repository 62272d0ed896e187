// A client that leaves its socket open when the process ends, for
// tests/programs/exit_test.sh: the stack must close it as the kernel closes
// a dying process's sockets. Usage: exit_helper HOST PORT MODE, where MODE
// says how the process ends:
//   return, exit, _exit, _Exit, exit_group  FIN after "hello\n"
//   unread      waits for data from the peer, leaves it unread, _exit: RST
//   linger0     SO_LINGER {on, 0}, exit: RST
//   queued      writes 256 KiB more then _exit: all of it arrives, then FIN
//   vfork       a vfork child _exits (as after a failed exec); the parent
//               then sends "after\n" and exits: the child's exit closes
//               nothing
//   fork        the same with fork
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(2);
}

void send_all(int fd, const void* p, size_t n) {
  const auto* b = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = send(fd, b, n, 0);
    if (w <= 0) die("send");
    b += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: exit_helper HOST PORT MODE\n");
    return 2;
  }
  const std::string mode = argv[3];
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) die("inet_pton");
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
  send_all(fd, "hello\n", 6);

  if (mode == "return") return 0;
  if (mode == "exit") std::exit(0);
  if (mode == "_exit") _exit(0);
  if (mode == "_Exit") _Exit(0);
  if (mode == "exit_group") syscall(SYS_exit_group, 0);
  if (mode == "unread") {
    char c;
    if (recv(fd, &c, 1, MSG_PEEK) != 1) die("recv");
    _exit(0);
  }
  if (mode == "linger0") {
    linger l{1, 0};
    if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) != 0) die("SO_LINGER");
    std::exit(0);
  }
  if (mode == "queued") {
    std::vector<char> big(256 * 1024, 'q');
    send_all(fd, big.data(), big.size());
    _exit(0);
  }
  if (mode == "vfork" || mode == "fork") {
    pid_t child = mode == "vfork" ? vfork() : fork();
    if (child < 0) die("fork");
    if (child == 0) _exit(127);
    int status = 0;
    waitpid(child, &status, 0);
    send_all(fd, "after\n", 6);
    std::exit(0);
  }
  std::fprintf(stderr, "exit_helper: unknown mode '%s'\n", mode.c_str());
  return 2;
}
