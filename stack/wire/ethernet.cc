#include "stack/wire/ethernet.h"

#include "stack/base/check.h"

namespace shunt::wire {

Expected<EthernetRepr, DropReason> EthernetRepr::parse(Bytes frame) {
  auto view = EthernetView::check(frame);
  if (!view) return view.error();
  return EthernetRepr{.dst = view->dst(), .src = view->src(), .ethertype = view->ethertype()};
}

void EthernetRepr::emit(MutableBytes out) const {
  SHUNT_CHECK(out.size() >= kEthernetHeaderLen);
  dst.write(out.data() + ethernet_field::kDst);
  src.write(out.data() + ethernet_field::kSrc);
  store_be16(out.data() + ethernet_field::kType, ethertype);
}

}  // namespace shunt::wire
