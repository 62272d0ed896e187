#include "driver/pcap_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace shunt {
namespace {

void put_le16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}

void put_le32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// pcapng block types and option codes.
constexpr uint32_t kSectionHeaderBlock = 0x0a0d0d0a;
constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;
constexpr uint32_t kInterfaceDescriptionBlock = 1;
constexpr uint32_t kEnhancedPacketBlock = 6;
constexpr uint16_t kOptEndOfOpt = 0;
constexpr uint16_t kOptComment = 1;
constexpr uint16_t kOptEpbFlags = 2;
constexpr uint16_t kOptIfTsresol = 9;

size_t pad4(size_t n) {
  return (4 - n % 4) % 4;
}

// One option: code, length, value padded to 32 bits.
void put_option(std::vector<uint8_t>& b, uint16_t code, const uint8_t* value, uint16_t len) {
  put_le16(b, code);
  put_le16(b, len);
  b.insert(b.end(), value, value + len);
  b.insert(b.end(), pad4(len), 0);
}

}  // namespace

CaptureFormat capture_format_for_path(std::string_view path) {
  constexpr std::string_view kExt = ".pcapng";
  if (path.size() < kExt.size()) return CaptureFormat::kPcap;
  const std::string_view tail = path.substr(path.size() - kExt.size());
  for (size_t i = 0; i < kExt.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(tail[i])) != kExt[i]) return CaptureFormat::kPcap;
  }
  return CaptureFormat::kPcapng;
}

Expected<std::unique_ptr<PcapWriter>, std::string> PcapWriter::open(const std::string& path,
                                                                    uint32_t snaplen,
                                                                    CaptureFormat format) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return fmt::format(
        "cannot create capture file '{}': {}: check that the directory exists and "
        "is writable",
        path, std::strerror(errno));
  }
  auto writer = std::make_unique<PcapWriter>(fd, snaplen, format);
  if (!writer->flush()) {
    return fmt::format("cannot write capture file '{}': {}", path,
                       std::strerror(writer->last_error()));
  }
  return writer;
}

PcapWriter::PcapWriter(int fd, uint32_t snaplen, CaptureFormat format)
    : fd_(fd), snaplen_(snaplen), format_(format) {
  buffer_.reserve(kBufferSize);
  if (format_ == CaptureFormat::kPcap) {
    // pcap-savefile(5): magic, version 2.4, thiszone 0 (GMT), sigfigs 0,
    // snaplen, link type.
    put_le32(buffer_, 0xa1b2c3d4);
    put_le16(buffer_, 2);
    put_le16(buffer_, 4);
    put_le32(buffer_, 0);
    put_le32(buffer_, 0);
    put_le32(buffer_, snaplen_);
    put_le32(buffer_, kLinktypeEthernet);
    return;
  }
  // Section Header Block, no options: 28 bytes.
  put_le32(buffer_, kSectionHeaderBlock);
  put_le32(buffer_, 28);
  put_le32(buffer_, kByteOrderMagic);
  put_le16(buffer_, 1);           // major version
  put_le16(buffer_, 0);           // minor version
  put_le32(buffer_, 0xffffffff);  // section length -1: not given
  put_le32(buffer_, 0xffffffff);
  put_le32(buffer_, 28);
  // Interface Description Block: link type, reserved, snaplen, if_tsresol
  // = 9 (10^-9 s), end of options: 32 bytes.
  put_le32(buffer_, kInterfaceDescriptionBlock);
  put_le32(buffer_, 32);
  put_le16(buffer_, static_cast<uint16_t>(kLinktypeEthernet));
  put_le16(buffer_, 0);
  put_le32(buffer_, snaplen_);
  const uint8_t tsresol = 9;
  put_option(buffer_, kOptIfTsresol, &tsresol, 1);
  put_le32(buffer_, kOptEndOfOpt);  // code 0, length 0
  put_le32(buffer_, 32);
}

PcapWriter::~PcapWriter() {
  flush();
  if (fd_ >= 0) ::close(fd_);
}

