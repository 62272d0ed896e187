// Markdown, the subset docs/ is written in, to man(7) roff: the man pages
// are made from the same text as the docs (man/*.md, docs/*.md), so the two
// cannot drift apart.
//
// Handled: headings (`#` is the title and is dropped, `##` becomes .SH,
// deeper ones .SS), paragraphs, hard line breaks (two trailing spaces),
// fenced code blocks, `-`/`*` and numbered lists with indented continuation
// lines, tables (a .TP entry per row: the first cell is the tag; with more
// than two columns each further cell is labelled with its header), inline
// `code` (bold), **bold**, *italic*, links (their text, and the address of
// an absolute one), images (dropped), HTML comments (dropped) and
// backslash escapes. Characters roff would misread are escaped, and
// non-ASCII characters become roff glyph names, so the page renders the
// same in any locale.
#pragma once

#include <string>
#include <string_view>

namespace shunt::docgen {

// The roff body for `markdown` (no .TH: see man_page).
std::string markdown_to_roff(std::string_view markdown);

// One line of Markdown text (a paragraph's line, a table cell) as roff text.
std::string inline_roff(std::string_view text);

// A whole page: .TH, the NAME section and the body converted from
// `markdown`. `name` is "shunt-ss", `section` "1", `summary` the NAME
// line's text after the dash, `source` the footer ("shunt 0.9.0").
std::string man_page(std::string_view name, std::string_view section, std::string_view summary,
                     std::string_view source, std::string_view markdown);

}  // namespace shunt::docgen
