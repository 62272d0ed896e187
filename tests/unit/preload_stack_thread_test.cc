// The preload stack thread (preload/stack_thread.h) drives a stack over an
// in-memory device, without root: two stacks on one MemorySegment, each
// with its own StackThread and the real clock, open a TCP connection and
// exchange bytes while the test thread only makes socket calls, as an
// application under libshunt.so does.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "driver/memory_segment.h"
#include "preload/stack_thread.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/net/stack.h"

namespace shunt::preload {
namespace {

using namespace std::chrono_literals;

MacAddress mac(uint8_t n) {
  return MacAddress({0x02, 0x00, 0xc6, 0x12, 0x00, n});
}
Ipv4Address ip(uint8_t n) {
  return Ipv4Address(198, 18, 0, n);
}

// Two hosts on one segment. One lock covers both stacks and the segment
// (which is not thread-safe), as the runtime's lock covers its stack.
class TwoHosts {
 public:
  TwoHosts() {
    for (uint8_t n : {1, 2}) {
      MemoryPort& port = seg_.add_port();
      StackConfig c;
      c.mac = mac(n);
      c.address = Ipv4Cidr(ip(n), 24);
      c.seed = n;
      stacks_[n - 1] = std::make_unique<Stack>(port, pool_, c);
    }
    for (int i = 0; i < 2; ++i) {
      // After a round, the frames it sent wait in the other port: wake the
      // other thread (the preload runtime's device fd does this).
      const int other = 1 - i;
      threads_[i] = std::make_unique<StackThread>(
          mu_, *stacks_[i], seg_.port(i),
          StackThread::Hooks{[this, other] { threads_[other]->wake_if_earlier(); },
                             [](const std::string& why) { FAIL() << why; }});
      threads_[i]->open(-1);
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : threads_) t->start();
  }
  ~TwoHosts() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& t : threads_) t->stop();
    }
    // The threads are detached: wait until both have left their loop.
    while (threads_[0]->running() || threads_[1]->running()) std::this_thread::sleep_for(1ms);
  }

  Stack& stack(int i) { return *stacks_[i]; }
  std::mutex& mutex() { return mu_; }
  // After a socket call from the test thread (lock held): as publish().
  void after_call() {
    for (auto& t : threads_) t->wake_if_earlier();
  }
  // Runs `f` under the lock until it is true, or 5 s pass.
  bool wait_for(const std::function<bool()>& f) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < until) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (f()) return true;
        after_call();
      }
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }

 private:
  std::mutex mu_;
  BufferPool pool_;
  MemorySegment seg_;
  std::unique_ptr<Stack> stacks_[2];
  std::unique_ptr<StackThread> threads_[2];
};

TEST(PreloadStackThread, TwoStacksConnectAndExchangeBytes) {
  TwoHosts h;
  Stack& server = h.stack(1);
  Stack& client = h.stack(0);
  SocketId listener{}, conn{};
  {
    std::lock_guard<std::mutex> lock(h.mutex());
    listener = *server.tcp_open();
    ASSERT_TRUE(server.bind(listener, Endpoint{Ipv4Address::any(), 8080}));
    ASSERT_TRUE(server.listen(listener, 8, monotonic_now()));
    conn = *client.tcp_open();
    auto r = client.connect(conn, Endpoint{ip(2), 8080}, monotonic_now());
    ASSERT_FALSE(r);
    ASSERT_EQ(r.error(), Error::kInProgress);
    h.after_call();
  }
  SocketId accepted{};
  ASSERT_TRUE(h.wait_for([&] {
    auto a = server.accept(listener, monotonic_now());
    if (a) accepted = a->socket;
    return bool(a);
  }));
  ASSERT_TRUE(h.wait_for([&] { return (*client.readiness(conn) & readiness::kWritable) != 0; }));
  {
    std::lock_guard<std::mutex> lock(h.mutex());
    const std::string msg = "hello over the stack thread";
    auto sent =
        client.send_to(conn, Bytes(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()),
                       std::nullopt, monotonic_now());
    ASSERT_TRUE(sent);
    EXPECT_EQ(*sent, msg.size());
    h.after_call();
  }
  std::string got;
  ASSERT_TRUE(h.wait_for([&] {
    uint8_t buf[64];
    auto r = server.recv_from(accepted, MutableBytes(buf, sizeof buf), 0, monotonic_now());
    if (r) got.append(reinterpret_cast<const char*>(buf), r->copied);
    return got.size() >= 27;
  }));
  EXPECT_EQ(got, "hello over the stack thread");
}

}  // namespace
}  // namespace shunt::preload
