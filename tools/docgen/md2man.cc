#include "tools/docgen/md2man.h"

#include <fmt/format.h>

#include <cctype>
#include <cstdint>
#include <vector>

namespace shunt::docgen {
namespace {

// Roff names of the non-ASCII characters docs/ uses; any other becomes
// \[uXXXX].
const char* glyph(uint32_t cp) {
  struct Glyph {
    uint32_t cp;
    const char* roff;
  };
  static constexpr Glyph kGlyphs[] = {
      {0x00a0, "\\~"},   {0x00b0, "\\(de"}, {0x00b1, "\\(+-"}, {0x00b5, "\\(mc"}, {0x00b7, "\\(pc"},
      {0x00d7, "\\(mu"}, {0x2013, "\\(en"}, {0x2014, "\\(em"}, {0x2018, "\\(oq"}, {0x2019, "\\(cq"},
      {0x201c, "\\(lq"}, {0x201d, "\\(rq"}, {0x2026, "..."},   {0x2190, "\\(<-"}, {0x2192, "\\(->"},
      {0x2194, "\\(<>"}, {0x2248, "\\(~~"}, {0x2260, "\\(!="}, {0x2264, "\\(<="}, {0x2265, "\\(>="},
  };
  for (const Glyph& g : kGlyphs) {
    if (g.cp == cp) return g.roff;
  }
  return nullptr;
}

// Decodes the UTF-8 sequence at s[i] (advancing i); a malformed byte is
// taken as U+FFFD.
uint32_t decode_utf8(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = b0 >= 0xf0 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc0 ? 2 : 1;
  uint32_t cp = len == 4 ? b0 & 0x07u : len == 3 ? b0 & 0x0fu : len == 2 ? b0 & 0x1fu : 0xfffdu;
  if (len == 1 || i + len > s.size()) {
    ++i;
    return 0xfffd;
  }
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) {
      ++i;
      return 0xfffd;
    }
    cp = (cp << 6) | (b & 0x3fu);
  }
  i += len;
  return cp;
}

// One character of text, escaped for roff; advances i.
void escape_char(std::string_view s, size_t& i, std::string& out) {
  const char c = s[i];
  if (static_cast<unsigned char>(c) >= 0x80) {
    const uint32_t cp = decode_utf8(s, i);
    if (const char* g = glyph(cp)) {
      out += g;
    } else {
      out += fmt::format("\\[u{:04X}]", cp);
    }
    return;
  }
  ++i;
  switch (c) {
    case '\\':
      out += "\\e";
      break;
    case '-':
      out += "\\-";
      break;  // a minus, so options paste as typed
    case '\'':
      out += "\\(aq";
      break;
    case '`':
      out += "\\(ga";
      break;
    case '~':
      out += "\\(ti";
      break;
    case '^':
      out += "\\(ha";
      break;
    default:
      out += c;
  }
}

std::string escape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) escape_char(s, i, out);
  return out;
}

bool is_punct(char c) {
  return std::ispunct(static_cast<unsigned char>(c)) != 0;
}

// Inline Markdown to roff, keeping track of the font so that nested marks
// (code inside bold) return to the right one.
class Inline {
 public:
  std::string convert(std::string_view t) {
    run(t);
    set_font(false, false);
    return out_;
  }

 private:
  void set_font(bool bold, bool italic) {
    if (bold == bold_ && italic == italic_) return;
    bold_ = bold;
    italic_ = italic;
    out_ += bold && italic ? "\\f(BI" : bold ? "\\fB" : italic ? "\\fI" : "\\fR";
  }

  void run(std::string_view t) {
    for (size_t i = 0; i < t.size();) {
      const char c = t[i];
      if (c == '\\' && i + 1 < t.size() && is_punct(t[i + 1])) {
        ++i;
        escape_char(t, i, out_);
      } else if (c == '`') {
        size_t n = 0;
        while (i + n < t.size() && t[i + n] == '`') ++n;
        const std::string fence(n, '`');
        const size_t end = t.find(fence, i + n);
        if (end == std::string_view::npos) {
          for (size_t k = 0; k < n; ++k) out_ += "\\(ga";
          i += n;
          continue;
        }
        std::string_view code = t.substr(i + n, end - i - n);
        if (code.size() >= 2 && code.front() == ' ' && code.back() == ' ') {
          code = code.substr(1, code.size() - 2);
        }
        const bool b = bold_, it = italic_;
        set_font(true, it);
        out_ += escape(code);
        set_font(b, it);
        i = end + n;
      } else if (c == '*' && t.substr(i).starts_with("**")) {
        const size_t end = t.find("**", i + 2);
        if (end == std::string_view::npos || end == i + 2) {
          out_ += "**";
          i += 2;
          continue;
        }
        const bool b = bold_, it = italic_;
        set_font(true, it);
        run(t.substr(i + 2, end - i - 2));
        set_font(b, it);
        i = end + 2;
      } else if (c == '*' && i + 1 < t.size() && t[i + 1] != ' ' && t[i + 1] != '*') {
        size_t end = t.find('*', i + 1);
        while (end != std::string_view::npos && t[end - 1] == ' ') end = t.find('*', end + 1);
        if (end == std::string_view::npos) {
          out_ += '*';
          ++i;
          continue;
        }
        const bool b = bold_, it = italic_;
        set_font(b, true);
        run(t.substr(i + 1, end - i - 1));
        set_font(b, it);
        i = end + 1;
      } else if ((c == '[' || (c == '!' && i + 1 < t.size() && t[i + 1] == '[')) && link_at(t, i)) {
        continue;
      } else {
        escape_char(t, i, out_);
      }
    }
  }

