// PcapWriter and CaptureDevice: golden file-header and record bytes, the
// flush policy, write errors, and (when tshark is installed) that tshark
// reads the file without a malformed packet.
#include "driver/pcap_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "driver/capture_device.h"
#include "stack/base/bytes.h"
#include "stack/buffer/buffer_pool.h"
#include "stack/wire/checksum.h"
#include "tests/support/shell.h"

namespace shunt {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "shunt_pcap_" + std::to_string(::getpid()) + "_" + name + ".pcap";
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Removes the file when the test ends, pass or fail.
struct TempFile {
  explicit TempFile(const std::string& n) : path(temp_path(n)) {}
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

const std::vector<uint8_t> kGoldenHeader = {
    0xd4, 0xc3, 0xb2, 0xa1,  // magic 0xa1b2c3d4, little-endian: microsecond timestamps
    0x02, 0x00, 0x04, 0x00,  // version 2.4
    0x00, 0x00, 0x00, 0x00,  // thiszone
    0x00, 0x00, 0x00, 0x00,  // sigfigs
    0x00, 0x00, 0x04, 0x00,  // snaplen 262144
    0x01, 0x00, 0x00, 0x00,  // LINKTYPE_ETHERNET
};

constexpr int64_t kTs = 1'700'000'000'123'456'789;  // 2023-11-14T22:13:20.123456789Z

TEST(PcapWriter, FileHeaderGoldenBytes) {
  TempFile f("header");
  {
    auto w = PcapWriter::open(f.path);
    ASSERT_TRUE(w.ok()) << w.error();
    // The header is on disk as soon as the file is open.
    EXPECT_EQ(read_file(f.path), kGoldenHeader);
  }
  EXPECT_EQ(read_file(f.path), kGoldenHeader);
}

TEST(PcapWriter, RecordLayout) {
  TempFile f("record");
  {
    auto w = PcapWriter::open(f.path);
    ASSERT_TRUE(w.ok()) << w.error();
    const std::vector<uint8_t> frame = {0xde, 0xad, 0xbe, 0xef, 0x42};
    (*w)->write(frame, kTs);
  }
  std::vector<uint8_t> expected = kGoldenHeader;
  const std::vector<uint8_t> record = {
      0x00, 0xf1, 0x53, 0x65,        // ts_sec 1700000000
      0x40, 0xe2, 0x01, 0x00,        // ts_usec 123456 (nanoseconds truncated)
      0x05, 0x00, 0x00, 0x00,        // incl_len
      0x05, 0x00, 0x00, 0x00,        // orig_len
      0xde, 0xad, 0xbe, 0xef, 0x42,  // the frame
  };
  expected.insert(expected.end(), record.begin(), record.end());
  EXPECT_EQ(read_file(f.path), expected);
}

TEST(PcapWriter, SnaplenCutsFrameAndKeepsOriginalLength) {
  TempFile f("snaplen");
  {
    auto w = PcapWriter::open(f.path, 8);
    ASSERT_TRUE(w.ok()) << w.error();
    std::vector<uint8_t> frame(20);
    for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(i);
    (*w)->write(frame, 0);
    (*w)->write(std::vector<uint8_t>{0xaa}, -5);  // negative time: written as 0
  }
  const auto bytes = read_file(f.path);
  ASSERT_EQ(bytes.size(), 24u + 16 + 8 + 16 + 1);
  EXPECT_EQ(bytes[16], 8);  // snaplen in the file header
  const uint8_t* r = bytes.data() + 24;
  EXPECT_EQ(r[8], 8);    // incl_len
  EXPECT_EQ(r[12], 20);  // orig_len
  EXPECT_EQ(r[16 + 7], 7);
  const uint8_t* r2 = r + 16 + 8;
  for (int i = 0; i < 8; ++i) EXPECT_EQ(r2[i], 0) << i;  // ts 0
  EXPECT_EQ(r2[8], 1);
  EXPECT_EQ(r2[16], 0xaa);
}

TEST(PcapWriter, BuffersUntilFlush) {
  TempFile f("flush");
  auto w = PcapWriter::open(f.path);
  ASSERT_TRUE(w.ok()) << w.error();
  (*w)->write(std::vector<uint8_t>(60, 1), kTs);
  (*w)->write(std::vector<uint8_t>(60, 2), kTs);
  EXPECT_EQ(read_file(f.path).size(), 24u);
  EXPECT_EQ((*w)->records_written(), 0u);
  EXPECT_TRUE((*w)->flush());
  EXPECT_EQ(read_file(f.path).size(), 24u + 2 * (16 + 60));
  EXPECT_EQ((*w)->records_written(), 2u);
}

TEST(PcapWriter, FullBufferGoesOutWithoutFlush) {
  TempFile f("full");
  auto w = PcapWriter::open(f.path);
  ASSERT_TRUE(w.ok()) << w.error();
  const size_t per_record = 16 + 1500;
  const size_t fit = PcapWriter::kBufferSize / per_record;
  for (size_t i = 0; i <= fit; ++i) (*w)->write(std::vector<uint8_t>(1500, 3), kTs);
  // The record that did not fit pushed the earlier ones out.
  EXPECT_EQ(read_file(f.path).size(), 24 + fit * per_record);
  EXPECT_EQ((*w)->records_written(), fit);
}

TEST(PcapWriter, RecordLargerThanBufferKeepsOrder) {
  TempFile f("big");
  {
    auto w = PcapWriter::open(f.path);
    ASSERT_TRUE(w.ok()) << w.error();
    (*w)->write(std::vector<uint8_t>(10, 1), kTs);
    (*w)->write(std::vector<uint8_t>(70000, 2), kTs);
    (*w)->write(std::vector<uint8_t>(10, 3), kTs);
    EXPECT_EQ((*w)->records_written(), 2u);  // the big one forced out the first
  }
  const auto bytes = read_file(f.path);
  ASSERT_EQ(bytes.size(), 24u + 3 * 16 + 10 + 70000 + 10);
  EXPECT_EQ(bytes[24 + 16], 1);
  EXPECT_EQ(bytes[24 + 16 + 10 + 16], 2);
  EXPECT_EQ(bytes[24 + 16 + 10 + 16 + 70000 - 1], 2);
  EXPECT_EQ(bytes[24 + 16 + 10 + 16 + 70000 + 16], 3);
}

TEST(PcapWriter, WriteErrorsAreCountedNotFatal) {
  TempFile f("errors");
  { std::ofstream(f.path) << ""; }
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);  // write(2) gives EBADF
  ASSERT_GE(fd, 0);
  PcapWriter w(fd);
  w.write(std::vector<uint8_t>(60, 1), kTs);
  EXPECT_FALSE(w.flush());
  EXPECT_EQ(w.write_errors(), 1u);
  EXPECT_EQ(w.last_error(), EBADF);
  EXPECT_EQ(w.records_dropped(), 1u);
  w.write(std::vector<uint8_t>(60, 1), kTs);
  w.write(std::vector<uint8_t>(70000, 1), kTs);
  EXPECT_FALSE(w.flush());
  EXPECT_EQ(w.write_errors(), 1u);  // stopped after the first failure
  EXPECT_EQ(w.records_dropped(), 3u);
  EXPECT_EQ(w.records_written(), 0u);
}

TEST(PcapWriter, OpenErrorNamesFileAndReason) {
  auto w = PcapWriter::open("/nonexistent-shunt-dir/x.pcap");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().find("/nonexistent-shunt-dir/x.pcap"), std::string::npos) << w.error();
  EXPECT_NE(w.error().find("No such file or directory"), std::string::npos) << w.error();
}

