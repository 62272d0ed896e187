// Every setting of the `shunt` command and of the preload library: each
// option of the wrapper with the environment variable the library reads for
// it, and the variables that have no option.
//
// This table is the one source of the settings' documentation: `shunt
// --help` prints it, shunt-docgen (tools/docgen/) turns it into the OPTIONS
// and ENVIRONMENT sections of shunt(1) and into the table in
// docs/settings.md, and tests/install/docs_test.sh checks that every
// variable the code reads is in it. Edit a setting here, then run
// `cmake --build build/debug --target update-docs`.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace shunt::tools {

struct Setting {
  std::string_view flag;      // "--tap"; empty for a variable without an option
  std::string_view env;       // "SHUNT_TAP"
  std::string_view arg;       // the value's name in --help and the docs: "IFNAME"
  std::string_view help;      // one line for --help, plain text, without the default
  std::string_view fallback;  // the default (Markdown); empty: none worth naming
  std::string_view doc;       // the full meaning (Markdown) for the docs and man page
  bool repeatable = false;    // given several times, the values add up (--fault)
};

std::span<const Setting> settings();

// `text` without Markdown's code marks: "`shunt0`" -> "shunt0".
std::string plain_text(std::string_view text);

}  // namespace shunt::tools