  // [text](url) becomes its text (and " <url>" for an absolute address);
  // ![alt](src) is dropped: a man page has no images.
  bool link_at(std::string_view t, size_t& i) {
    const bool image = t[i] == '!';
    const size_t open = image ? i + 1 : i;
    const size_t close = t.find("](", open);
    if (close == std::string_view::npos) return false;
    const size_t end = t.find(')', close + 2);
    if (end == std::string_view::npos) return false;
    if (!image) {
      run(t.substr(open + 1, close - open - 1));
      const std::string_view url = t.substr(close + 2, end - close - 2);
      if (url.starts_with("http://") || url.starts_with("https://")) {
        out_ += " \\(la" + escape(url) + "\\(ra";
      }
    }
    i = end + 1;
    return true;
  }

  std::string out_;
  bool bold_ = false;
  bool italic_ = false;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

size_t indent_of(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && s[n] == ' ') ++n;
  return n;
}

bool is_fence(std::string_view line) {
  return trim(line).starts_with("```");
}

// "- item", "* item" -> "\(bu"; "12. item" -> "12."; else empty. *text is
// set to the item's text.
std::string list_marker(std::string_view line, std::string_view* text) {
  if ((line.starts_with("- ") || line.starts_with("* "))) {
    *text = line.substr(2);
    return "\\(bu";
  }
  size_t n = 0;
  while (n < line.size() && std::isdigit(static_cast<unsigned char>(line[n])) != 0) ++n;
  if (n > 0 && line.substr(n).starts_with(". ")) {
    *text = line.substr(n + 2);
    return std::string(line.substr(0, n + 1));
  }
  return {};
}

bool starts_block(std::string_view line) {
  std::string_view rest;
  return line.starts_with("#") || line.starts_with("|") || is_fence(line) ||
         line.starts_with("<!--") || !list_marker(line, &rest).empty();
}

std::vector<std::string> table_cells(std::string_view row) {
  row = trim(row);
  if (row.starts_with("|")) row.remove_prefix(1);
  if (row.ends_with("|") && !row.ends_with("\\|")) row.remove_suffix(1);
  std::vector<std::string> cells(1);
  for (size_t i = 0; i < row.size(); ++i) {
    if (row[i] == '\\' && i + 1 < row.size() && row[i + 1] == '|') {
      cells.back() += '|';
      ++i;
    } else if (row[i] == '|') {
      cells.emplace_back();
    } else {
      cells.back() += row[i];
    }
  }
  for (auto& c : cells) c = std::string(trim(c));
  return cells;
}

bool is_separator_row(const std::vector<std::string>& cells) {
  for (const auto& c : cells) {
    if (c.empty() || c.find_first_not_of(":-") != std::string::npos) return false;
  }
  return true;
}

class Blocks {
 public:
  explicit Blocks(std::string_view md) {
    size_t start = 0;
    while (start <= md.size()) {
      size_t nl = md.find('\n', start);
      if (nl == std::string_view::npos) nl = md.size();
      lines_.push_back(md.substr(start, nl - start));
      start = nl + 1;
    }
  }

  std::string convert() {
    while (i_ < lines_.size()) {
      const std::string_view line = lines_[i_];
      const std::string_view t = trim(line);
      std::string_view item;
      if (t.empty()) {
        ++i_;
      } else if (t.starts_with("<!--")) {
        comment();
      } else if (is_fence(line)) {
        code_block();
      } else if (line.starts_with("#")) {
        heading(line);
      } else if (line.starts_with("|")) {
        table();
      } else if (std::string m = list_marker(line, &item); !m.empty()) {
        list_item(m, item);
      } else if (in_list_ && indent_of(line) >= 2) {
        // A paragraph of the list item above (after a blank line).
        emit(".IP");
        paragraph();
      } else {
        in_list_ = false;
        if (!after_heading_) emit(".PP");
        paragraph();
      }
    }
    return out_;
  }

 private:
  void emit(std::string_view roff_line) {
    out_ += roff_line;
    out_ += '\n';
    after_heading_ = false;
  }

  // A line of text: roff would take a leading '.' or '\'' for a request.
  void emit_text(std::string_view markdown_line) {
    const bool hard_break = markdown_line.ends_with("  ");
    std::string text = inline_roff(trim(markdown_line));
    if (text.empty()) return;
    if (text[0] == '.' || text[0] == '\'') text.insert(0, "\\&");
    emit(text);
    if (hard_break) emit(".br");
  }

