// SHUNT_PCAP's capture (driver/capture_config.h) on a real device: a TCP
// transfer between the Stack and the kernel, over TAP and over AF_PACKET,
// captured to a pcap file that `tshark -r FILE` reads with no malformed
// packet and no bad IPv4/TCP checksum, showing every frame and the TCP
// connection.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "tests/kernel/interop_util.h"

namespace shunt {
namespace {

using namespace ktest;  // NOLINT(google-build-using-namespace): test helpers

class Capture : public InteropTest {
 protected:
  void SetUp() override {
    InteropTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // A missing tool scripts/setup installs fails the test; it is not a skip.
    ASSERT_FALSE(sh("command -v tshark").empty()) << "tshark is not installed: run scripts/setup";
    char dir[] = "/tmp/shunt-capture-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    InteropTest::TearDown();
    // A failed test keeps its capture for a look.
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_P(Capture, TsharkReadsATcpTransferWithNothingMalformed) {
  // "%p" exercises the path expansion of SHUNT_PCAP.
  const std::string pattern = dir_ + "/cap-%p.pcap";
  const std::string file = dir_ + "/cap-" + std::to_string(::getpid()) + ".pcap";
  ASSERT_NO_FATAL_FAILURE(build({.pcap = pattern}));
  ASSERT_TRUE(std::filesystem::exists(file));

  constexpr size_t kBytes = size_t{16} << 20;
  auto peer = KernelTcpPeer::listen(peer_ns(), 5001, kBytes, 3);
  ASSERT_TRUE(peer->error().empty()) << peer->error();
  SocketId s = *stack().tcp_open();
  ASSERT_EQ(stack().connect(s, {kPeerAddr, 5001}, now()).error(), Error::kInProgress);
  StackTcpFlow flow(stack(), s, kBytes, 4);
  bool connected = false;
  const Instant t0 = now();
  Instant t_connected{};
  ASSERT_TRUE(run().run_until(
      [&] {
        if (!connected) {
          connected = (*stack().readiness(s) & readiness::kWritable) != 0;
          if (!connected) return false;
          t_connected = now();
        }
        return flow.step(now()) && peer->done();
      },
      120s))
      << "stack received " << flow.received() << ", kernel " << peer->received();
  EXPECT_EQ(flow.recv_hash(), peer->sent_hash());
  EXPECT_EQ(peer->recv_hash(), flow.sent_hash());
  ASSERT_TRUE(stack().close(s, now()));
  run().run_for(50ms);  // the FIN exchange ends up in the capture too
  const Instant t_done = now();

  auto* cap = dynamic_cast<CaptureDevice*>(&topo_.device());
  ASSERT_NE(cap, nullptr);
  const uint64_t frames = cap->captured_tx() + cap->captured_rx();
  EXPECT_EQ(cap->writer().write_errors(), 0u);
  topo_.reset();  // flushes and closes the file

  // The payload is pseudo-random bytes on port 5001, which Wireshark's
  // heuristic Thrift dissector sometimes claims and then tries to
  // reassemble, taking 10-30 s: decode port 5001 as plain data.
  const std::string tshark = "tshark -d tcp.port==5001,data -r " + file;
  // One pass for the numbers: every frame with its protocols, the
  // malformed marker and the checksum verdicts (2 = bad).
  int status = 0;
  const std::string fields =
      sh(tshark +
             " -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE"
             " -T fields -E separator=/t -e frame.protocols -e _ws.malformed"
             " -e ip.checksum.status -e tcp.checksum.status 2>/dev/null",
         &status);
  ASSERT_EQ(status, 0) << "tshark failed on " << file;
  const Instant t_fields = now();
  uint64_t lines = 0, tcp = 0, malformed = 0, bad_checksum = 0;
  std::istringstream in(fields);
  for (std::string line; std::getline(in, line);) {
    ++lines;
    std::vector<std::string> f;
    std::istringstream ls(line);
    for (std::string col; std::getline(ls, col, '\t');) f.push_back(col);
    f.resize(4);
    if (f[0].find(":tcp") != std::string::npos) ++tcp;
    if (!f[1].empty() || f[0].find("malformed") != std::string::npos) ++malformed;
    if (f[2] == "2" || f[3] == "2") ++bad_checksum;
  }
  EXPECT_EQ(lines, frames) << "tshark saw another number of frames than were captured";
  EXPECT_GT(tcp, kBytes / 1500) << "too few TCP frames";
  EXPECT_EQ(malformed, 0u);
  EXPECT_EQ(bad_checksum, 0u);

  // And the plain reading, as a user runs it.
  const std::string plain = sh(tshark + " 2>&1", &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(plain.find("Malformed"), std::string::npos);
  EXPECT_NE(plain.find("TCP"), std::string::npos);
  EXPECT_NE(plain.find("[SYN]"), std::string::npos);
  EXPECT_NE(plain.find("ARP"), std::string::npos);
  auto secs = [](Duration d) { return std::chrono::duration<double>(d).count(); };
  std::printf("[ capture ] %lu frames; connect %.2f s, transfer %.2f s, tshark %.2f s + %.2f s\n",
              static_cast<unsigned long>(frames), secs(t_connected - t0),
              secs(t_done - t_connected), secs(t_fields - t_done),
              secs(monotonic_now() - t_fields));
}

// A device that does nothing, to wrap.
class NullDevice final : public NetDevice {
 public:
  void transmit(std::span<PacketBuffer> frames, Instant) override {
    for (auto& f : frames) f = PacketBuffer();
  }
  size_t receive(std::vector<PacketBuffer>&, size_t, Instant) override { return 0; }
  DeviceInfo info() const override { return {}; }
};

TEST(CaptureConfig, AnUnwritablePathIsOneClearLine) {
  auto dev = with_capture(std::make_unique<NullDevice>(), "/nonexistent-dir/x.pcap");
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.error().rfind("SHUNT_PCAP=/nonexistent-dir/x.pcap: ", 0), 0u) << dev.error();
  EXPECT_NE(dev.error().find("No such file or directory"), std::string::npos) << dev.error();
  EXPECT_EQ(dev.error().find('\n'), std::string::npos);
}

TEST(CaptureConfig, NoPathMeansNoCapture) {
  auto inner = std::make_unique<NullDevice>();
  NetDevice* raw = inner.get();
  auto dev = with_capture(std::move(inner), "");
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->get(), raw);
}

TEST(CaptureConfig, PercentPIsTheProcessId) {
  EXPECT_EQ(expand_capture_path("/tmp/a-%p.pcap", 42), "/tmp/a-42.pcap");
  EXPECT_EQ(expand_capture_path("%p%p", 7), "77");
  EXPECT_EQ(expand_capture_path("/tmp/100%.pcap", 7), "/tmp/100%.pcap");
  EXPECT_EQ(expand_capture_path("/tmp/x%", 7), "/tmp/x%");
}

INSTANTIATE_TEST_SUITE_P(Links, Capture, ::testing::Values(LinkKind::kTap, LinkKind::kPacket),
                         link_name);

}  // namespace
}  // namespace shunt
