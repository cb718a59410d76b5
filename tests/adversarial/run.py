#!/usr/bin/env python3
"""Runs the adversarial corpus of cases.txt against the typeset binary.

    run.py TYPESET [CASE-FILTER]

Each case renders one input to PDF and EPUB in a fresh folder, with a time
limit, and checks the exit status (0 renders, 1 refused; never a signal,
never a sanitizer report), the message on stderr, that a refusal leaves no
output, and that a rendered PDF passes `qpdf --check` and a rendered EPUB's
XML files are well-formed.  Standard library only.
"""
import base64
import concurrent.futures
import html
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = os.path.join(HERE, "files")
DEFAULT_TIME = 60


# ---- Generated inputs ------------------------------------------------------

WORDS = ("typesetting requires patience because every paragraph must balance its "
         "lines against the measure while hyphenation dictionaries suggest "
         "breakpoints inside longer words such as international cooperation "
         "infrastructure responsibility and extraordinary circumstances").split()


def words(n, seed=1):
    out = []
    x = seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7fffffff
        out.append(WORDS[(x >> 8) % len(WORDS)])
    return out


def fm(title):
    return "---\ntitle: %s\n---\n\n" % title


def gen_long_paragraph():
    return fm("A 100,000-word paragraph") + " ".join(words(100000)) + " paragraphend.\n"


def gen_long_word():
    return fm("A 5,000-letter word") + "Before " + "abcdefghij" * 500 + " after.\n"


def gen_nested_quotes():
    return fm("2,000 nested block quotes") + "> " * 2000 + "deepest text of all.\n"


def gen_nested_lists():
    lines = ["  " * i + "- level %d" % i for i in range(300)]
    lines.append("  " * 300 + "- innermost item")
    return fm("300 nested lists") + "\n".join(lines) + "\n"


def gen_nested_emphasis():
    return fm("Deep emphasis") + "*" * 3000 + "emphasised" + "*" * 3000 + "\n\n" + \
        "".join("*a _b " for _ in range(2000)) + "text\n"


def gen_many_brackets():
    return fm("Brackets") + "[" * 20000 + "x" + "]" * 20000 + "\n\n" + "![" * 5000 + \
        "\n\n" + "[a](" * 5000 + "\n"


def gen_wide_table():
    n = 40
    head = "| " + " | ".join("c%d" % i for i in range(n)) + " |"
    sep = "|" + "|".join("---" for _ in range(n)) + "|"
    rows = ["| " + " | ".join("r%dx%d" % (r, i) for i in range(n)) + " |" for r in range(5)]
    return fm("A 40-column table") + "\n".join([head, sep] + rows) + "\n"


def gen_many_footnotes():
    refs = " ".join("word%d[^n%d]" % (i, i) for i in range(1, 1501))
    defs = "\n\n".join("[^n%d]: note%d text." % (i, i) for i in range(1, 1501))
    return fm("1,500 footnotes in one paragraph") + refs + "\n\n" + defs + "\n"


def gen_long_heading():
    body = ("heading " * 1300)[:9985]
    return fm("A heading of 10,000 characters") + "## " + body + " headingend\n\nText.\n"


def gen_control_chars():
    c0 = "".join(chr(c) for c in range(1, 32) if c not in (9, 10, 13))
    c1 = "".join(chr(c) for c in range(0x80, 0xA0))
    return fm("Control characters") + "Before" + c0 + "middle\x7f" + c1 + \
        "\ufffe\uffff\u2028\u2029\ufeff after.\n\n\x0cform \x0bvertical \x1bescape\n\n" \
        "Title in text \x08\x08\x08 backspaces.\n\ncontrolend\n"


def gen_bidi_overrides():
    return fm("Bidi overrides") + \
        "Left \u202eright-to-left override never closed \u202dleft override " \
        "\u202bembedding \u202aembedding \u2067isolate \u2066isolate \u2068first strong " \
        "\u200f\u200e marks \u061c and \u0645\u0631\u062d\u0628\u0627 \u202c\u2069 " \
        "\u202c\u202c\u2069\u2069 too many pops.\n\n" \
        "\u202e\u05e9\u05dc\u05d5\u05dd \u2067\u202d\u202e\u2066\u202b deeply " * 40 + "\n\n" \
        "bidiend\n"


