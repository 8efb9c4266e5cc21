#!/usr/bin/env python3
"""Turn proto/PROTOCOL.md into the scdoc source of ocstop-protocol(7).

    md2scd.py PROTOCOL.md VERSION > ocstop-protocol.7.scd

PROTOCOL.md stays the one text of the protocol; the man page is made from it at build time. The
Markdown it may use: ATX headings (the first, level 1, is the title), paragraphs, "-" and "1."
lists with indented continuation lines and nested lists, code blocks (fenced or indented by four
spaces), pipe tables, and inline `code`, **bold**, *emphasis*, [links](url) and backslash escapes.
Anything else is refused with its line number rather than rendered wrong.
"""
import re
import sys

NAME = "ocstop-protocol"
SECTION = 7
# Literal lines longer than this are broken after a ", " so that the page reads at 80 columns
# (a man page indents a literal block by 4 more than the body's 7).
LITERAL_WIDTH = 68


class Refused(Exception):
    pass


# Characters groff cannot show on a terminal without UTF-8 (it warns), as it would show them.
ASCII_FALLBACK = {"\u2026": "..."}


def fallback(text):
    for ch, ascii_form in ASCII_FALLBACK.items():
        text = text.replace(ch, ascii_form)
    return text


def escape(text):
    """Text that scdoc prints as it is."""
    return re.sub(r"([\\*_])", r"\\\1", fallback(text))


INLINE = re.compile(
    r"(?P<code>`+)(?P<code_text>.+?)(?P=code)"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|(?<![\w*])\*(?P<em>[^*\s](?:[^*]*[^*\s])?)\*(?![\w*])"
    r"|\[(?P<link_text>[^\]]+)\]\((?P<link_url>[^)\s]+)\)"
    r"|\\(?P<escaped>[\\`*_{}\[\]()#+\-.!|<>])"
)


def inline(text):
    """Markdown inline markup to scdoc: code and strong in bold, emphasis underlined."""
    out, pos = [], 0
    for m in INLINE.finditer(text):
        out.append(escape(text[pos:m.start()]))
        if m.group("code"):
            out.append("*" + escape(m.group("code_text").strip()) + "*")
        elif m.group("bold") is not None:
            out.append("*" + inline_plain(m.group("bold")) + "*")
        elif m.group("em") is not None:
            out.append("_" + inline_plain(m.group("em")) + "_")
        elif m.group("link_text") is not None:
            url = m.group("link_url")
            shown = inline(m.group("link_text"))
            # A link inside the document or to a file of the tree means nothing in a man page.
            out.append(shown if url.startswith("#") or "://" not in url
                       else "%s (%s)" % (shown, escape(url)))
        else:
            out.append(escape(m.group("escaped")))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def inline_plain(text):
    """The inside of bold or emphasis: code loses its marks (scdoc does not nest formatting)."""
    return escape(re.sub(r"`+([^`]+)`+", r"\1", text))


def line_start(text):
    """A line scdoc would read as a list, table, comment or roff request starts escaped."""
    if text[:1] in "-.|:[;'" or text.startswith("```"):
        return "\\" + text
    return text


