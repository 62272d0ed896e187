// FaultObserver: what a device decorator that records frames (CaptureDevice)
// offers RuleFaultDevice so that the faults it injects show up on the
// frames they hit, as pcapng packet comments ("shunt fault rule 1 'in drop
// nth=1 tcp synack': dropped before the stack").
//
// The observer is the device directly inside the fault device:
//
//   stack -> RuleFaultDevice -> CaptureDevice (the observer) -> TAP
//
// so it sees outbound frames after the faults (what goes on the wire) and
// inbound frames before them (what came off the wire). Frames are named by
// their position in one transmit() or receive() batch, never by a pointer
// or an id kept across calls: no state of the observer outlives the call
// it describes, so a reused buffer can never inherit another frame's notes.
//
// Outbound, per transmit() call of the fault device:
//   annotate_transmit(notes)  right before inner.transmit(frames): notes[i]
//                             are the notes of frames[i]; consumed (and
//                             forgotten) by that transmit() call.
//   record_unsent(frame, t, notes)
//                             a frame the stack sent that a rule ended (drop,
//                             blackhole, a full rate queue): recorded with
//                             its notes although it never reaches the wire.
// Inbound, per receive() call of the inner device:
//   begin_receive()           the next inner receive() keeps its frames back
//                             instead of writing them;
//   annotate_received(i, note) adds a note to the i-th frame that receive()
//                             returned;
//   commit_received()         writes the kept frames with their notes, in
//                             order, and forgets them.
// An inbound frame that a rule holds (delay, reorder, rate) was written when
// it arrived; what later rules do to it after its release is in the fault
// log (RuleFaultDevice::log()), not in the capture.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/time.h"

namespace shunt {

class FaultObserver {
 public:
  virtual ~FaultObserver() = default;

  // Whether notes are kept at all (a classic pcap file has no place for
  // them): when false the fault device does not format any.
  virtual bool wants_notes() const = 0;

  virtual void annotate_transmit(std::span<const std::vector<std::string>> notes) = 0;
  virtual void record_unsent(Bytes frame, Instant t, std::span<const std::string> notes) = 0;

  virtual void begin_receive() = 0;
  virtual void annotate_received(size_t index, std::string_view note) = 0;
  virtual void commit_received() = 0;
};

}  // namespace shunt
