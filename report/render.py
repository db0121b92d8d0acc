"""Render the block list of compose.py as Markdown, self-contained HTML (no JavaScript, figures as
base64 PNG) and PDF (matplotlib PdfPages: text pages, then each figure on its own page)."""

import base64
import csv
import html
import os
import re
import textwrap

import matplotlib.pyplot as plt

_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _table_parts(b):
    """(header, rows, note, meta) of a table block; meta is {} for an unnumbered table."""
    return b[1], b[2], b[3], (b[4] if len(b) > 4 else {})


def _table_title(meta):
    return f"Table {meta['num']}" if "num" in meta else None


def write_csvs(blocks, outdir):
    """Each numbered table's CSV next to report.md: the records it came from where the table
    names them (meta "csv"), else the table's own cells. Earlier reports' table CSVs are removed."""
    for name in os.listdir(outdir):
        if name.startswith("table-") and name.endswith(".csv"):
            os.remove(os.path.join(outdir, name))
    for b in blocks:
        if b[0] != "table":
            continue
        header, rows, _, meta = _table_parts(b)
        if "csv_name" not in meta:
            continue
        header, rows = meta.get("csv", (header, rows))
        with open(os.path.join(outdir, meta["csv_name"]), "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(["" if v is None else v for v in row] for row in rows)


# ---- Markdown -----------------------------------------------------------------------------

def _md_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(blocks):
    out = []
    for b in blocks:
        kind = b[0]
        if kind == "h":
            out += ["#" * b[1] + " " + b[2], ""]
        elif kind == "p":
            out += [b[1], ""]
        elif kind == "ul":
            out += ["- " + item for item in b[1]] + [""]
        elif kind == "table":
            header, rows, note, meta = _table_parts(b)
            if _table_title(meta):
                what = "the records it came from" if "csv" in meta else "its cells"
                out += [f"**{_table_title(meta)}** ([CSV]({meta['csv_name']}): {what})", ""]
            out.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
            out.append("|" + "|".join("---" for _ in header) + "|")
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            out.append("")
            if note:
                out += [f"*{note}*", ""]
        elif kind == "fig":
            _, num, f = b
            out.append(f"![Figure {num}: {f.name}](figures/{f.name}.png)")
            out.append("")
            out.append(f"**Figure {num}** (`{f.name}`; [PNG](figures/{f.name}.png), [SVG](figures/{f.name}.svg)): "
                       f"{f.caption}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# ---- HTML ---------------------------------------------------------------------------------

_CSS = """
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; background: #fff;
       max-width: 1180px; margin: 1.5em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #4c72b0; padding-bottom: .2em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #ccc; margin-top: 2em; }
h3 { font-size: 1.1em; margin-top: 1.5em; } h4 { font-size: 1em; margin-bottom: .3em; }
code { background: #f1f3f5; padding: 0 .25em; border-radius: 3px; font-size: .92em; }
.table { overflow-x: auto; margin: .4em 0 .2em 0; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #c9ced4; padding: 3px 5px; text-align: right; white-space: nowrap; vertical-align: top; }
th { white-space: normal; vertical-align: bottom; }
td small { color: #555; }
th { background: #eef1f5; }
td.text, th.text { text-align: left; white-space: normal; }
p.caption { margin: .8em 0 .1em 0; font-size: .9em; }
nav#contents { border: 1px solid #ddd; padding: .2em 1em; font-size: .92em; }
nav#contents ul { margin: .2em 0; } nav#contents h2 { border: none; margin-top: .4em; }
p.note { font-size: .85em; color: #555; margin-top: .2em; }
figure { margin: 1.2em 0; } figure img { width: 100%; height: auto; border: 1px solid #e3e3e3; }
figcaption { font-size: .9em; color: #333; }
"""


def _inline(text, links=frozenset()):
    """Escape, then `code` and **bold**; a code span naming a figure links to it."""
    def code(m):
        inner = m.group(1)
        if inner in links:
            return f'<a href="#fig-{inner}"><code>{inner}</code></a>'
        return f"<code>{inner}</code>"
    t = html.escape(text, quote=False)
    t = _CODE.sub(code, t)
    return _BOLD.sub(lambda m: f"<strong>{m.group(1)}</strong>", t)


def _is_numeric(cell):
    return bool(re.match(r"^[-+\[]?[0-9.]", cell)) or cell.startswith("n/a") or cell in ("-", "base")


_QUALIFIED = re.compile(r"^(\S+) (\[[^\]]*\]|\([^)]*\))(.*)$")


def _cell_html(cell):
    # A number with its interval or p-value ("1.84 [1.74, 1.98] +") gets the qualifier on a second
    # line, which keeps the wide per-form tables within a normal page width.
    m = _QUALIFIED.match(cell)
    if m:
        return f"{_inline(m.group(1) + m.group(3))}<br><small>{_inline(m.group(2))}</small>"
    return _inline(cell)


def _anchors(blocks):
    """A unique anchor per heading, in order: each group repeats the per-form headings."""
    ids, out = set(), []
    for b in blocks:
        if b[0] != "h":
            continue
        base = hid = _slug(b[2]) or "section"
        k = 1
        while hid in ids:
            k += 1
            hid = f"{base}-{k}"
        ids.add(hid)
        out.append(hid)
    return out


def _toc(blocks):
    """The table of contents: sections (level 2) and their subsections (level 3)."""
    heads = [b for b in blocks if b[0] == "h"]
    items, open_sub = [], False
    for b, hid in zip(heads, _anchors(blocks)):
        if b[1] == 2:
            if open_sub:
                items.append("</ul></li>")
                open_sub = False
            elif items:
                items.append("</li>")
            items.append(f'<li><a href="#{hid}">{_inline(b[2])}</a>')
        elif b[1] == 3 and items:
            if not open_sub:
                items.append("<ul>")
                open_sub = True
            items.append(f'<li><a href="#{hid}">{_inline(b[2])}</a></li>')
    if items:
        items.append("</ul></li>" if open_sub else "</li>")
    return ['<nav id="contents"><h2>Contents</h2><ul>' + "".join(items) + "</ul></nav>"]


def html_page(blocks, figdir, title):
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{html.escape(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>"]
    figs = frozenset(b[2].name for b in blocks if b[0] == "fig")
    anchors = iter(_anchors(blocks))
    toc_at = None
    for b in blocks:
        kind = b[0]
        if kind == "h":
            if b[1] == 2 and toc_at is None:
                toc_at = len(parts)
            hid = next(anchors)
            parts.append(f'<h{b[1]} id="{hid}">{_inline(b[2])}</h{b[1]}>')
        elif kind == "p":
            parts.append(f"<p>{_inline(b[1], figs)}</p>")
        elif kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{_inline(i, figs)}</li>" for i in b[1]) + "</ul>")
        elif kind == "table":
            header, rows, note, meta = _table_parts(b)
            # Columns holding text (not numbers) are left-aligned and may wrap.
            text_cols = [j for j in range(len(header))
                         if any(not _is_numeric(str(r[j])) for r in rows if j < len(r))]
            def cls(j):
                return ' class="text"' if j in text_cols else ""
            t = []
            if _table_title(meta):
                what = "the records it came from" if "csv" in meta else "its cells"
                t.append(f'<p class="caption" id="table-{meta["num"]}"><strong>{_table_title(meta)}</strong> '
                         f'(<a href="{meta["csv_name"]}">CSV</a>: {what})</p>')
            t += ['<div class="table"><table>', "<thead><tr>" +
                 "".join(f"<th{cls(j)}>{_inline(h)}</th>" for j, h in enumerate(header)) + "</tr></thead><tbody>"]
            t += ["<tr>" + "".join(f"<td{cls(j)}>{_cell_html(str(c))}</td>" for j, c in enumerate(r)) + "</tr>"
                  for r in rows]
            t.append("</tbody></table></div>")
            if note:
                t.append(f'<p class="note">{_inline(note)}</p>')
            parts.append("".join(t))
        elif kind == "fig":
            _, num, f = b
            with open(os.path.join(figdir, f.name + ".png"), "rb") as fh:
                data = base64.b64encode(fh.read()).decode("ascii")
            svg = f"figures/{html.escape(f.name)}.svg"
            parts.append(f'<figure id="fig-{html.escape(f.name)}"><a href="{svg}">'
                         f'<img src="data:image/png;base64,{data}" '
                         f'width="{f.size_px[0]}" height="{f.size_px[1]}" alt="Figure {num}: {html.escape(f.name)}">'
                         f"</a><figcaption><strong>Figure {num}</strong> (<code>{html.escape(f.name)}</code>, "
                         f'<a href="{svg}">SVG</a>): '
                         f"{_inline(f.caption)}</figcaption></figure>")
    if toc_at is not None:
        parts[toc_at:toc_at] = _toc(blocks)
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


# ---- PDF ----------------------------------------------------------------------------------

PAGE = (11.69, 8.27)      # A4 landscape, inches: the wide tables fit across
MARGIN = 0.55


def _plain(text):
    # Text for matplotlib: drop the inline markup, and escape $ so it is not read as mathtext.
    text = _BOLD.sub(r"\1", _CODE.sub(r"\1", text))
    return text.replace("$", r"\$")


class _PdfText:
    """Lays out lines of text top to bottom over landscape pages."""

    def __init__(self, pdf, place_figure=None):
        self.pdf, self.fig, self.y, self.page = pdf, None, 0.0, 0
        # Figures float: each goes on its own page after the text page it is cited on is full,
        # so no text page is cut short (near blank) because a figure follows.
        self.pending, self.place_figure = [], place_figure

    def _new_page(self):
        self.flush()
        self.page += 1
        self.fig = plt.figure(figsize=PAGE)
        self.fig.text(0.5, 0.25 / PAGE[1], f"{self.page}", ha="center", fontsize=7, color="0.5")
        self.y = PAGE[1] - MARGIN

    def flush(self):
        if self.fig is not None:
            self.pdf.savefig(self.fig)
            plt.close(self.fig)
            self.fig = None
        for item in self.pending:
            self.page += 1
            self.place_figure(*item)
        self.pending = []

    def space(self, inches):
        self.y -= inches

    def line(self, text, size=9.0, weight="normal", family="sans-serif", indent=0.0, color="black"):
        h = size * 1.32 / 72
        if self.fig is None or self.y - h < MARGIN:
            self._new_page()
        self.fig.text((MARGIN + indent) / PAGE[0], self.y / PAGE[1], text, fontsize=size, weight=weight,
                      family=family, va="top", ha="left", color=color)
        self.y -= h

    def para(self, text, size=9.0, weight="normal", indent=0.0, bullet=None, color="black", keep_with=0.0):
        """Wrapped paragraph. `keep_with` inches of following content must fit on the same page
        (headings keep with the first lines of their section)."""
        width_pt = (PAGE[0] - 2 * MARGIN - indent) * 72
        # Average glyph width of DejaVu Sans is about 0.55 em, bold about 0.62 em.
        chars = max(20, int(width_pt / (size * (0.62 if weight == "bold" else 0.55))))
        lines = textwrap.wrap(_plain(text), chars) or [""]
        if keep_with and self.fig is not None and self.y - len(lines) * size * 1.32 / 72 - keep_with < MARGIN:
            self._new_page()
        for i, ln in enumerate(lines):
            prefix = (bullet + " ") if bullet and i == 0 else ("  " if bullet else "")
            self.line(prefix + ln, size=size, weight=weight, indent=indent, color=color)

    def table(self, header, rows, note):
        cells = [[_plain(str(c)) for c in header]] + [[_plain(str(c)) for c in r] for r in rows]
        # Long prose columns wrap at 70 characters instead of forcing a tiny font on the whole table.
        widths = [min(70, max(len(r[j]) for r in cells if j < len(r))) for j in range(len(header))]
        # Long text columns wrap rather than running off the page.
        width_pt = (PAGE[0] - 2 * MARGIN) * 72
        # Shrink the font to fit the widest table (monospace glyphs are 0.6 em wide), down to a
        # still-legible size; beyond that, wrap the widest columns.
        size = max(4.8, min(6.5, width_pt / (0.6 * (sum(widths) + 2 * len(widths)))))
        budget = int(width_pt / (size * 0.6))
        while sum(widths) + 2 * len(widths) > budget:
            j = max(range(len(widths)), key=lambda k: widths[k])
            if widths[j] <= 12:
                break
            widths[j] -= 1
        for i, r in enumerate(cells):
            wrapped = [textwrap.wrap(c, widths[j]) or [""] for j, c in enumerate(r)]
            for k in range(max(len(w) for w in wrapped)):
                text = "  ".join((w[k] if k < len(w) else "").ljust(widths[j]) for j, w in enumerate(wrapped))
                self.line(text.rstrip(), size=size, family="monospace", weight="bold" if i == 0 else "normal")
            if i == 0:
                self.line("-" * min(budget, sum(widths) + 2 * (len(widths) - 1)), size=size, family="monospace")
        if note:
            self.space(0.03)
            self.para(note, size=7, color="0.3")
        self.space(0.08)


def pdf(blocks, path, figures_by_name):
    from matplotlib.backends.backend_pdf import PdfPages
    # No creation date: the same data gives the same file.
    with PdfPages(path, metadata={"Title": "hpc-batch report", "CreationDate": None, "ModDate": None}) as pdfp:
        def place(num, f):
            fig = figures_by_name[f.name].fig
            chars = int(fig.get_size_inches()[0] * 72 / (8.5 * 0.52))
            fig.text(0.01, -0.01, textwrap.fill(_plain(f"Figure {num} ({f.name}): {f.caption}"), chars),
                     ha="left", va="top", fontsize=8.5)
            pdfp.savefig(fig, bbox_inches="tight", pad_inches=0.3)

        tp = _PdfText(pdfp, place)
        sizes = {1: 15, 2: 12.5, 3: 11, 4: 10}
        for b in blocks:
            kind = b[0]
            if kind == "h":
                tp.space(0.12 if b[1] <= 2 else 0.06)
                # A top-level section needs room to start; any heading keeps with a few lines.
                tp.para(b[2], size=sizes.get(b[1], 10), weight="bold", keep_with=1.5 if b[1] <= 2 else 0.6)
                tp.space(0.04)
            elif kind == "p":
                whole_bold = b[1].startswith("**") and b[1].endswith("**")
                tp.para(b[1], weight="bold" if whole_bold else "normal")
                tp.space(0.06)
            elif kind == "ul":
                for item in b[1]:
                    tp.para(item, indent=0.15, bullet="-")
                tp.space(0.06)
            elif kind == "table":
                header, rows, note, meta = _table_parts(b)
                if _table_title(meta):
                    tp.para(f"{_table_title(meta)} ({meta['csv_name']})", size=8, weight="bold", keep_with=0.5)
                tp.table(header, rows, note)
            elif kind == "fig":
                _, num, f = b
                if tp.fig is None:
                    tp.page += 1
                    place(num, f)
                else:
                    tp.line(f"Figure {num} ({f.name}) follows this page.", size=8, color="0.35")
                    tp.pending.append((num, f))
        tp.flush()
