// The device chain builder (driver/device_chain.h) over an in-memory port:
// the fault device is always the outermost device, the capture sits on the
// base device with a pcap path and is the fault device's observer, frames
// pass through both, fault rules given at start apply, and an unwritable
// capture file is a one-line error naming the setting.
#include "driver/device_chain.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "driver/memory_segment.h"
#include "stack/base/bytes.h"

namespace shunt {
namespace {

const MacAddress kMacA({0x02, 0, 0, 0, 0, 0x0a});
const MacAddress kMacB({0x02, 0, 0, 0, 0, 0x0b});

// An owning handle on a port the segment keeps (the chain owns its base).
class PortRef final : public NetDevice {
 public:
  explicit PortRef(MemoryPort& port) : port_(port) {}
  void transmit(std::span<PacketBuffer> frames, Instant now) override {
    port_.transmit(frames, now);
  }
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant now) override {
    return port_.receive(out, max, now);
  }
  Instant next_deadline() const override { return port_.next_deadline(); }
  DeviceInfo info() const override { return port_.info(); }
  int fd() const override { return 42; }

 private:
  MemoryPort& port_;
};

PacketBuffer frame(BufferPool& pool, const MacAddress& to, const MacAddress& from) {
  PacketBuffer f = pool.allocate(60);
  auto b = f.append(60);
  std::fill(b.begin(), b.end(), 0);
  to.write(b.data());
  from.write(b.data() + 6);
  store_be16(b.data() + 12, 0x0800);
  return f;
}

size_t send_one(NetDevice& dev, BufferPool& pool) {
  std::vector<PacketBuffer> out;
  out.push_back(frame(pool, kMacB, kMacA));
  dev.transmit(out, Instant{});
  return out.size();
}

std::string temp_path(const std::string& ext) {
  return ::testing::TempDir() + "shunt_chain_" + std::to_string(::getpid()) + ext;
}

TEST(DeviceChain, WithoutCaptureTheFaultDeviceWrapsTheBase) {
  BufferPool pool;
  MemorySegment seg;
  MemoryPort& a = seg.add_port();
  MemoryPort& b = seg.add_port();
  // b learns its MAC so the segment forwards to it.
  std::vector<PacketBuffer> hello;
  hello.push_back(frame(pool, kMacA, kMacB));
  b.transmit(hello, Instant{});

  DeviceChainOptions o;
  auto chain = wrap_device(std::make_unique<PortRef>(a), o);
  ASSERT_TRUE(chain.ok()) << chain.error();
  EXPECT_NE(chain->faults, nullptr);
  EXPECT_EQ(chain->device.get(), chain->faults);
  EXPECT_EQ(chain->capture, nullptr);
  EXPECT_EQ(chain->pcap_fd, -1);
  EXPECT_EQ(chain->device_fd, 42);
  EXPECT_EQ(chain->device->info().mtu, 1500u);

  send_one(*chain->device, pool);
  EXPECT_EQ(b.pending(), 1u);
}

TEST(DeviceChain, CaptureSitsOnTheBaseAndWritesTheFile) {
  BufferPool pool;
  MemorySegment seg;
  MemoryPort& a = seg.add_port();
  seg.add_port();
  const std::string path = temp_path(".pcapng");
  DeviceChainOptions o;
  o.pcap = path;
  {
    auto chain = wrap_device(std::make_unique<PortRef>(a), o);
    ASSERT_TRUE(chain.ok()) << chain.error();
    ASSERT_NE(chain->capture, nullptr);
    EXPECT_EQ(chain->device.get(), chain->faults);
    EXPECT_GE(chain->pcap_fd, 0);
    EXPECT_EQ(chain->pcap_fd, chain->capture->writer().fd());
    send_one(*chain->device, pool);
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 60);
  std::remove(path.c_str());
}

TEST(DeviceChain, RulesGivenAtStartApply) {
  BufferPool pool;
  MemorySegment seg;
  MemoryPort& a = seg.add_port();
  MemoryPort& b = seg.add_port();
  std::vector<PacketBuffer> hello;
  hello.push_back(frame(pool, kMacA, kMacB));
  b.transmit(hello, Instant{});

  auto rules = parse_fault_rules("out drop");
  ASSERT_TRUE(rules.ok()) << rules.error();
  DeviceChainOptions o;
  o.faults = *rules;
  auto chain = wrap_device(std::make_unique<PortRef>(a), o);
  ASSERT_TRUE(chain.ok()) << chain.error();
  send_one(*chain->device, pool);
  EXPECT_EQ(b.pending(), 0u);
}

TEST(DeviceChain, UnwritableCaptureIsOneLineNamingTheSetting) {
  MemorySegment seg;
  MemoryPort& a = seg.add_port();
  DeviceChainOptions o;
  o.pcap = "/nonexistent-dir/x.pcap";
  auto chain = wrap_device(std::make_unique<PortRef>(a), o);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.error().rfind("shunt: SHUNT_PCAP=", 0), 0u) << chain.error();
  EXPECT_EQ(chain.error().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace shunt
