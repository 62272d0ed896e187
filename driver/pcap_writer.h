// PcapWriter: appends Ethernet frames to a capture file, either classic
// libpcap (the format every tool reads: tcpdump, tshark, Wireshark) or
// pcapng, which adds per-packet comments and direction (shunt writes what
// its fault rules did to a frame as a comment on it, capture_device.h).
//
// Format (https://www.tcpdump.org/manpages/pcap-savefile.5.html, and
// draft-ietf-opsawg-pcap): a 24-byte file header (magic 0xa1b2c3d4 =
// microsecond timestamps, version 2.4, snaplen, link type) followed by one
// record per frame: a 16-byte header (seconds, microseconds, captured length,
// original length) and the captured bytes. Readers detect the byte order from
// the magic; this writer always writes little-endian, so the bytes are the
// same on every host (tests/unit/pcap_writer_test.cc checks them).
// Link type 1 is LINKTYPE_ETHERNET (https://www.tcpdump.org/linktypes.html).
//
// pcapng (draft-ietf-opsawg-pcapng,
// https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/), also
// little-endian, as one section with one interface:
//   Section Header Block       type 0x0a0d0d0a, byte-order magic 0x1a2b3c4d,
//                              version 1.0, section length -1 (unknown)
//   Interface Description Block type 1, LINKTYPE_ETHERNET, snaplen,
//                              if_tsresol (9) = 9: nanosecond timestamps
//   Enhanced Packet Block      type 6 per frame: interface 0, 64-bit time in
//                              ns (high, low), captured and original length,
//                              the bytes padded to 4, then options:
//                              epb_flags (2) with the direction in bits 0-1
//                              (1 inbound, 2 outbound) when known, one
//                              opt_comment (1) per comment (UTF-8, at most
//                              kMaxCommentLen bytes each), opt_endofopt.
// Every block starts and ends with its total length (a multiple of 4).
//
// Flush policy: records collect in a 64 KiB buffer that goes to the file in
// one write(2) when the next record would not fit, when flush() is called,
// and on destruction. The file header is written when the file is opened,
// so even a capture with no frames is a valid file. CaptureDevice calls
// flush() after each batch (see capture_device.h), so a crash loses at most
// the frames of the batch being captured.
//
// Write errors are counted, never fatal and never thrown: after the first
// failed write(2) the writer stops writing (so that it never appends after a
// cut-short record) and counts every later record as dropped. The file then
// reads correctly up to the last complete record.
//
// Not thread-safe; used under the lock of the device it belongs to.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/result.h"

namespace shunt {

enum class CaptureFormat : uint8_t { kPcap, kPcapng };

// Direction of a captured frame, for pcapng's epb_flags.
enum class FrameDirection : uint8_t { kUnknown, kInbound, kOutbound };

// kPcapng when `path` ends in ".pcapng" (any case), else kPcap.
CaptureFormat capture_format_for_path(std::string_view path);

class PcapWriter {
 public:
  // Large enough for a 64 KiB GSO/TSO frame plus its headers (tcpdump's
  // default snapshot length is the same).
  static constexpr uint32_t kDefaultSnaplen = 262144;
  static constexpr uint32_t kLinktypeEthernet = 1;
  static constexpr size_t kFileHeaderLen = 24;
  static constexpr size_t kRecordHeaderLen = 16;
  static constexpr size_t kBufferSize = size_t{64} * 1024;
  // pcapng: the header blocks and the fixed part of a packet block.
  static constexpr size_t kPcapngHeaderLen = 28 + 32;  // SHB + IDB
  static constexpr size_t kPcapngPacketHeaderLen = 28;
  // A longer comment is cut to this many bytes.
  static constexpr size_t kMaxCommentLen = 4096;

  // Creates (or truncates) `path` and writes the file header (pcap) or the
  // section and interface blocks (pcapng). The error is one line for the
  // user, naming the file and the reason.
  static Expected<std::unique_ptr<PcapWriter>, std::string> open(
      const std::string& path, uint32_t snaplen = kDefaultSnaplen,
      CaptureFormat format = CaptureFormat::kPcap);

  // Takes ownership of `fd`, already open for writing, and queues the file
  // header (it goes out with the first flush).
  explicit PcapWriter(int fd, uint32_t snaplen = kDefaultSnaplen,
                      CaptureFormat format = CaptureFormat::kPcap);
  ~PcapWriter();  // flushes and closes the fd
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Queues one record. `unix_time_ns` is the wall-clock time of the frame in
  // nanoseconds since 1970 (negative values are written as 0); it is
  // truncated to microseconds in a pcap file and kept in ns in pcapng. A
  // frame longer than the snaplen is cut to it (the record keeps the
  // original length). pcapng records `direction` and `comments`; pcap has
  // no place for them and drops them.
  void write(Bytes frame, int64_t unix_time_ns, FrameDirection direction = FrameDirection::kUnknown,
             std::span<const std::string> comments = {});

  // Writes the queued records to the file. Returns false if the writer has
  // failed (now or before).
  bool flush();

  uint32_t snaplen() const { return snaplen_; }
  // The file's descriptor (the preload runtime keeps it from being closed).
  int fd() const { return fd_; }
  CaptureFormat format() const { return format_; }
  bool supports_comments() const { return format_ == CaptureFormat::kPcapng; }
  // Records that reached the file.
  uint64_t records_written() const { return records_written_; }
  // Records lost to write errors.
  uint64_t records_dropped() const { return records_dropped_; }
  // Failed write(2) calls (at most 1: the writer stops after the first).
  uint64_t write_errors() const { return write_errors_; }
  // errno of the failed write, 0 if none.
  int last_error() const { return last_error_; }
  bool failed() const { return last_error_ != 0; }

 private:
  // Writes `data` fully (retrying partial writes and EINTR). Records a
  // failure and returns false on error.
  bool write_all(const uint8_t* data, size_t len);

  int fd_;
  uint32_t snaplen_;
  CaptureFormat format_;
  std::vector<uint8_t> buffer_;
  // The bytes before and after a frame's data in its record (reused).
  std::vector<uint8_t> head_;
  std::vector<uint8_t> tail_;
  uint64_t buffered_records_ = 0;
  uint64_t records_written_ = 0;
  uint64_t records_dropped_ = 0;
  uint64_t write_errors_ = 0;
  int last_error_ = 0;
};

// CLOCK_REALTIME minus CLOCK_MONOTONIC, in nanoseconds, read now: the
// `epoch_offset_ns` that turns an Instant taken from CLOCK_MONOTONIC (what
// the preload runtime passes to the stack) into Unix time for a capture.
int64_t realtime_offset_from_monotonic_ns();

}  // namespace shunt