def gen_invalid_utf8():
    return (fm("Invalid UTF-8").encode() + b"Bad \xff\xfe bytes, overlong \xc0\x80 and "
            b"\xe0\x80\x80, lone \x80 continuation, cut \xe2\x82 sequence, surrogate "
            b"\xed\xa0\x80 and beyond \xf4\x90\x80\x80.\n\nutf8end\n")


def gen_nul_bytes():
    return fm("NUL bytes").encode() + b"Text\x00with\x00NUL\x00bytes.\n\n\x00\n\nnulend\n"


def gen_same_headings():
    return fm("500 identical headings") + "".join("## Same heading\n\nText %d.\n\n" % i
                                                   for i in range(500))


def gen_footnote_tangle():
    return fm("Footnotes everywhere") + \
        "## A heading with a note[^h]\n\n" \
        "| Cell with a note[^c] | ![img](images/real.png) |\n|---|---|\n| x[^a] | y |\n\n" \
        "Text[^a] and again[^a] and a cycle[^b].\n\n" \
        "[^a]: Note a refers to b[^b].\n\n[^b]: Note b refers to a[^a].\n\n" \
        "[^h]: A note from a heading.\n\n[^c]: A note from a cell.\n\n" \
        "[^b]: A second definition of b.\n\ntangleend\n"


def gen_empty_constructs():
    return fm("Empty constructs") + "##\n\n#\n\n| |\n|-|\n| |\n\n[]()\n\n[](#nowhere)\n\n" \
        "- \n\n1. \n\n> \n\n***\n\n```\n```\n\n![](images/real.png)\n\n**\n\n<>\n\n" \
        "[^]\n\nemptyend\n"


def gen_astral():
    return fm("Emoji and astral characters") + \
        "Family \U0001F468\u200D\U0001F469\u200D\U0001F467 flag \U0001F1FA\U0001F1F3 " \
        "math \U0001D400\U0001D401 ancient \U00010330\U00010331 private \U000F0000\U0010FFFD " \
        "variation \u2764\uFE0F tags \U000E0041 rare CJK \U00020000\U0002A700.\n\nastralend\n"


def gen_zalgo():
    marks = "".join(chr(0x300 + (i % 0x70)) for i in range(1000))
    return fm("Stacked combining marks") + " ".join("a" + marks for _ in range(10)) + \
        "\n\nzalgoend\n"


def gen_long_table():
    rows = "".join("| row%d | some text in a cell | %d |\n" % (i, i * 7) for i in range(3000))
    return fm("A table of 3,000 rows") + "| A | B | C |\n|---|---|--:|\n" + rows


def gen_deep_yaml():
    return "---\ntitle: Deep\nx: " + "[" * 100000 + "]" * 100000 + "\n---\n\nText.\n"


def gen_deep_yaml_map():
    lines = ["---", "title: Deep map"]
    for i in range(3000):
        lines.append(" " * i + "k%d:" % i)
    lines.append(" " * 3000 + "v: 1")
    return "\n".join(lines) + "\n---\n\nText.\n"


def gen_many_authors():
    return "---\ntitle: Many authors\nauthor:\n" + "".join(
        "  - name: Author Number %d\n" % i for i in range(20000)) + "---\n\nText.\n"


def gen_many_meta_keys():
    # 5,000 keys typeset does not know: the first 1,000 are kept, the rest
    # ignored with one warning
    return "---\ntitle: Many keys\n" + "".join("key%d: value %d\n" % (i, i)
                                               for i in range(5000)) + "---\n\nkeysend\n"


def gen_yaml_too_many_events():
    # more YAML events than one metadata block may hold (100,000): refused
    return "---\ntitle: Events\nx: [" + "1," * 120000 + "1]\n---\n\nText.\n"