def wrap_literal(line):
    """Long literal lines broken after ", ", continued under the first "{" or "[" (or indented)."""
    if len(line) <= LITERAL_WIDTH:
        return [line]
    m = re.search(r"[{\[]", line)
    indent = " " * (m.start() + 1 if m and m.start() < LITERAL_WIDTH // 2 else 4)
    lines, rest = [], line
    while len(rest) > LITERAL_WIDTH:
        cut = rest.rfind(", ", 0, LITERAL_WIDTH)
        if cut <= len(indent):
            cut = rest.find(", ", LITERAL_WIDTH)
            if cut < 0:
                break
        lines.append(rest[:cut + 1])
        rest = indent + rest[cut + 2:]
    lines.append(rest)
    return lines


def literal(lines):
    out = ["```"]
    for line in lines:
        for piece in wrap_literal(line.rstrip()):
            out.append(fallback(piece).replace("\\", "\\\\"))
    out.append("```")
    return out


def split_row(line):
    """The cells of a pipe table row; a | inside `code` or escaped does not split."""
    cells, cur, in_code, i = [], "", False, 0
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur += "|"
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append(cur.strip())
            cur = ""
        else:
            cur += ch
        i += 1
    cells.append(cur.strip())
    return cells


def table(rows, lineno):
    """A table as one entry per row: its first cell in bold, then each other cell under its
    column's name, indented. A terminal's width cannot hold a three-column table of sentences
    (tbl then breaks words and cannot break names)."""
    head, rule = split_row(rows[0]), rows[1]
    for spec in split_row(rule):
        if not re.fullmatch(r":?-+:?", spec):
            raise Refused("line %d: not a table's rule: %s" % (lineno + 2, rule))
    out = []
    for r, row in enumerate(rows[2:]):
        cells = split_row(row)
        if len(cells) != len(head):
            raise Refused("line %d: %d cells where the header has %d" %
                          (lineno + 3 + r, len(cells), len(head)))
        out.append(line_start("*" + inline_plain(cells[0]) + "*"))
        rest = ["_%s_: %s" % (inline_plain(h), inline(c)) for h, c in zip(head[1:], cells[1:])]
        # Only the block's first line carries the tab: scdoc keeps one after a "++" break.
        rest = [l + " ++" for l in rest[:-1]] + rest[-1:]
        out += ["\t" + rest[0]] + rest[1:] + [""]
    return out


LIST_ITEM = re.compile(r"^(?P<indent> *)(?P<mark>[-*+]|\d+[.)]) +(?P<text>.*)$")
HEADING = re.compile(r"^(?P<level>#{1,6}) +(?P<text>.*?) *#*$")


def convert(md, version):
    lines = md.split("\n")
    out = []
    title = None
    i = 0

    def blank():
        if out and out[-1] != "":
            out.append("")

    while i < len(lines):
        line = lines[i].rstrip()
        if line.strip() == "":
            i += 1
            continue
        if "\t" in lines[i]:
            raise Refused("line %d: a tab (indent with spaces)" % (i + 1))
        m = HEADING.match(line)
        if m:
            level, text = len(m.group("level")), m.group("text")
            if level == 1:
                if title is not None:
                    raise Refused("line %d: a second title" % (i + 1))
                title = text
                out += ["# NAME", "", "%s - %s" % (NAME, inline_plain(text[:1].lower() + text[1:])),
                        "", "# DESCRIPTION", ""]
            elif level == 2:
                blank()
                out += ["# " + inline_plain(text.upper()), ""]
            elif level == 3:
                blank()
                out += ["## " + inline_plain(text), ""]
            else:
                blank()
                out += ["*" + inline_plain(text) + "*", ""]
            i += 1
            continue
        if title is None:
            raise Refused("line %d: text before the title (a level 1 heading)" % (i + 1))
        if re.match(r"^ {0,3}(>|([-*_] *){3,}$|=+ *$|<[A-Za-z!/])", line):
            raise Refused("line %d: a block quote, rule, setext heading or HTML block" % (i + 1))
        fence = re.match(r"^ *(```+|~~~+)", line)
        if fence:
            mark = fence.group(1)
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(mark):
                j += 1
            if j == len(lines):
                raise Refused("line %d: a code block that never ends" % (i + 1))
            blank()
            out += literal(lines[i + 1:j]) + [""]
            i = j + 1
            continue
        if line.startswith("    "):
            j = i
            block = []
            while j < len(lines) and (lines[j].startswith("    ") or lines[j].strip() == ""):
                block.append(lines[j][4:])
                j += 1
            while block and block[-1].strip() == "":
                block.pop()
            blank()
            out += literal(block) + [""]
            i = j
            continue
        if line.startswith("|"):
            j = i
            while j < len(lines) and lines[j].strip().startswith("|"):
                j += 1
            if j - i < 2:
                raise Refused("line %d: a table without its rule line" % (i + 1))
            blank()
            out += table([l.strip() for l in lines[i:j]], i)
            i = j
            continue
        if LIST_ITEM.match(line):
            blank()
            levels = []  # the indents of the open lists
            kind = None  # the outer list's: "-" or "."
            while i < len(lines):
                m = LIST_ITEM.match(lines[i].rstrip())
                if m is None:
                    break
                mark = "." if m.group("mark")[0].isdigit() else "-"
                indent = len(m.group("indent"))
                while levels and indent < levels[-1]:
                    levels.pop()
                if not levels or indent > levels[-1]:
                    levels.append(indent)
                if len(levels) == 1:
                    if kind is not None and mark != kind:
                        break  # another list starts: scdoc needs a blank line between
                    kind = mark
                text = [m.group("text")]
                cont = indent + len(m.group("mark")) + 1
                i += 1
                # Continuation lines: indented at least as far as the item's text, not a new item.
                while i < len(lines) and lines[i].strip() != "" and \
                        not LIST_ITEM.match(lines[i].rstrip()) and \
                        len(lines[i]) - len(lines[i].lstrip()) >= min(cont, 2):
                    text.append(lines[i].strip())
                    i += 1
                out.append("\t" * (len(levels) - 1) + mark + " " + inline(" ".join(text)))
                # Blank lines between items keep them one list.
                j = i
                while j < len(lines) and lines[j].strip() == "":
                    j += 1
                if j > i and j < len(lines) and LIST_ITEM.match(lines[j].rstrip()):
                    i = j
                if i < len(lines) and lines[i].strip() != "" and not LIST_ITEM.match(lines[i]):
                    raise Refused("line %d: a list item's line not indented under it" % (i + 1))
            out.append("")
            continue
        # A paragraph: lines up to a blank one or to something that starts a block.
        para = []
        while i < len(lines) and lines[i].strip() != "":
            l = lines[i].rstrip()
            if para and (HEADING.match(l) or l.startswith("```") or l.startswith("|") or
                         LIST_ITEM.match(l)):
                break
            para.append(l.strip())
            i += 1
        blank()
        out += [line_start(inline(" ".join(para))), ""]
    if title is None:
        raise Refused("no title (a level 1 heading)")
    blank()
    out += ["# SEE ALSO", "", "*ocstop*(1), *ocstopd*(8), *ocstop.conf*(5)", "",
            "This page is made from proto/PROTOCOL.md of ocstop's sources, at build time.", ""]
    preamble = '%s(%d) "ocstop %s" "ocstop manual"' % (NAME, SECTION, version)
    return preamble + "\n\n" + "\n".join(out).rstrip("\n") + "\n"


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: md2scd.py PROTOCOL.md VERSION\n")
        return 2
    path, version = sys.argv[1], sys.argv[2]
    try:
        with open(path, encoding="utf-8") as f:
            sys.stdout.write(convert(f.read(), version))
    except Refused as e:
        sys.stderr.write("md2scd.py: %s: %s\n" % (path, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