TEST(PcapWriter, OpenFailsWhenHeaderCannotBeWritten) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  auto w = PcapWriter::open("/dev/full");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().find("No space left on device"), std::string::npos) << w.error();
}

TEST(PcapWriter, RealtimeOffsetIsPlausible) {
  // Unix time now is after 2020 and the monotonic clock started after 1970.
  EXPECT_GT(realtime_offset_from_monotonic_ns(), int64_t{1'577'836'800} * 1'000'000'000 / 2);
}

// --- CaptureDevice -------------------------------------------------------

// A device that records what it was given and hands out queued frames.
class FakeDevice final : public NetDevice {
 public:
  void transmit(std::span<PacketBuffer> frames, Instant) override {
    for (auto& f : frames) sent.push_back(std::move(f));
  }
  size_t receive(std::vector<PacketBuffer>& out, size_t max, Instant) override {
    size_t n = 0;
    while (n < max && !inbox.empty()) {
      out.push_back(std::move(inbox.front()));
      inbox.pop_front();
      ++n;
    }
    return n;
  }
  DeviceInfo info() const override { return DeviceInfo{.mtu = 1234}; }
  int fd() const override { return 77; }

  std::vector<PacketBuffer> sent;
  std::deque<PacketBuffer> inbox;
};

PacketBuffer frame_of(BufferPool& pool, std::vector<uint8_t> bytes) {
  PacketBuffer b = pool.allocate(bytes.size());
  auto d = b.append(bytes.size());
  std::copy(bytes.begin(), bytes.end(), d.begin());
  return b;
}

TEST(CaptureDevice, WritesBothDirectionsAndForwards) {
  TempFile f("capture");
  BufferPool pool;
  auto fake = std::make_unique<FakeDevice>();
  FakeDevice* inner = fake.get();
  inner->inbox.push_back(frame_of(pool, {0x11, 0x12}));
  inner->inbox.push_back(frame_of(pool, {0x21, 0x22}));
  auto w = PcapWriter::open(f.path);
  ASSERT_TRUE(w.ok()) << w.error();
  const int64_t offset = 1'700'000'000'000'000'000;
  CaptureDevice dev(std::move(fake), std::move(*w), offset);
  EXPECT_EQ(dev.info().mtu, 1234u);
  EXPECT_EQ(dev.fd(), 77);

  std::vector<PacketBuffer> tx;
  tx.push_back(frame_of(pool, {0x01, 0x02, 0x03}));
  dev.transmit(tx, instant_from_ns(5'000));  // 5 us after the offset
  ASSERT_EQ(inner->sent.size(), 1u);
  EXPECT_EQ(inner->sent[0].size(), 3u);
  EXPECT_FALSE(tx[0]);  // moved on to the inner device

  std::vector<PacketBuffer> rx;
  EXPECT_EQ(dev.receive(rx, 1, instant_from_ns(7'000)), 1u);
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].data()[0], 0x11);
  EXPECT_EQ(dev.captured_tx(), 1u);
  EXPECT_EQ(dev.captured_rx(), 1u);

  // kEveryBatch: both records are on disk without an explicit flush.
  const auto bytes = read_file(f.path);
  ASSERT_EQ(bytes.size(), 24u + 16 + 3 + 16 + 2);
  const uint8_t* r1 = bytes.data() + 24;
  EXPECT_EQ(load_be32(r1) /* LE 1700000000 */, 0x00f15365u);
  EXPECT_EQ(r1[4], 5);  // usec
  EXPECT_EQ(r1[16], 0x01);
  const uint8_t* r2 = r1 + 16 + 3;
  EXPECT_EQ(r2[4], 7);
  EXPECT_EQ(r2[16], 0x11);
}

TEST(CaptureDevice, WhenFullPolicyDefersWrites) {
  TempFile f("deferred");
  BufferPool pool;
  auto fake = std::make_unique<FakeDevice>();
  auto w = PcapWriter::open(f.path);
  ASSERT_TRUE(w.ok()) << w.error();
  {
    CaptureDevice dev(std::move(fake), std::move(*w), 0, CaptureDevice::FlushPolicy::kWhenFull);
    std::vector<PacketBuffer> tx;
    tx.push_back(frame_of(pool, {0x01}));
    dev.transmit(tx, instant_from_ns(0));
    EXPECT_EQ(read_file(f.path).size(), 24u);
  }
  EXPECT_EQ(read_file(f.path).size(), 24u + 16 + 1);  // written on destruction
}

// --- tshark --------------------------------------------------------------

// An ARP request: 198.18.0.2 (02:00:00:00:00:02) asks who has 198.18.0.1.
std::vector<uint8_t> arp_request() {
  return {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,
          0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
          198,  18,   0,    2,    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 198,  18,   0,    1};
}

// An IPv4/UDP datagram 198.18.0.2:5000 -> 198.18.0.1:5001 with right checksums.
std::vector<uint8_t> udp_frame() {
  const std::string payload = "hello, pcap";
  std::vector<uint8_t> f(14 + 20 + 8 + payload.size());
  uint8_t* p = f.data();
  MacAddress({0x02, 0, 0, 0, 0, 0x01}).write(p);
  MacAddress({0x02, 0, 0, 0, 0, 0x02}).write(p + 6);
  store_be16(p + 12, 0x0800);
  uint8_t* ip = p + 14;
  ip[0] = 0x45;
  store_be16(ip + 2, static_cast<uint16_t>(20 + 8 + payload.size()));
  ip[8] = 64;
  ip[9] = 17;
  store_be32(ip + 12, Ipv4Address(198, 18, 0, 2).value());
  store_be32(ip + 16, Ipv4Address(198, 18, 0, 1).value());
  store_be16(ip + 10, checksum::compute({ip, 20}));
  uint8_t* udp = ip + 20;
  store_be16(udp, 5000);
  store_be16(udp + 2, 5001);
  const auto udp_len = static_cast<uint16_t>(8 + payload.size());
  store_be16(udp + 4, udp_len);
  std::copy(payload.begin(), payload.end(), udp + 8);
  uint32_t sum =
      checksum::pseudo_header(Ipv4Address(198, 18, 0, 2), Ipv4Address(198, 18, 0, 1), 17, udp_len);
  store_be16(udp + 6, checksum::finish(checksum::partial({udp, udp_len}, sum)));
  return f;
}

TEST(PcapWriter, TsharkReadsTheFile) {
  ASSERT_TRUE(shunt::testing::have_tool("tshark"));
  int status = 0;

  TempFile f("tshark");
  {
    auto w = PcapWriter::open(f.path);
    ASSERT_TRUE(w.ok()) << w.error();
    (*w)->write(arp_request(), kTs);
    (*w)->write(udp_frame(), kTs + 1'000);
    // A 64 KiB frame of a local experimental EtherType (IEEE 802 0x88b5).
    std::vector<uint8_t> big(65000, 0x5a);
    store_be16(big.data() + 12, 0x88b5);
    (*w)->write(big, kTs + 2'000);
  }
  const std::string out = shunt::testing::run_command("tshark -n -r " + f.path + " 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out.find("Malformed"), std::string::npos) << out;
  EXPECT_NE(out.find("ARP"), std::string::npos) << out;
  EXPECT_NE(out.find("UDP"), std::string::npos) << out;
  EXPECT_NE(out.find("5000"), std::string::npos) << out;

  const std::string times = shunt::testing::run_command(
      "tshark -r " + f.path + " -T fields -e frame.time_epoch -e frame.len 2>/dev/null", &status);
  EXPECT_NE(times.find("1700000000.123456000\t42"), std::string::npos) << times;
  EXPECT_NE(times.find("1700000000.123457000"), std::string::npos) << times;
  EXPECT_NE(times.find("65000"), std::string::npos) << times;
}

}  // namespace
}  // namespace shunt