def gen_many_spans():
    # 20,000 bracketed spans of a language in one paragraph, and 10,000
    # unpaired openers before them
    return fm("Many spans") + "[" * 10000 + " ".join("[w%d]{lang=de}" % i for i in range(20000)) + \
        "\n\nspansend\n"


def gen_crlf_yaml():
    return ("---\r\ntitle: CRLF\r\nsubtitle: one: two\r\n---\r\n\r\nBody.\r\n").encode()


def gen_cr_only():
    return ("---\rtitle: Old Mac endings\r---\r\rFirst paragraph.\r\rcrend\r").encode()


def gen_bom_front_matter():
    return b"\xef\xbb\xbf" + "---\ntitle: Bom Title Here\n---\n\nbomend\n".encode()


def gen_many_links():
    return fm("Many links") + " ".join("[l%d](https://example.org/%d)" % (i, i)
                                        for i in range(20000)) + "\n\nlinksend\n"


def gen_long_url():
    return fm("A long URL") + "See <https://example.org/" + "a" * 60000 + "> and [x](https://e.org/" + \
        "%41" * 20000 + ").\n\nurlend\n"


SAMPLES = ["not-to-disappear-one-by-one.md", "grain-corridors.md", "arctic-shipping.md",
           "multilingual.md", "shared-rivers.md"]
INTERESTING = b"*_[]()!#|>`-:\n\t\\<&^~=+{}\"' \x00\xff\xe2\x80\xae"


def gen_mutant(k):
    """Sample k % len(SAMPLES) with a few seeded mutations (byte changes, deleted,
    repeated and swapped spans): typeset must render or refuse it cleanly."""
    import random
    rnd = random.Random(1000 + k)
    root = os.environ.get("TYPESET_DATA_DIR") or os.path.join(HERE, "..", "..")
    with open(os.path.join(root, "samples", SAMPLES[k % len(SAMPLES)]), "rb") as f:
        data = bytearray(f.read())
    for _ in range(rnd.randint(1, 12)):
        op = rnd.randrange(5)
        i = rnd.randrange(len(data))
        j = min(len(data), i + rnd.randint(1, 400))
        if op == 0:
            data[i] = rnd.choice(INTERESTING)
        elif op == 1:
            del data[i:j]
        elif op == 2:
            data[i:i] = data[i:j] * rnd.randint(2, 20)
        elif op == 3:
            data[i:i] = rnd.choice([b"[^x]", b"\n| a | b |\n|---|\n", b"\n---\n", b"> " * 50,
                                    b"![i](images/real.png)", b"\n    - \n", b"```\n", b"&#0;",
                                    b"\n[^x]: note\n", b"<!--", b"***"])
        else:
            k2 = rnd.randrange(len(data))
            a, b = sorted((i, k2))
            data[a:b] = data[a:b][::-1] if rnd.random() < 0.1 else data[a:b]
        if not data:
            data = bytearray(b"x")
    return bytes(data)


GENERATORS = {
    "same-headings": gen_same_headings,
    "footnote-tangle": gen_footnote_tangle,
    "empty-constructs": gen_empty_constructs,
    "astral": gen_astral,
    "zalgo": gen_zalgo,
    "long-table": gen_long_table,
    "deep-yaml": gen_deep_yaml,
    "deep-yaml-map": gen_deep_yaml_map,
    "many-authors": gen_many_authors,
    "many-meta-keys": gen_many_meta_keys,
    "many-spans": gen_many_spans,
    "yaml-too-many-events": gen_yaml_too_many_events,
    "crlf-yaml": gen_crlf_yaml,
    "cr-only": gen_cr_only,
    "bom-front-matter": gen_bom_front_matter,
    "many-links": gen_many_links,
    "long-url": gen_long_url,
    "long-paragraph": gen_long_paragraph,
    "long-word": gen_long_word,
    "nested-quotes": gen_nested_quotes,
    "nested-lists": gen_nested_lists,
    "nested-emphasis": gen_nested_emphasis,
    "many-brackets": gen_many_brackets,
    "wide-table": gen_wide_table,
    "many-footnotes": gen_many_footnotes,
    "long-heading": gen_long_heading,
    "control-chars": gen_control_chars,
    "bidi-overrides": gen_bidi_overrides,
    "invalid-utf8": gen_invalid_utf8,
    "nul-bytes": gen_nul_bytes,
}