  void comment() {
    while (i_ < lines_.size() && lines_[i_].find("-->") == std::string_view::npos) ++i_;
    ++i_;
  }

  void heading(std::string_view line) {
    size_t level = 0;
    while (level < line.size() && line[level] == '#') ++level;
    ++i_;
    in_list_ = false;
    if (level == 1) return;  // the document's title: the page has its own
    std::string text;
    for (char c : trim(line.substr(level))) {
      if (c == '`') continue;
      text += level == 2 ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    }
    std::string roff = escape(text);
    for (size_t p = 0; (p = roff.find('"', p)) != std::string::npos; p += 4)
      roff.replace(p, 1, "\\(dq");
    emit(fmt::format("{} \"{}\"", level == 2 ? ".SH" : ".SS", roff));
    after_heading_ = true;
  }

  void code_block() {
    const size_t indent = indent_of(lines_[i_]);
    const bool in_item = in_list_ && indent >= 2;
    ++i_;
    emit(in_item ? ".IP" : after_heading_ ? ".RS 4" : ".PP\n.RS 4");
    emit(".nf");
    for (; i_ < lines_.size() && !is_fence(lines_[i_]); ++i_) {
      std::string_view l = lines_[i_];
      l.remove_prefix(std::min(indent, indent_of(l)));
      while (l.ends_with('\r')) l.remove_suffix(1);
      std::string text = escape(l);
      if (!text.empty() && (text[0] == '.' || text[0] == '\'')) text.insert(0, "\\&");
      emit(text);
    }
    ++i_;  // the closing fence
    emit(".fi");
    if (!in_item) {
      emit(".RE");
      in_list_ = false;
    }
  }

  void table() {
    std::vector<std::vector<std::string>> rows;
    for (; i_ < lines_.size() && trim(lines_[i_]).starts_with("|"); ++i_) {
      auto cells = table_cells(lines_[i_]);
      if (!is_separator_row(cells)) rows.push_back(std::move(cells));
    }
    in_list_ = false;
    if (rows.size() < 2) return;
    const auto& header = rows[0];
    for (size_t r = 1; r < rows.size(); ++r) {
      const auto& row = rows[r];
      emit(".TP");
      std::string tag = row.empty() ? "" : inline_roff(row[0]);
      if (tag.empty() || tag[0] == '.' || tag[0] == '\'') tag.insert(0, "\\&");
      emit(tag);
      bool first = true;
      for (size_t c = 1; c < row.size(); ++c) {
        if (row[c].empty()) continue;
        if (!first) emit(".br");
        first = false;
        std::string text = inline_roff(row[c]);
        if (header.size() > 2 && c < header.size() && !header[c].empty()) {
          text = fmt::format("\\fI{}\\fR: {}", escape(header[c]), text);
        } else if (!text.empty() && (text[0] == '.' || text[0] == '\'')) {
          text.insert(0, "\\&");
        }
        emit(text);
      }
    }
  }

  void list_item(const std::string& marker, std::string_view first_line) {
    emit(fmt::format(".IP {} {}", marker, marker == "\\(bu" ? 2 : 4));
    in_list_ = true;
    emit_text(first_line);
    ++i_;
    for (; i_ < lines_.size(); ++i_) {
      const std::string_view l = lines_[i_];
      if (trim(l).empty() || starts_block(l) || is_fence(l)) break;
      emit_text(l);
    }
  }

  // The lines up to a blank one or the start of another block.
  void paragraph() {
    for (; i_ < lines_.size(); ++i_) {
      const std::string_view l = lines_[i_];
      if (trim(l).empty() || starts_block(l) || is_fence(l)) break;
      emit_text(l);
    }
  }

  std::vector<std::string_view> lines_;
  size_t i_ = 0;
  std::string out_;
  bool in_list_ = false;
  bool after_heading_ = true;
};

}  // namespace

std::string inline_roff(std::string_view text) {
  return Inline().convert(text);
}

std::string markdown_to_roff(std::string_view markdown) {
  return Blocks(markdown).convert();
}

std::string man_page(std::string_view name, std::string_view section, std::string_view summary,
                     std::string_view source, std::string_view markdown) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string out =
      ".\\\" Generated by shunt-docgen (tools/docgen) from Markdown: edit that, not this.\n";
  out += fmt::format(".TH \"{}\" \"{}\" \"\" \"{}\" \"shunt manual\"\n", escape(upper), section,
                     escape(source));
  // Left-adjusted and without hyphenation: option and variable names stay
  // whole, so that they can be searched for and pasted.
  out += ".nh\n.ad l\n";
  out += fmt::format(".SH NAME\n{} \\- {}\n", escape(name), inline_roff(summary));
  out += markdown_to_roff(markdown);
  return out;
}

}  // namespace shunt::docgen