void PcapWriter::write(Bytes frame, int64_t unix_time_ns, FrameDirection direction,
                       std::span<const std::string> comments) {
  if (failed()) {
    ++records_dropped_;
    return;
  }
  const int64_t ns = std::max<int64_t>(unix_time_ns, 0);
  const size_t captured = std::min<size_t>(frame.size(), snaplen_);
  head_.clear();
  tail_.clear();
  if (format_ == CaptureFormat::kPcap) {
    put_le32(head_, static_cast<uint32_t>(ns / 1'000'000'000));
    put_le32(head_, static_cast<uint32_t>((ns % 1'000'000'000) / 1000));
    put_le32(head_, static_cast<uint32_t>(captured));
    put_le32(head_, static_cast<uint32_t>(frame.size()));
  } else {
    // The options first, to know the block's length.
    tail_.insert(tail_.end(), pad4(captured), 0);
    if (direction != FrameDirection::kUnknown) {
      uint8_t flags[4];
      put_le32(flags, direction == FrameDirection::kInbound ? 1 : 2);
      put_option(tail_, kOptEpbFlags, flags, 4);
    }
    for (const std::string& c : comments) {
      const size_t len = std::min(c.size(), kMaxCommentLen);
      put_option(tail_, kOptComment, reinterpret_cast<const uint8_t*>(c.data()),
                 static_cast<uint16_t>(len));
    }
    if (tail_.size() > pad4(captured)) put_le32(tail_, kOptEndOfOpt);
    const size_t total = kPcapngPacketHeaderLen + captured + tail_.size() + 4;
    put_le32(tail_, static_cast<uint32_t>(total));
    const auto ts = static_cast<uint64_t>(ns);
    put_le32(head_, kEnhancedPacketBlock);
    put_le32(head_, static_cast<uint32_t>(total));
    put_le32(head_, 0);  // interface 0
    put_le32(head_, static_cast<uint32_t>(ts >> 32));
    put_le32(head_, static_cast<uint32_t>(ts));
    put_le32(head_, static_cast<uint32_t>(captured));
    put_le32(head_, static_cast<uint32_t>(frame.size()));
  }

  const size_t record_len = head_.size() + captured + tail_.size();
  if (buffer_.size() + record_len > kBufferSize && !flush()) {
    ++records_dropped_;
    return;
  }
  if (record_len > kBufferSize) {
    // A record bigger than the buffer (a GSO frame) goes straight out; the
    // buffer is empty at this point, so the order of records is kept.
    if (!write_all(head_.data(), head_.size()) || !write_all(frame.data(), captured) ||
        !write_all(tail_.data(), tail_.size())) {
      ++records_dropped_;
      return;
    }
    ++records_written_;
    return;
  }
  buffer_.insert(buffer_.end(), head_.begin(), head_.end());
  buffer_.insert(buffer_.end(), frame.data(), frame.data() + captured);
  buffer_.insert(buffer_.end(), tail_.begin(), tail_.end());
  ++buffered_records_;
}

bool PcapWriter::flush() {
  if (failed()) return false;
  if (buffer_.empty()) return true;
  const bool ok = write_all(buffer_.data(), buffer_.size());
  if (ok) {
    records_written_ += buffered_records_;
  } else {
    records_dropped_ += buffered_records_;
  }
  buffered_records_ = 0;
  buffer_.clear();
  return ok;
}

bool PcapWriter::write_all(const uint8_t* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd_, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      ++write_errors_;
      last_error_ = errno;
      return false;
    }
    if (n == 0) {  // no progress: treat like a full disk rather than spin
      ++write_errors_;
      last_error_ = ENOSPC;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

int64_t realtime_offset_from_monotonic_ns() {
  timespec real{};
  timespec mono{};
  ::clock_gettime(CLOCK_REALTIME, &real);
  ::clock_gettime(CLOCK_MONOTONIC, &mono);
  return (int64_t{real.tv_sec} - mono.tv_sec) * 1'000'000'000 + (real.tv_nsec - mono.tv_nsec);
}

}  // namespace shunt
