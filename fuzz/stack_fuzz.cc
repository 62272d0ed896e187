// Feeds arbitrary bytes to a Stack's frame input (docs/design.md section 10.6).
//
// The input is split into frames: each frame is a 2-byte big-endian length
// followed by that many bytes; a trailing partial frame takes the rest.
// Between frames the virtual clock moves by the low bits of the length, so
// timers (ARP, reassembly) run too. A UDP socket is bound on port 7 and
// drained, and a connected one exists, so the delivery and ICMP error
// paths run. Any crash, sanitizer report, or broken invariant is a finding.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/net/stack.h"

namespace {

using namespace shunt;

class NullDevice final : public NetDevice {
 public:
  void transmit(std::span<PacketBuffer> frames, Instant) override {
    for (auto& f : frames) f = PacketBuffer();
  }
  size_t receive(std::vector<PacketBuffer>&, size_t, Instant) override { return 0; }
  DeviceInfo info() const override { return {}; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  BufferPool pool;
  NullDevice dev;
  StackConfig cfg;
  cfg.mac = MacAddress({0x02, 0, 0xc6, 0x12, 0, 2});
  cfg.address = Ipv4Cidr(Ipv4Address(198, 18, 0, 2), 24);
  cfg.gateway = Ipv4Address(198, 18, 0, 1);
  {
    Stack stack(dev, pool, cfg);
    Instant now{};
    stack.poll(now);
    SocketId echo = *stack.udp_open();
    (void)stack.bind(echo, {Ipv4Address::any(), 7});
    SocketId conn = *stack.udp_open();
    (void)stack.connect(conn, {Ipv4Address(198, 18, 0, 1), 53}, now);
    std::vector<uint8_t> buf(70000);
    while (size > 0) {
      size_t len = size;
      uint16_t step = 0;
      if (size >= 2) {
        step = load_be16(data);
        len = std::min<size_t>(step & 0x7ff, size - 2);
        data += 2;
        size -= 2;
      }
      PacketBuffer frame = pool.allocate(len);
      if (len > 0) std::copy(data, data + len, frame.append(len).data());
      data += len;
      size -= len;
      stack.receive(std::move(frame), now);
      now += std::chrono::milliseconds(step >> 11) * 1000;  // 0..31 s
      if (stack.next_deadline() <= now) stack.poll(now);
      while (stack.recv_from(echo, buf, 0, now)) {
      }
      (void)stack.recv_from(conn, buf, 0, now);
      (void)stack.send_to(conn, {buf.data(), 1}, std::nullopt, now);
    }
    // Let every timer run out: nothing may be left holding memory.
    now += std::chrono::hours(1);
    stack.poll(now);
    now += std::chrono::hours(1);
    stack.poll(now);
    SHUNT_CHECK(stack.reassembler().memory_used() == 0);
  }
  SHUNT_CHECK(pool.outstanding() == 0);
  return 0;
}