# ---- Image assets ------------------------------------------------------------

def png_chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)


PNG_SIG = b"\x89PNG\r\n\x1a\n"


def png_bytes(w, h, rgb):
    raw = b"".join(b"\0" + bytes(rgb) * w for _ in range(h))
    return PNG_SIG + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def png_adam7_bytes(w, h, rgba):
    """An interlaced (Adam7) 8-bit RGBA PNG of one colour: each of the seven
    passes is its own run of filtered rows (PNG spec, section 8.2)."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
              (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        pw, ph = (w - x0 + dx - 1) // dx, (h - y0 + dy - 1) // dy
        if pw > 0 and ph > 0:
            raw += (b"\0" + bytes(rgba) * pw) * ph
    return PNG_SIG + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 1)) + \
        png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


_PALETTE_PNGS = {}


def png_palette_bytes(w, h):
    """An 8-bit palette PNG of one colour (w x h; made once a run: the
    decoding-limit cases are 25 megapixels)."""
    if (w, h) not in _PALETTE_PNGS:
        raw = (b"\0" * (w + 1)) * h
        _PALETTE_PNGS[(w, h)] = (
            PNG_SIG + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
            + png_chunk(b"PLTE", bytes((40, 90, 160))) + png_chunk(b"IDAT", zlib.compress(raw, 9))
            + png_chunk(b"IEND", b""))
    return _PALETTE_PNGS[(w, h)]


def gif_bytes(sw, sh, frames, palette, transparent=None):
    """A GIF89a of screen sw x sh: frames are (left, top, w, h, interlaced,
    pixel(x, y) -> index), the first with the transparent index.  The LZW
    data stays at 3-bit codes (2-bit minimum code size) by sending a clear
    code before every two pixels, so no dictionary is ever needed."""
    pal = b"".join(bytes(c) for c in palette) + b"\0" * (3 * (4 - len(palette)))
    out = b"GIF89a" + struct.pack("<HHBBB", sw, sh, 0x81, 0, 0) + pal
    for k, (left, top, w, h, interlaced, pixel) in enumerate(frames):
        t = transparent if k == 0 and transparent is not None else 0
        out += b"\x21\xf9\x04" + bytes([1 if k == 0 and transparent is not None else 0]) + \
            struct.pack("<H", 10) + bytes([t, 0])
        out += b"," + struct.pack("<HHHHB", left, top, w, h, 0x40 if interlaced else 0)
        rows = list(range(h))
        if interlaced:
            rows = [y for y0, dy in ((0, 8), (4, 8), (2, 4), (1, 2)) for y in range(y0, h, dy)]
        codes = []
        px = [pixel(x, y) for y in rows for x in range(w)]
        for i in range(0, len(px), 2):
            codes.append(4)                      # clear
            codes.extend(px[i:i + 2])
        codes.append(5)                          # end of information
        bits, nbits, data = 0, 0, bytearray()
        for c in codes:
            bits |= c << nbits
            nbits += 3
            while nbits >= 8:
                data.append(bits & 0xff)
                bits >>= 8
                nbits -= 8
        if nbits:
            data.append(bits & 0xff)
        out += b"\x02"
        for i in range(0, len(data), 255):
            out += bytes([len(data[i:i + 255])]) + bytes(data[i:i + 255])
        out += b"\0"
    return out + b";"


def jpeg_headers():
    """SOI, JFIF APP0, one quantisation table, an 8x8 greyscale baseline
    frame header, minimal Huffman tables and the scan header."""
    soi = b"\xff\xd8"
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes([1] * 64)
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 8, 8, 1) + b"\x01\x11\x00"
    dht_dc = b"\xff\xc4" + struct.pack(">H", 20) + b"\x00" + bytes([1] + [0] * 15) + b"\x00"
    dht_ac = b"\xff\xc4" + struct.pack(">H", 20) + b"\x10" + bytes([1] + [0] * 15) + b"\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    return soi, app0, dqt, sof, dht_dc, dht_ac, sos


def make_assets(case_dir):
    doc = os.path.join(case_dir, "doc")
    img = os.path.join(doc, "images")
    outside = os.path.join(case_dir, "outside")
    os.makedirs(img)
    os.makedirs(outside)
    os.makedirs(os.path.join(case_dir, "out"))
    real = png_bytes(8, 8, (200, 30, 30))
    for p in (os.path.join(img, "real.png"), os.path.join(outside, "real.png")):
        with open(p, "wb") as f:
            f.write(real)
    with open(os.path.join(img, "interlaced.png"), "wb") as f:
        f.write(png_adam7_bytes(13, 11, (30, 90, 200, 160)))
    # an animated, interlaced GIF with a transparent colour, its first
    # image placed inside the screen; and the same cut inside its data
    gif = gif_bytes(16, 12, [(2, 1, 11, 9, True, lambda x, y: (x + 2 * y) % 4),
                             (0, 0, 16, 12, False, lambda x, y: 1)],
                    [(200, 30, 30), (30, 140, 30), (30, 60, 200), (255, 255, 255)],
                    transparent=3)
    with open(os.path.join(img, "anim.gif"), "wb") as f:
        f.write(gif)
    with open(os.path.join(img, "trunc.gif"), "wb") as f:
        f.write(gif[:60])
    with open(os.path.join(img, "fake.png"), "wb") as f:
        f.write(b"This is a text file that only claims to be a PNG.\n" * 20)
    soi, app0, dqt, sof, dht_dc, dht_ac, sos = jpeg_headers()
    with open(os.path.join(img, "trunc.jpg"), "wb") as f:
        f.write(soi + app0 + dqt + sof[:6])           # cut inside the frame header
    with open(os.path.join(img, "trunc-scan.jpg"), "wb") as f:
        f.write(soi + app0 + dqt + sof + dht_dc + dht_ac + sos + b"\x00\x12")  # no EOI
    with open(os.path.join(img, "trunc.png"), "wb") as f:
        f.write(PNG_SIG + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)))
    with open(os.path.join(img, "bomb.png"), "wb") as f:
        f.write(PNG_SIG + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
                + png_chunk(b"IDAT", zlib.compress(b"\0" * 65536)) + png_chunk(b"IEND", b""))
    # found by fuzz_image (fuzz/regressions/image): a GIF whose logical screen
    # is 5,190 x 18,544 (under the 100-megapixel limit, over the PDF's
    # decoding limit) and a PNG whose second chunk declares 1.7 GB of text
    with open(os.path.join(img, "screen-bomb.gif"), "wb") as f:
        f.write(base64.b64decode(
            "R0lGODlhRhRwSFlzACwAAAAAFAAUAIAAgAAAAAACEYSPqcvtD6OctNqLs968+68VACH5BAAKAABwSFlz"
            "SmVuACwpAAAR+68VADs="))
    with open(os.path.join(img, "chunk-bomb.png"), "wb") as f:
        f.write(base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAAHnlligAAAABGdBTUEAALGPC/xhb2RpZnl0RVh0ADItMDPC"))
    # 40 x 1,600 pixels: set at the measure's width, 40 pages tall; scaled to fit a page
    with open(os.path.join(img, "tall.png"), "wb") as f:
        f.write(png_bytes(40, 1600, (30, 90, 160)))
    # the PDF decodes a palette PNG to embed it: 25,000,000 pixels at most
    # (pdf.c PDF_DECODE_MAX_PIXELS); one pixel row more is refused
    for name, w, h in (("palette-at-limit.png", 5000, 5000), ("palette-over-limit.png", 5000, 5001)):
        with open(os.path.join(img, name), "wb") as f:
            f.write(png_palette_bytes(w, h))
    os.symlink(os.path.join("..", "..", "outside", "real.png"), os.path.join(img, "link.png"))
    root = os.environ.get("TYPESET_DATA_DIR") or os.path.join(HERE, "..", "..")
    sample_images = os.path.join(root, "samples", "images")
    if os.path.isdir(sample_images):  # for the mutants of the samples
        for name in os.listdir(sample_images):
            if name.endswith(".png"):
                shutil.copy(os.path.join(sample_images, name), img)
    for name in os.listdir(FILES):
        if name.endswith(".yaml"):
            shutil.copy(os.path.join(FILES, name), doc)
    return doc, outside


# ---- Cases -------------------------------------------------------------------

class Case:
    def __init__(self, lineno, file, expect, opts):
        self.lineno = lineno
        self.file = file
        self.expect = expect
        self.msg = None
        self.style = None
        self.absent = []
        self.present = []
        self.time = DEFAULT_TIME
        self.nonet = False
        for o in opts:
            k, _, v = o.partition("=")
            if k == "nonet" and not v:
                self.nonet = True
            elif k == "msg":
                self.msg = v
            elif k == "style":
                self.style = v
            elif k == "absent":
                self.absent.append(v.replace("\\s", " "))
            elif k == "present":
                self.present.append(v.replace("\\s", " "))
            elif k == "time":
                self.time = float(v)
            else:
                raise ValueError("cases.txt:%d: unknown key %r" % (lineno, k))
        if expect not in ("renders", "refused", "either"):
            raise ValueError("cases.txt:%d: EXPECT must be renders, refused or either" % lineno)
        if file.startswith("gen:mutant-") and expect == "refused":
            raise ValueError("cases.txt:%d: mutants are `either`" % lineno)
        if expect == "refused" and not self.msg:
            raise ValueError("cases.txt:%d: a refused case needs msg=" % lineno)

    @property
    def name(self):
        n = self.file[4:] if self.file.startswith("gen:") else self.file
        return n + ("+" + self.style if self.style else "")


def load_cases():
    cases = []
    with open(os.path.join(HERE, "cases.txt"), encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            line = line.split("#", 1)[0] if line.lstrip().startswith("#") else line
            f_ = line.split()
            if not f_:
                continue
            if f_[0] == "gen:mutants":
                # gen:mutants either count=N: N seeded mutants of the samples
                opts = [o for o in f_[2:] if not o.startswith("count=")]
                count = int(next((o[6:] for o in f_[2:] if o.startswith("count=")), "16"))
                cases.extend(Case(i, "gen:mutant-%d" % k, f_[1], opts) for k in range(count))
                continue
            cases.append(Case(i, f_[0], f_[1], f_[2:]))
    return cases


def norm_text(s):
    s = re.sub(r"[-\u2010\u00ad]\n", "", s)
    return re.sub(r"\s+", " ", s).casefold()


def epub_entries(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        return names, {n: z.read(n) for n in names}


def check_epub(path, problems):
    try:
        names, data = epub_entries(path)
    except zipfile.BadZipFile as ex:
        problems.append("the EPUB is not a ZIP file: %s" % ex)
        return "", {}
    if not names or names[0] != "mimetype" or data["mimetype"] != b"application/epub+zip":
        problems.append("the EPUB does not start with its mimetype entry")
    text = []
    for n in names:
        if re.search(r"\.(xhtml|html|opf|ncx|xml|svg)$", n):
            try:
                ET.fromstring(data[n])
            except ET.ParseError as ex:
                problems.append("EPUB entry %s is not well-formed XML: %s" % (n, ex))
            if n.endswith((".xhtml", ".html")):
                x = data[n].decode("utf-8", "replace")
                ids = re.findall(r'\sid="([^"]*)"', x)
                dup = sorted(set(i for i in ids if ids.count(i) > 1)) if len(ids) < 20000 else \
                    sorted(i for i, c in __import__("collections").Counter(ids).items() if c > 1)
                if dup:
                    problems.append("EPUB entry %s repeats the ids %s" % (n, dup[:5]))
                x = re.sub(r"(?s)<head\b.*?</head>", " ", x)
                x = re.sub(r"<[^>]+>", " ", x)
                text.append(html.unescape(x))
    return "\n".join(text), data


def network_calls(trace):
    """Problems for the Internet sockets a strace log (trace=socket,connect)
    shows: typeset never opens one (a local socket, glibc's nscd, is not the
    network)."""
    try:
        with open(trace, encoding="utf-8", errors="replace") as f:
            log = f.read()
    except OSError as e:
        return ["nonet: no strace log (%s)" % e]
    if not re.search(r"\bexecve\(", log):
        return ["nonet: the trace shows no execve: typeset was not traced"]
    net = [l for l in log.splitlines()
           if re.search(r"\bsocket\(AF_INET6?\b|\bconnect\(.*sa_family=AF_INET6?\b", l)]
    return ["nonet: opened a network socket:\n" + "\n".join(net[:10])] if net else []


LOCATED = re.compile(r"(^|\n)[^\n]+:\d+:\d+: error: [^\n]")


def run_case(typeset, case, work):
    problems = []
    cdir = tempfile.mkdtemp(prefix="case-", dir=work)
    doc, outside = make_assets(cdir)
    if case.file.startswith("gen:mutant-"):
        content = gen_mutant(int(case.file[11:]))
        name = case.file[4:] + ".md"
    elif case.file.startswith("gen:"):
        content = GENERATORS[case.file[4:]]()
        name = case.file[4:] + ".md"
    else:
        with open(os.path.join(FILES, case.file), encoding="utf-8") as f:
            content = f.read().replace("@OUTSIDE@", outside)
        name = case.file
    src = os.path.join(doc, name)
    with open(src, "wb") as f:
        f.write(content.encode("utf-8") if isinstance(content, str) else content)
    out = os.path.join(cdir, "out")
    stem = os.path.splitext(name)[0]
    pdf = os.path.join(out, stem + ".pdf")
    epub = os.path.join(out, stem + ".epub")
    style = ["--style", os.path.join(doc, case.style)] if case.style else []
    args = [typeset, src, "-o", pdf, "-o", epub] + style
    env = dict(os.environ, SOURCE_DATE_EPOCH="1540000000")
    if case.nonet:
        # a run of its own under strace, every socket and connect call of the
        # process and its threads traced (LeakSanitizer cannot run under
        # ptrace: it is off there; the checked run below keeps it)
        strace = shutil.which("strace")
        if not strace:
            return ["nonet: strace is not installed (scripts/setup.sh installs it)"], 0.0, cdir, "?"
        trace = os.path.join(cdir, "net.trace")
        net_out = os.path.join(cdir, "net-out")
        os.makedirs(net_out)
        net_args = [strace, "-f", "-qq", "-e", "trace=execve,socket,connect", "-o", trace, typeset, src,
                    "-o", os.path.join(net_out, stem + ".pdf"), "-o",
                    os.path.join(net_out, stem + ".epub")] + style
        asan = os.environ.get("ASAN_OPTIONS", "")
        net_env = dict(env, ASAN_OPTIONS=(asan + ":" if asan else "") + "detect_leaks=0")
        try:
            q = subprocess.run(net_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=net_env, timeout=case.time * 3)
        except subprocess.TimeoutExpired:
            return ["nonet: the traced run did not finish within %g s" % (case.time * 3)], 0.0, \
                cdir, "hung"
        # the trace is worth something only if strace ran typeset (ptrace can
        # be refused: strace then says so and the log stays empty)
        qerr = q.stderr.decode("utf-8", "replace")
        want = {"renders": (0,), "refused": (1,)}.get(case.expect, (0, 1))
        if q.returncode not in want or re.search(r"(^|\n)strace: ", qerr):
            problems.append("nonet: the traced run exited %d:\n%s" % (q.returncode, qerr[-1500:]))
        problems += network_calls(trace)
    t0 = time.monotonic()
    try:
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           timeout=case.time)
    except subprocess.TimeoutExpired:
        return ["did not finish within %g s" % case.time], time.monotonic() - t0, cdir, "hung"
    dt = time.monotonic() - t0
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode < 0:
        problems.append("killed by signal %d" % -p.returncode)
    if re.search(r"Sanitizer|runtime error:", err):
        problems.append("sanitizer report:\n" + err[-3000:])
    if p.returncode not in (0, 1) and p.returncode >= 0:
        problems.append("exit status %d (want 0 or 1)" % p.returncode)
    rendered = p.returncode == 0
    if case.expect == "renders" and not rendered:
        problems.append("refused, want renders:\n" + err[-1500:])
    if case.expect == "refused" and rendered:
        problems.append("rendered, want refused")
    if case.msg and not rendered:
        pat = case.msg.replace("@FILE@", re.escape(src))
        if not re.search(pat, err):
            problems.append("stderr does not match %s:\n%s" % (pat, err[-1500:]))
    if not rendered and p.returncode == 1 and not LOCATED.search(err):
        # every refusal, `either` cases' too: FILE:LINE:COL: error: … at
        # the input, its style or an image it names
        problems.append("refused without a FILE:LINE:COL: error: line:\n" + err[-1500:])
    left = sorted(os.listdir(out))
    if not rendered:
        if left:
            problems.append("a refused render left files: %s" % left)
        return problems, dt, cdir, "refused"
    if sorted(left) != sorted([os.path.basename(pdf), os.path.basename(epub)]):
        problems.append("the output folder holds %s" % left)
    if re.search(r"(^|\n)[^\n]*: error:", err):
        problems.append("rendered but printed an error:\n" + err[-1500:])
    q = subprocess.run(["qpdf", "--check", pdf], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    if q.returncode != 0:
        problems.append("qpdf --check exit %d:\n%s" % (q.returncode,
                                                      (q.stdout + q.stderr).decode()[-1500:]))
    t = subprocess.run(["pdftotext", "-enc", "UTF-8", pdf, "-"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    pdf_text = norm_text(t.stdout.decode("utf-8", "replace"))
    with open(pdf, "rb") as f:
        pdf_bytes = f.read()
    epub_text, entries = check_epub(epub, problems)
    epub_text = norm_text(epub_text)
    for a in case.absent:
        al = a.casefold()
        if al in pdf_text:
            problems.append("%r appears in the PDF's text" % a)
        if a.encode() in pdf_bytes:
            problems.append("%r appears in the PDF file" % a)
        for n, d in entries.items():
            if a.encode() in d or a.encode().lower() in d.lower():
                problems.append("%r appears in EPUB entry %s" % (a, n))
        if al in epub_text:
            problems.append("%r appears in the EPUB's text" % a)
    for w in case.present:
        if w.casefold() not in pdf_text:
            problems.append("%r is missing from the PDF's text" % w)
        if w.casefold() not in epub_text:
            problems.append("%r is missing from the EPUB's text" % w)
    return problems, dt, cdir, "rendered"


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    typeset = os.path.abspath(sys.argv[1])
    if not os.access(typeset, os.X_OK):
        print("FAIL: %s is not an executable" % typeset)
        return 1
    only = sys.argv[2] if len(sys.argv) > 2 else None
    cases = [c for c in load_cases() if not only or only in c.name]
    work = tempfile.mkdtemp(prefix="typeset-adversarial-")
    failed = 0
    jobs = max(1, min(4, os.cpu_count() or 1))
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
            futs = [(c, ex.submit(run_case, typeset, c, work)) for c in cases]
            for c, fu in futs:
                try:
                    problems, dt, cdir, outcome = fu.result()
                except Exception as e:  # a bug in this script: report, go on
                    problems, dt, cdir, outcome = ["run.py raised %r" % e], 0.0, None, "?"
                if problems:
                    failed += 1
                    print("FAIL %-40s (cases.txt:%d, %s, %.2f s)" % (c.name, c.lineno, c.expect, dt))
                    for pr in problems:
                        print("     " + pr.replace("\n", "\n     "))
                else:
                    print("ok   %-40s %-8s %-8s %.2f s" % (c.name, c.expect, outcome, dt))
                sys.stdout.flush()
                if cdir:
                    shutil.rmtree(cdir, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d of %d cases failed" % (failed, len(cases)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
