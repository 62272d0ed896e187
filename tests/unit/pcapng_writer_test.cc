// PcapWriter in pcapng format: golden bytes of the header blocks and of a
// packet block with its direction and comment (computed independently with
// Python's struct module), padding, the snaplen, records larger than the
// buffer, the format chosen by the file name, and (when tshark is
// installed) that tshark reads the comments and directions back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "driver/pcap_writer.h"
#include "tests/support/pcapng_reader.h"
#include "tests/support/shell.h"

namespace shunt {
namespace {

using testing::read_pcapng;

struct TempFile {
  explicit TempFile(const std::string& n)
      : path(::testing::TempDir() + "shunt_pcapng_" + std::to_string(::getpid()) + "_" + n +
             ".pcapng") {}
  ~TempFile() { std::remove(path.c_str()); }
  std::string path;
};

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// struct.pack("<IIIHHqI", 0x0a0d0d0a, 28, 0x1a2b3c4d, 1, 0, -1, 28), then the
// IDB: type 1, length 32, LINKTYPE_ETHERNET, reserved, snaplen 262144,
// if_tsresol (9) = 9 padded to 4, opt_endofopt, length 32.
const std::vector<uint8_t> kGoldenHeader = {
    // Section Header Block
    0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0x00, 0x00, 0x00, 0x4d, 0x3c, 0x2b, 0x1a, 0x01, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1c, 0x00, 0x00, 0x00,
    // Interface Description Block
    0x01, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
    0x09, 0x00, 0x01, 0x00, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00};

constexpr int64_t kTs = 1'700'000'000'123'456'789;  // 2023-11-14T22:13:20.123456789Z

TEST(PcapngWriter, FormatFromTheFileName) {
  EXPECT_EQ(capture_format_for_path("/tmp/x.pcapng"), CaptureFormat::kPcapng);
  EXPECT_EQ(capture_format_for_path("X.PCAPNG"), CaptureFormat::kPcapng);
  EXPECT_EQ(capture_format_for_path("/tmp/x.pcap"), CaptureFormat::kPcap);
  EXPECT_EQ(capture_format_for_path("/tmp/x.pcapng.gz"), CaptureFormat::kPcap);
  EXPECT_EQ(capture_format_for_path("pcapng"), CaptureFormat::kPcap);
  EXPECT_EQ(capture_format_for_path(""), CaptureFormat::kPcap);
}

TEST(PcapngWriter, HeaderGoldenBytes) {
  TempFile f("header");
  {
    auto w = PcapWriter::open(f.path, PcapWriter::kDefaultSnaplen, CaptureFormat::kPcapng);
    ASSERT_TRUE(w.ok()) << w.error();
    EXPECT_TRUE((*w)->supports_comments());
    EXPECT_EQ(read_file(f.path), kGoldenHeader);  // on disk once open
  }
  EXPECT_EQ(read_file(f.path), kGoldenHeader);
  EXPECT_EQ(kGoldenHeader.size(), PcapWriter::kPcapngHeaderLen);
}

TEST(PcapngWriter, PacketBlockGoldenBytes) {
  TempFile f("epb");
  {
    auto w = PcapWriter::open(f.path, PcapWriter::kDefaultSnaplen, CaptureFormat::kPcapng);
    ASSERT_TRUE(w.ok()) << w.error();
    const std::vector<uint8_t> frame = {0xde, 0xad, 0xbe, 0xef, 0x42};
    const std::vector<std::string> comments = {"hi"};
    (*w)->write(frame, kTs, FrameDirection::kOutbound, comments);
  }
  std::vector<uint8_t> expected = kGoldenHeader;
  const std::vector<uint8_t> epb = {
      0x06, 0x00, 0x00, 0x00,                          // Enhanced Packet Block
      0x3c, 0x00, 0x00, 0x00,                          // total length 60
      0x00, 0x00, 0x00, 0x00,                          // interface 0
      0xfe, 0x9c, 0x97, 0x17,                          // timestamp (ns) high: 0x17979cfe
      0x15, 0xcd, 0x85, 0x3d,                          // low: 0x3d85cd15
      0x05, 0x00, 0x00, 0x00,                          // captured length
      0x05, 0x00, 0x00, 0x00,                          // original length
      0xde, 0xad, 0xbe, 0xef, 0x42, 0x00, 0x00, 0x00,  // the frame, padded to 4
      0x02, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00,  // epb_flags: outbound
      0x01, 0x00, 0x02, 0x00, 0x68, 0x69, 0x00, 0x00,  // opt_comment "hi", padded
      0x00, 0x00, 0x00, 0x00,                          // opt_endofopt
      0x3c, 0x00, 0x00, 0x00,                          // total length again
  };
  expected.insert(expected.end(), epb.begin(), epb.end());
  EXPECT_EQ(read_file(f.path), expected);
}

TEST(PcapngWriter, NoOptionsWithoutDirectionOrComments) {
  TempFile f("plain");
  {
    auto w = PcapWriter::open(f.path, PcapWriter::kDefaultSnaplen, CaptureFormat::kPcapng);
    ASSERT_TRUE(w.ok()) << w.error();
    (*w)->write(std::vector<uint8_t>{1, 2, 3, 4}, 5);
  }
  const auto bytes = read_file(f.path);
  // 28 fixed + 4 data + 4 trailing length: no options, no end-of-options.
  ASSERT_EQ(bytes.size(), kGoldenHeader.size() + 36);
  EXPECT_EQ(bytes[kGoldenHeader.size() + 4], 36);
  auto file = read_pcapng(f.path);
  ASSERT_TRUE(file);
  ASSERT_EQ(file->packets.size(), 1u);
  EXPECT_EQ(file->packets[0].ts, 5u);
  EXPECT_EQ(file->packets[0].flags, 0u);
  EXPECT_TRUE(file->packets[0].comments.empty());
}

TEST(PcapngWriter, RoundTripsDirectionCommentsSnaplenAndBigRecords) {
  TempFile f("roundtrip");
  {
    auto w = PcapWriter::open(f.path, 100, CaptureFormat::kPcapng);
    ASSERT_TRUE(w.ok()) << w.error();
    std::vector<uint8_t> small(61, 0x11);
    const std::vector<std::string> two = {"first note", "a second, longer note"};
    (*w)->write(small, kTs, FrameDirection::kInbound, two);
    std::vector<uint8_t> big(300, 0x22);  // cut to the snaplen
    (*w)->write(big, kTs + 1, FrameDirection::kOutbound);
    // A comment longer than the limit is cut.
    const std::vector<std::string> huge = {std::string(PcapWriter::kMaxCommentLen + 10, 'x')};
    (*w)->write(small, kTs + 2, FrameDirection::kUnknown, huge);
  }
  {
    // A record bigger than the 64 KiB buffer goes straight out, in order.
    auto w = PcapWriter::open(f.path + ".big", PcapWriter::kDefaultSnaplen, CaptureFormat::kPcapng);
    ASSERT_TRUE(w.ok());
    const std::vector<std::string> c = {"big"};
    (*w)->write(std::vector<uint8_t>(10, 1), kTs, FrameDirection::kOutbound, c);
    (*w)->write(std::vector<uint8_t>(70001, 2), kTs, FrameDirection::kOutbound, c);
    (*w)->write(std::vector<uint8_t>(10, 3), kTs, FrameDirection::kInbound, c);
  }
  auto file = read_pcapng(f.path);
  ASSERT_TRUE(file);
  EXPECT_EQ(file->snaplen, 100u);
  EXPECT_EQ(file->tsresol, 9);
  ASSERT_EQ(file->packets.size(), 3u);
  const auto& a = file->packets[0];
  EXPECT_EQ(a.ts, static_cast<uint64_t>(kTs));
  EXPECT_TRUE(a.inbound());
  EXPECT_EQ(a.data.size(), 61u);
  EXPECT_EQ(a.comments, (std::vector<std::string>{"first note", "a second, longer note"}));
  const auto& b = file->packets[1];
  EXPECT_TRUE(b.outbound());
  EXPECT_EQ(b.data.size(), 100u);
  EXPECT_EQ(b.original_len, 300u);
  const auto& c = file->packets[2];
  EXPECT_EQ(c.flags, 0u);
  ASSERT_EQ(c.comments.size(), 1u);
  EXPECT_EQ(c.comments[0].size(), PcapWriter::kMaxCommentLen);

  auto big = read_pcapng(f.path + ".big");
  std::remove((f.path + ".big").c_str());
  ASSERT_TRUE(big);
  ASSERT_EQ(big->packets.size(), 3u);
  EXPECT_EQ(big->packets[0].data[0], 1);
  EXPECT_EQ(big->packets[1].data.size(), 70001u);
  EXPECT_EQ(big->packets[1].comments, (std::vector<std::string>{"big"}));
  EXPECT_EQ(big->packets[2].data[0], 3);
}

TEST(PcapngWriter, ClassicPcapIgnoresCommentsAndDirection) {
  TempFile f("classic");
  {
    auto w = PcapWriter::open(f.path, PcapWriter::kDefaultSnaplen, CaptureFormat::kPcap);
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE((*w)->supports_comments());
    const std::vector<std::string> c = {"ignored"};
    (*w)->write(std::vector<uint8_t>{1, 2, 3}, kTs, FrameDirection::kOutbound, c);
  }
  EXPECT_EQ(read_file(f.path).size(), 24u + 16 + 3);
}

// --- tshark --------------------------------------------------------------

TEST(PcapngWriter, TsharkReadsCommentsDirectionAndNanoseconds) {
  ASSERT_TRUE(shunt::testing::have_tool("tshark"));
  int status = 0;
  TempFile f("tshark");
  {
    auto w = PcapWriter::open(f.path, PcapWriter::kDefaultSnaplen, CaptureFormat::kPcapng);
    ASSERT_TRUE(w.ok());
    // ARP request 198.18.0.2 -> who has 198.18.0.1.
    const std::vector<uint8_t> arp = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
        198,  18,   0,    2,    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 198,  18,   0,    1};
    const std::vector<std::string> c = {"shunt fault rule 1 'out drop arp': dropped, not sent"};
    (*w)->write(arp, kTs, FrameDirection::kOutbound, c);
    (*w)->write(arp, kTs + 1, FrameDirection::kInbound);
  }
  const std::string out =
      shunt::testing::run_command("tshark -r " + f.path +
              " -T fields -e frame.time_epoch -e frame.packet_flags_direction -e frame.comment "
              "2>&1",
          &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("1700000000.123456789\t0x00000002\tshunt fault rule 1 'out drop arp': "
                     "dropped, not sent\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("1700000000.123456790\t0x00000001\t\n"), std::string::npos) << out;
  const std::string filtered =
      shunt::testing::run_command("tshark -r " + f.path + " -Y frame.comment 2>/dev/null", &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(std::count(filtered.begin(), filtered.end(), '\n'), 1) << filtered;
}

}  // namespace
}  // namespace shunt
