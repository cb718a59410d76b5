#!/usr/bin/env python3
"""End-to-end checks of the typeset binary with the real tools.

    integration.py TYPESET SOURCE_ROOT sample NAME.md   one sample: PDF + EPUB
    integration.py TYPESET SOURCE_ROOT series           the series command
    integration.py TYPESET SOURCE_ROOT options          --style, reproducibility

For a sample: render to PDF and EPUB with SOURCE_DATE_EPOCH set, then
  - qpdf --check passes;
  - pdffonts lists every font as embedded, subset and with a ToUnicode map;
  - pdfinfo shows the title and authors of the metadata, Pages >= 1;
  - pdftotext gives back every word of the Markdown body in order (the main
    flow as one ordered sequence; footnotes, table cells and figure captions
    each as an ordered sequence of their own, since they move on the page;
    right-to-left words by membership, see /work/shared/notes/pdf-glyphs.md);
  - epubcheck reports no error and no warning;
  - Ace by DAISY (tests/ace, run with Debian's Chromium) finds no accessibility
    violation;
  - the EPUB's XHTML (spine order) holds every word of the body in order;
  - a second render gives byte-identical PDF and EPUB.
Only the Python standard library is used.
"""
import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unicodedata
import zipfile
import zlib

EPOCH = "1540000000"
TIMEOUT = 180

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def ok(msg):
    print("ok: " + msg, flush=True)


def run(args, timeout=TIMEOUT, env=None, cwd=None):
    e = dict(os.environ)
    e["SOURCE_DATE_EPOCH"] = EPOCH
    e["LC_ALL"] = "C.UTF-8"
    e["TZ"] = "UTC"
    for k, v in (env or {}).items():  # None: the variable unset
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    try:
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env=e, cwd=cwd)
    except subprocess.TimeoutExpired:
        return None
    return p


def describe(p):
    if p is None:
        return "timed out"
    if p.returncode < 0:
        return "killed by signal %d" % -p.returncode
    return "exit %d" % p.returncode


# ---------------------------------------------------------------------------
# Words: normalisation and tokenising shared by the source, PDF and XHTML.

HYPHENS = "-\u2010\u00ad"
JOINERS = "\u200c\u200d\u2060"
CJK_RANGES = ((0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F),
              (0x20000, 0x3FFFF))


def is_cjk(ch):
    o = ord(ch)
    return any(a <= o <= b for a, b in CJK_RANGES)


def is_word_char(ch):
    return unicodedata.category(ch)[0] in "LMN"


def normalise(text):
    """NFKC (ligatures, presentation forms), case-folded, without format
    characters (soft hyphen, zero-width and bidi controls)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    # joiners vanish inside a word; other format characters (bidi embeddings
    # and marks that pdftotext puts around right-to-left runs, zero-width
    # space, BOM) separate words
    return "".join("" if ch in JOINERS else
                   " " if unicodedata.category(ch) == "Cf" and ch != "\u00ad" else ch
                   for ch in text)


def tokens_of_line(line):
    """Words of one line: runs of letters, marks and digits; a hyphen between
    two word characters joins them ("large-scale" -> "largescale"); CJK
    characters are words of their own.  Returns (words, ends_with_hyphen)."""
    words = []
    cur = []
    n = len(line)
    i = 0
    while i < n:
        ch = line[i]
        if ch == "\u00ad":
            # soft hyphen: invisible inside a word
            i += 1
            continue
        if is_word_char(ch) and not is_cjk(ch):
            cur.append(ch)
        elif ch in HYPHENS and cur and i + 1 < n and is_word_char(line[i + 1]) \
                and not is_cjk(line[i + 1]):
            pass  # intra-word hyphen: join
        else:
            if cur:
                words.append("".join(cur))
                cur = []
            if is_cjk(ch) and is_word_char(ch):
                words.append(ch)
        i += 1
    if cur:
        words.append("".join(cur))
    stripped = line.rstrip()
    hy = bool(stripped) and stripped[-1] in HYPHENS and len(stripped) > 1 \
        and is_word_char(stripped[-2]) and not is_cjk(stripped[-2])
    return words, hy


class Tok:
    __slots__ = ("text", "hyph", "line")

    def __init__(self, text, hyph, line):
        self.text = text
        self.hyph = hyph
        self.line = line


def tokenise_rendered(text):
    """Tokens of extracted text; the last token of a line ending in a hyphen
    is marked so it can join the first word of a later line."""
    out = []
    for ln, line in enumerate(normalise(text).replace("\f", "\n").split("\n")):
        words, hy = tokens_of_line(line)
        for k, w in enumerate(words):
            out.append(Tok(w, hy and k == len(words) - 1, ln + 1))
    return out


def words_of(text):
    out = []
    for line in normalise(text).split("\n"):
        out.extend(tokens_of_line(line)[0])
    return out


def is_rtl(word):
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in word)


def strip_marks(word):
    return "".join(ch for ch in word if unicodedata.category(ch)[0] != "M")


# ---------------------------------------------------------------------------
# Markdown source: front matter, then units of text.

def split_front_matter(src):
    lines = src.split("\n")
    if lines and lines[0].strip() == "---" and len(lines) > 1 and lines[1].strip():
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                return lines[1:i], lines[i + 1:], i + 1
    return [], lines, 0


def yaml_unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        v = v[1:-1]
        if v and "\\" in v:
            v = v.replace('\\"', '"').replace("\\\\", "\\")
    return v


def front_matter_extra(fm_lines):
    """lang and the abstract's text (a `|` block) of the samples' front matter."""
    lang = None
    abstract = []
    in_abs = False
    for line in fm_lines:
        if in_abs:
            if line.startswith("  ") or not line.strip():
                abstract.append(line.strip())
                continue
            in_abs = False
        m = re.match(r"^lang:\s*(\S+)", line)
        if m:
            lang = yaml_unquote(m.group(1))
        m = re.match(r"^abstract:\s*(.*)$", line)
        if m:
            v = m.group(1).strip()
            if v in ("|", ">", "|-", ">-"):
                in_abs = True
            elif v:
                abstract.append(yaml_unquote(v))
    return lang, " ".join(abstract).strip()


def front_matter_fields(fm_lines):
    """title and author names of the samples' front matter (a deliberately
    small reader for the block style the samples use)."""
    title = None
    authors = []
    in_author = False
    for line in fm_lines:
        if re.match(r"^title:\s*\S", line):
            title = yaml_unquote(line.split(":", 1)[1])
        if re.match(r"^author:", line):
            in_author = True
            v = line.split(":", 1)[1].strip()
            if v:
                authors.append(yaml_unquote(v))
                in_author = False
            continue
        if in_author:
            if re.match(r"^\S", line):
                in_author = False
                continue
            m = re.match(r"^\s*-\s*name:\s*(.+)$", line)
            if m:
                authors.append(yaml_unquote(m.group(1)))
            else:
                m = re.match(r"^\s*-\s+([^:]+)$", line)
                if m:
                    authors.append(yaml_unquote(m.group(1)))
    return title, authors


def strip_inline(text):
    """Markdown inline syntax to visible text: footnote refs, images and URLs
    removed, links to their text, HTML tags dropped, entities decoded."""
    text = re.sub(r"\[\^[^\]]+\]", " ", text)                        # footnote refs
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", " ", text)                # inline images
    text = re.sub(r"\[([^\]]*)\]\((?:[^()\s]|\([^)]*\))*(?:\s+\"[^\"]*\")?\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", text)              # reference links
    while True:                                                         # spans of a language,
        t2 = re.sub(r"\[([^\[\]]*)\]\{lang=[\"']?[A-Za-z0-9-]+[\"']?\}", r"\1", text)  # inner first
        if t2 == text:
            break
        text = t2
    text = re.sub(r"<(?:https?|mailto|ftp):[^>\s]*>", " ", text)       # autolinks
    text = re.sub(r"<[^>\s@]+@[^>\s]+>", " ", text)                    # email autolinks
    text = re.sub(r"(?:https?://|www\.)[^\s<>]*", " ", text)           # bare URLs (GFM)
    text = re.sub(r"</?[A-Za-z][^>]*>", " ", text)                     # inline HTML
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)                 # backslash escapes
    return html.unescape(text)


class Units:
    def __init__(self):
        self.flow = []      # [(word, source line)] in order
        self.detached = []  # [(what, [(word, line)])]


def source_blocks(body, first):
    """Markdown body lines to blocks: (kind, [(text, line)]) with kind one of
    para, heading, code, table, footnote, figure.  Blank lines end a para."""
    blocks = []
    para = None
    i, n = 0, len(body)

    def close():
        nonlocal para
        if para:
            blocks.append(("para", para))
        para = None

    while i < n:
        line = body[i]
        ln = first + i + 1
        s = line.strip()
        if re.match(r"^\s{0,3}(```|~~~)", line):
            close()
            code = []
            i += 1
            while i < n and not re.match(r"^\s{0,3}(```|~~~)", body[i]):
                code.append((body[i], first + i + 1))
                i += 1
            blocks.append(("code", code))
            i += 1
            continue
        m = re.match(r"^\[\^([^\]]+)\]:\s?(.*)$", line)
        if m:
            close()
            text = [(m.group(2), ln)]
            i += 1
            while i < n and (body[i].startswith("    ") or body[i].startswith("\t") or
                             (not body[i].strip() and i + 1 < n and
                              body[i + 1].startswith("    "))):
                text.append((body[i].strip(), first + i + 1))
                i += 1
            blocks.append(("footnote [^%s]" % m.group(1), text))
            continue
        if s.startswith("|"):
            close()
            rows = []
            while i < n and body[i].strip().startswith("|"):
                rows.append((body[i].strip(), first + i + 1))
                i += 1
            blocks.append(("table", rows))
            continue
        if not s:
            close()
            i += 1
            continue
        if para is None and re.match(r"^!\[(.*)\]\((\S+)(\s+\"(.*)\")?\)\s*$", s):
            # a paragraph holding only an image is a figure; its alt text is
            # the caption (typeset/doc/ts_doc.h)
            if i + 1 >= n or not body[i + 1].strip():
                blocks.append(("figure", [(re.match(r"^!\[(.*)\]", s).group(1), ln)]))
                i += 1
                continue
        if re.match(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$", line):
            close()
            i += 1
            continue
        if re.match(r"^:{3,}\s*(\{\s*lang\s*=\s*[\"']?[A-Za-z0-9-]+[\"']?\s*\})?\s*$", s):
            # a fenced div's marker (::: {lang=ru} / :::) is no text of its own
            i += 1
            continue
        m = re.match(r"^\s{0,3}#{1,6}\s+(.*?)(\s+#+\s*)?$", line)
        if m:
            close()
            blocks.append(("heading", [(re.sub(r"\s*\{[^}]*\}\s*$", "", m.group(1)), ln)]))
            i += 1
            continue
        if para is None and re.match(r"^</?[A-Za-z!]", s):
            while i < n and body[i].strip():  # raw HTML block: never rendered
                i += 1
            continue
        t = re.sub(r"^(\s*>\s?)+", "", line)                 # block quotes
        t = re.sub(r"^\s*([-+*]|\d+[.)])\s+", "", t)          # list markers
        if para is None:
            para = []
        para.append((t, ln))
        i += 1
    close()
    return blocks


def is_table_caption(text):
    """The page builder keeps a paragraph right before a table with it (and
    may float both): a caption ("**Table 1.** …", "Table 1 …") or an
    introduction ending in a colon (typeset/page/page_build.c)."""
    t = text.strip()
    return bool(re.match(r"^(\*|_|Table|Tab\.|Таблица)", t)) or t.endswith(":")


def source_units(src):
    fm, body, first = split_front_matter(src)
    u = Units()
    blocks = source_blocks(body, first)

    def words_with_lines(lines):
        out = []
        for text, ln in lines:
            out.extend((w, ln) for w in words_of(strip_inline(text)))
        return out

    for k, (kind, lines) in enumerate(blocks):
        if kind in ("heading", "code") or (kind == "para" and not (
                k + 1 < len(blocks) and blocks[k + 1][0] == "table" and
                is_table_caption(" ".join(t for t, _ in lines)))):
            if kind == "code":
                u.flow.extend((w, ln) for text, ln in lines for w in words_of(text))
            else:
                u.flow.extend(words_with_lines(lines))
        elif kind == "para":
            ws = words_with_lines(lines)
            if ws:
                u.detached.append(("caption of the table after line %d" % lines[0][1], ws))
        elif kind == "table":
            for row, ln in lines:
                row = row.strip("|")
                if re.match(r"^[\s|:\-]+$", row):
                    continue
                for cell in re.split(r"(?<!\\)\|", row):
                    ws = [(w, ln) for w in words_of(strip_inline(cell))]
                    if ws:
                        u.detached.append(("table cell on line %d" % ln, ws))
        else:  # footnote, figure
            ws = words_with_lines(lines)
            if ws:
                u.detached.append(("%s on line %d" % (kind, lines[0][1]), ws))
    return fm, u


# ---------------------------------------------------------------------------
# Matching source words against rendered tokens.

WINDOW = 1500  # tokens that may lie between two consecutive words of a unit


def tok_matches(t, w):
    """A rendered token matches a source word exactly, or with a footnote
    number glued to it ("flow1" for flow[^1], "1this" at a note's start)."""
    if t == w:
        return True
    if not w or w[-1].isdigit() or w[0].isdigit():
        return False
    core = t.strip("0123456789")
    return core == w and len(t) - len(core) <= 3


def match_at(toks, i, word, limit):
    """Finds word at or after toks[i] (before limit); a line-end fragment
    ("inter-") may join a later token ("national").  Returns the index after
    the match or -1."""
    end = min(len(toks), limit)
    j = i
    while j < end:
        t = toks[j]
        if tok_matches(t.text, word):
            return j + 1
        if t.hyph and len(t.text) < len(word) and word.startswith(t.text):
            rest = word[len(t.text):]
            for k in range(j + 1, min(len(toks), j + 400)):
                if tok_matches(toks[k].text, rest):
                    return k + 1
                if toks[k].hyph and rest.startswith(toks[k].text) and \
                        k + 1 < len(toks) and \
                        tok_matches(toks[k + 1].text, rest[len(toks[k].text):]):
                    return k + 2
        j += 1
    return -1


def context_words(seq, k, before=6, after=3):
    return " ".join(w for w, _ in seq[max(0, k - before):k]) + " [[" + seq[k][0] + "]] " + \
        " ".join(w for w, _ in seq[k + 1:k + 1 + after])


def rendered_context(toks, i):
    a = max(0, i - 8)
    return " ".join(t.text for t in toks[a:i + 8])


def check_sequence(toks, seq, rtl_membership, what, label, anchored=True):
    """seq: [(word, line)].  Returns an error message or None."""
    rtl_set = None
    by_membership = [False] * len(seq)
    if rtl_membership:
        rtl_set = set(strip_marks(t.text) for t in toks)
        for k, (w, ln) in enumerate(seq):
            # right-to-left words, and numbers inside a right-to-left run
            # (poppler orders such runs visually)
            by_membership[k] = is_rtl(w) or (w.isdigit() and any(
                0 <= j < len(seq) and seq[j][1] == ln and is_rtl(seq[j][0])
                for j in (k - 1, k + 1)))
    ordered = [(k, w, ln) for k, (w, ln) in enumerate(seq) if not by_membership[k]]
    for k, (w, ln) in enumerate(seq):
        if by_membership[k] and strip_marks(w) not in rtl_set:
            return "%s: %s: word '%s' (source line %d; right-to-left run, checked by " \
                "membership) is missing: %s" % (
                label, what, w, ln, context_words(seq, k))
    if not ordered:
        return None
    starts = [0] if anchored else \
        [j for j, t in enumerate(toks) if tok_matches(t.text, ordered[0][1]) or
         (t.hyph and ordered[0][1].startswith(t.text))]
    best = None  # (matched count, message)
    for s in starts or [0]:
        pos = s
        for idx, (k, w, ln) in enumerate(ordered):
            limit = len(toks) if idx == 0 else pos + WINDOW
            nxt = match_at(toks, pos, w, limit)
            if nxt < 0:
                msg = "%s: %s: word '%s' (source line %d) not found in order; source: %s; " \
                      "rendered text near the last match: %s" % (
                          label, what, w, ln, context_words(seq, k), rendered_context(toks, pos))
                if best is None or idx > best[0]:
                    best = (idx, msg)
                break
            pos = nxt
        else:
            return None
    return best[1] if best else "%s: %s: no words found" % (label, what)


def check_words(toks, units, title, rtl_membership, label):
    errs = []
    e = check_sequence(toks, units.flow, rtl_membership, "body text", label)
    if e:
        errs.append(e)
    for what, seq in units.detached:
        e = check_sequence(toks, seq, rtl_membership, what, label, anchored=False)
        if e:
            errs.append(e)
    if title:
        seq = [(w, 0) for w in words_of(strip_inline(title))]
        e = check_sequence(toks, seq, rtl_membership, "title", label, anchored=False)
        if e:
            errs.append(e)
    return errs


# ---------------------------------------------------------------------------
# Tool output parsers.

def pdffonts_rows(out):
    """(name, emb, sub, uni) per font of `pdffonts` output."""
    rows = []
    lines = out.splitlines()
    for line in lines[2:]:
        f = line.split()
        if len(f) < 7:
            continue
        # name ... type encoding emb sub uni object-num gen
        rows.append((f[0], f[-5], f[-4], f[-3]))
    return rows


def bbox_words(xhtml):
    """[(page, xmin, ymin, xmax, ymax, word)] from `pdftotext -bbox`."""
    out = []
    page = 0
    for m in re.finditer(r'<page\b|<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                         r'yMax="([\d.]+)">([^<]*)</word>', xhtml):
        if m.group(0) == "<page":
            page += 1
            continue
        out.append((page, float(m.group(1)), float(m.group(2)), float(m.group(3)),
                    float(m.group(4)), html.unescape(m.group(5))))
    return out


def overlaps(words):
    """Pairs of words on one page whose boxes overlap by more than a third of
    the smaller box: text drawn over text (a folio over a footnote, a float
    over a paragraph)."""
    bad = []
    by_page = {}
    for w in words:
        by_page.setdefault(w[0], []).append(w)
    for page, ws in sorted(by_page.items()):
        ws.sort(key=lambda w: w[2])
        for i, a in enumerate(ws):
            for b in ws[i + 1:]:
                if b[2] >= a[4]:
                    break
                ix = min(a[3], b[3]) - max(a[1], b[1])
                iy = min(a[4], b[4]) - max(a[2], b[2])
                if ix <= 0 or iy <= 0:
                    continue
                small = min((a[3] - a[1]) * (a[4] - a[2]), (b[3] - b[1]) * (b[4] - b[2]))
                if small > 0 and ix * iy > small / 3:
                    bad.append((page, a[5], b[5], round(a[1]), round(a[2])))
    return bad


def pdfinfo_fields(out):
    d = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            d[k.strip()] = v.strip()
    return d


def epubcheck_problems(out):
    """Lines of epubcheck output that report an error, warning or fatal."""
    bad = []
    for line in out.splitlines():
        if re.match(r"^\s*(ERROR|WARNING|FATAL|USAGE)\b", line) or \
                re.match(r"^\s*(ERROR|WARNING|FATAL)\(", line):
            bad.append(line.strip())
    return bad


def epubcheck_cmd():
    """Debian's /usr/bin/epubcheck is a link to a jar that runs only where
    binfmt_misc knows jars: call java -jar on it directly."""
    exe = shutil.which("epubcheck")
    if exe is None:
        return ["epubcheck"]
    real = os.path.realpath(exe)
    with open(real, "rb") as f:
        magic = f.read(2)
    if magic == b"PK" or real.endswith(".jar"):
        return ["java", "-jar", real]
    return [exe]


def ace_report_problems(report):
    """Ace by DAISY's findings in its report.json (parsed): one line per
    failed assertion, 'file: impact rule: message'; empty when Ace's verdict
    is pass.  A verdict other than pass with no assertion is a problem too."""
    bad = []
    for sub in report.get("assertions", []):
        url = sub.get("earl:testSubject", {}).get("url", "?")
        for a in sub.get("assertions", []):
            t = a.get("earl:test", {})
            r = a.get("earl:result", {})
            bad.append("%s: %s %s: %s" % (url, t.get("earl:impact", "?"), t.get("dct:title", "?"),
                                         r.get("dct:description", "")))
    outcome = report.get("earl:result", {}).get("earl:outcome")
    if outcome != "pass" and not bad:
        bad.append("verdict %r" % outcome)
    return bad


def ace_problems(root, epub, tmp):
    """Runs Ace by DAISY (the accessibility checker stores and libraries use;
    scripts/setup.sh installs it into tests/ace/ with npm, and it drives
    Debian's Chromium) on epub.  Returns (problems, None) or (None, why Ace
    could not run): the package claims EPUB Accessibility 1.1 / WCAG 2.1 AA,
    and this is the check of that claim."""
    exe = os.path.join(root, "tests", "ace", "node_modules", ".bin", "ace-cli")
    chromium = shutil.which("chromium")
    if not os.path.exists(exe) or chromium is None:
        return None, ("Ace or Chromium is not installed (%s, chromium: %s); scripts/setup.sh "
                      "installs both" % (exe, chromium))
    out = tempfile.mkdtemp(prefix="ace-", dir=tmp)
    p = run([exe, "--silent", "--force", "--outdir", out, "--tempdir", out, epub], timeout=300,
            env={"PUPPETEER_EXECUTABLE_PATH": chromium, "HOME": out})
    rep = os.path.join(out, "report.json")
    if p is None or p.returncode != 0 or not os.path.exists(rep):
        return None, "Ace did not run (%s): %s" % (describe(p), (p.stdout + p.stderr).decode(
            "utf-8", "replace")[-1500:] if p else "")
    with open(rep, encoding="utf-8") as f:
        return ace_report_problems(json.load(f)), None


def check_ace(root, epub, tmp, label):
    probs, why = ace_problems(root, epub, tmp)
    if why:
        fail("%s: %s" % (label, why))
    elif probs:
        fail("%s: Ace by DAISY finds %d accessibility problems:\n  %s"
             % (label, len(probs), "\n  ".join(probs[:20])))
    else:
        ok("%s: Ace by DAISY: no accessibility violations" % label)


OPF_NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
EPOCH_ISO = "2018-10-20T01:46:40Z"  # SOURCE_DATE_EPOCH 1540000000


def opf_problems(path, title, authors, lang):
    """One dc:title (stores reject a second one), every author a dc:creator,
    dc:language from the metadata, an identifier, and dcterms:modified from
    SOURCE_DATE_EPOCH."""
    import xml.etree.ElementTree as ET
    errs = []
    with zipfile.ZipFile(path) as z:
        container = z.read("META-INF/container.xml").decode("utf-8")
        opf_path = re.search(r'full-path="([^"]+)"', container).group(1)
        root = ET.fromstring(z.read(opf_path))
    md = root.find("opf:metadata", OPF_NS)
    if md is None:
        return ["no <metadata>"]
    titles = [t.text or "" for t in md.findall("dc:title", OPF_NS)]
    if len(titles) != 1:
        errs.append("%d dc:title elements %r, want exactly one" % (len(titles), titles))
    elif title and not titles[0].startswith(title):
        errs.append("dc:title %r, want %r" % (titles[0], title))
    creators = [c.text or "" for c in md.findall("dc:creator", OPF_NS)]
    for a in authors:
        if a not in creators:
            errs.append("no dc:creator %r (creators: %r)" % (a, creators))
    langs = [l.text for l in md.findall("dc:language", OPF_NS)]
    if not langs or (lang and langs[0] != lang):
        errs.append("dc:language %r, want %r" % (langs, lang))
    if not md.findall("dc:identifier", OPF_NS):
        errs.append("no dc:identifier")
    mod = [m.text for m in md.findall("opf:meta", OPF_NS)
           if m.get("property") == "dcterms:modified"]
    if mod != [EPOCH_ISO]:
        errs.append("dcterms:modified %r, want [%r] from SOURCE_DATE_EPOCH" % (mod, EPOCH_ISO))
    return errs


def top_headings(src):
    """(text, line) of the source's headings of the highest level used."""
    _, body, first = split_front_matter(src)
    hs = []
    for kind, lines in source_blocks(body, first):
        if kind == "heading":
            ln = lines[0][1]
            level = len(re.match(r"^\s*(#+)", body[ln - first - 1]).group(1))
            hs.append((level, lines[0][0], ln))
    if not hs:
        return []
    top = min(h[0] for h in hs)
    return [(t, ln) for lv, t, ln in hs if lv == top]


def nav_text(path):
    """Text of the EPUB 3 navigation document's toc nav."""
    with zipfile.ZipFile(path) as z:
        container = z.read("META-INF/container.xml").decode("utf-8")
        opf_path = re.search(r'full-path="([^"]+)"', container).group(1)
        opf = z.read(opf_path).decode("utf-8")
        base = opf_path.rsplit("/", 1)[0] + "/" if "/" in opf_path else ""
        item = next(m.group(0) for m in re.finditer(r"<item\s[^>]*>", opf)
                    if re.search(r'properties="[^"]*\bnav\b', m.group(0)))
        href = re.search(r'href="([^"]+)"', item).group(1)
        x = z.read(base + html.unescape(href)).decode("utf-8")
    m = re.search(r'(?s)<nav\b[^>]*epub:type="toc"[^>]*>(.*?)</nav>', x)
    x = m.group(1) if m else x
    x = re.sub(r"(?i)</(li|a|span)>", "\n", x)
    return html.unescape(re.sub(r"<[^>]+>", "", x))


def epub_spine(path):
    """The EPUB's XHTML documents in spine order: [(name, markup)]."""
    docs = []
    with zipfile.ZipFile(path) as z:
        container = z.read("META-INF/container.xml").decode("utf-8")
        m = re.search(r'full-path="([^"]+)"', container)
        opf_path = m.group(1)
        opf = z.read(opf_path).decode("utf-8")
        base = opf_path.rsplit("/", 1)[0] + "/" if "/" in opf_path else ""
        items = {}
        for it in re.finditer(r"<item\s[^>]*>", opf):
            tag = it.group(0)
            i = re.search(r'\bid="([^"]+)"', tag)
            h = re.search(r'\bhref="([^"]+)"', tag)
            if i and h:
                items[i.group(1)] = h.group(1)
        for ref in re.finditer(r'<itemref\s[^>]*idref="([^"]+)"', opf):
            href = items.get(ref.group(1))
            if href is None:
                continue
            name = base + html.unescape(href).split("#")[0]
            docs.append((name, z.read(name).decode("utf-8")))
    return docs


def xhtml_text(x):
    """Text of XHTML markup: tags stripped (block ends as line breaks),
    entities decoded."""
    x = re.sub(r"(?s)<head\b.*?</head>", " ", x)
    x = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", x)
    x = re.sub(r"(?s)<!--.*?-->", " ", x)
    # block-level tags end a line, so words never glue together
    x = re.sub(r"(?i)<(br|/p|/h[1-6]|/li|/td|/th|/div|/figcaption|/caption|/aside|/blockquote|/tr)\b[^>]*>",
               "\n", x)
    x = re.sub(r"<[^>]+>", "", x)
    return html.unescape(x)


def epub_text(path):
    """Text of the EPUB's XHTML documents in spine order (tags stripped,
    entities decoded)."""
    return "\n".join(xhtml_text(x) for _, x in epub_spine(path))


PAGE_MARK = re.compile(r'<span epub:type="pagebreak" role="doc-pagebreak" id="(p\d+)" '
                       r'aria-label="([^"]+)"></span>')


def page_list_problems(pdf, epub, grouped_ok=0):
    """The print edition's page numbers in the EPUB against the PDF: one
    marker per PDF page, in page order, listed by the nav's page-list; the
    words after page K's marker are among the first words of PDF page K's
    text (pdftotext, an independent reading of the PDF: the running head
    and the page's first lines).  A page without body text of its own (a
    printed table of contents) is marked with the next page, its marker
    right before that page's: at most grouped_ok such pages.  [] when all
    hold."""
    probs = []
    p = run(["pdfinfo", pdf], timeout=60)
    m = re.search(r"^Pages:\s+(\d+)", p.stdout.decode("utf-8", "replace"), re.M) if p else None
    if not m:
        return ["pdfinfo gives no page count: %s" % describe(p)]
    n = int(m.group(1))
    marks = []  # (label, id, file, words after, the next page's marker follows)
    for name, x in epub_spine(epub):
        for mk in PAGE_MARK.finditer(x):
            after = words_of(xhtml_text(PAGE_MARK.sub("", x[mk.end():mk.end() + 1500])))
            grouped = PAGE_MARK.match(x, mk.end()) is not None
            marks.append((mk.group(2), mk.group(1), name.rsplit("/", 1)[-1], after[:3], grouped))
    labels = [mk[0] for mk in marks]
    if labels != [str(k) for k in range(1, n + 1)]:
        return ["page markers %s, the PDF has %d pages" % (labels, n)]
    with zipfile.ZipFile(epub) as z:
        nav = z.read([f for f in z.namelist() if f.endswith("nav.xhtml")][0]).decode("utf-8")
    pl = re.search(r'(?s)<nav epub:type="page-list"[^>]*>(.*?)</nav>', nav)
    links = re.findall(r'<a href="([^"#]+)#(p\d+)">([^<]+)</a>', pl.group(1)) if pl else []
    want = [(mk[2], mk[1], mk[0]) for mk in marks]
    if links != want:
        probs.append("nav page-list %s, the markers are %s" % (links[:4], want[:4]))
    grouped = [k for k in range(2, n + 1) if marks[k - 1][4]]
    if len(grouped) > grouped_ok:
        probs.append("pages %s are marked together with the next page (at most %d may be)"
                     % (grouped, grouped_ok))
    for k in range(2, n + 1):
        if k in grouped:
            continue
        after = marks[k - 1][3]
        p = run(["pdftotext", "-f", str(k), "-l", str(k), pdf, "-"], timeout=60)
        # (a printed contents' entries and page numbers are not the page's text)
        lines = [l for l in p.stdout.decode("utf-8", "replace").split("\n")
                 if l.strip() and ". . ." not in l and not l.strip().isdigit()] if p else []
        head = words_of("\n".join(lines[:6]))
        if not after or not any(head[i:i + len(after)] == after for i in range(len(head))):
            probs.append("page %d's marker is followed by %s, not among the first words of "
                         "the PDF page: %s" % (k, after, head[:24]))
    return probs


# ---------------------------------------------------------------------------
# One sample.

def check_sample(typeset, root, name):
    src_path = os.path.join(root, "samples", name)
    with open(src_path, encoding="utf-8") as f:
        src = f.read()
    fm, units = source_units(src)
    title, authors = front_matter_fields(fm)
    lang, abstract = front_matter_extra(fm)
    if abstract:
        ws = [(w, 0) for w in words_of(strip_inline(abstract))]
        units.detached.append(("abstract", ws))
    stem = os.path.splitext(name)[0]
    tmp = tempfile.mkdtemp(prefix="typeset-int-")
    try:
        outs = []
        for k in (1, 2):
            d = os.path.join(tmp, "run%d" % k)
            os.mkdir(d)
            pdf = os.path.join(d, stem + ".pdf")
            epub = os.path.join(d, stem + ".epub")
            t0 = time.monotonic()
            p = run([typeset, src_path, "-o", pdf, "-o", epub])
            dt = time.monotonic() - t0
            if p is None or p.returncode != 0:
                fail("%s: render %d: %s\n%s" % (name, k, describe(p),
                                                 p.stderr.decode("utf-8", "replace") if p else ""))
                return
            ok("%s: render %d took %.2f s" % (name, k, dt))
            errl = p.stderr.decode("utf-8", "replace").splitlines()
            over = [l for l in errl if "overfull" in l]
            if k == 1 and over:
                fail("%s: %d overfull lines in a sample, e.g. %s"
                     % (name, len(over), over[:3]))
            # underfull paragraphs (a line looser than the tolerance, set by
            # the emergency pass) are reported by typeset as TeX reports an
            # underfull box; XeLaTeX sets the same loose lines on this text
            # (bench/quality.md), so they are counted here, not failed;
            # tests/quality checks that every such line is reported
            under = [l for l in errl if "underfull" in l]
            if k == 1 and under:
                print("   %s: %d underfull paragraph(s), e.g. %s" % (name, len(under), under[:1]))
            leftovers = sorted(set(os.listdir(d)) - {stem + ".pdf", stem + ".epub"})
            if leftovers:
                fail("%s: stray files beside the outputs: %s" % (name, leftovers))
            outs.append((pdf, epub))
        pdf, epub = outs[0]

        # determinism
        for a, b in zip(outs[0], outs[1]):
            with open(a, "rb") as fa, open(b, "rb") as fb:
                da, db = fa.read(), fb.read()
            if da != db:
                first = next((i for i in range(min(len(da), len(db))) if da[i] != db[i]),
                             min(len(da), len(db)))
                fail("%s: two renders of %s differ (sizes %d and %d, first difference at "
                     "byte %d)" % (name, os.path.basename(a), len(da), len(db), first))
            else:
                ok("%s: %s is byte-identical on two runs" % (name, os.path.basename(a)))

        # qpdf --check
        p = run(["qpdf", "--check", pdf], timeout=120)
        if p is None or p.returncode != 0 or b"No syntax or stream encoding errors" not in p.stdout:
            fail("%s: qpdf --check: %s\n%s%s" % (name, describe(p),
                                                p.stdout.decode(errors="replace") if p else "",
                                                p.stderr.decode(errors="replace") if p else ""))
        else:
            ok("%s: qpdf --check" % name)

        # pdffonts
        p = run(["pdffonts", pdf], timeout=60)
        if p is None or p.returncode != 0:
            fail("%s: pdffonts: %s" % (name, describe(p)))
        else:
            rows = pdffonts_rows(p.stdout.decode("utf-8", "replace"))
            if not rows:
                fail("%s: pdffonts lists no font" % name)
            bad = [r for r in rows if r[1:] != ("yes", "yes", "yes")]
            if bad:
                fail("%s: fonts not embedded+subset+unicode (name, emb, sub, uni): %s"
                     % (name, bad))
            subset_tag = [r for r in rows if not re.match(r"^[A-Z]{6}\+", r[0])]
            if subset_tag:
                fail("%s: subset fonts without an ABCDEF+ tag: %s" % (name, subset_tag))
            if rows and not bad:
                ok("%s: pdffonts: %d fonts, all emb/sub/uni" % (name, len(rows)))

        # pdfinfo
        p = run(["pdfinfo", "-enc", "UTF-8", pdf], timeout=60)
        if p is None or p.returncode != 0:
            fail("%s: pdfinfo: %s" % (name, describe(p)))
        else:
            info = pdfinfo_fields(p.stdout.decode("utf-8", "replace"))
            if title and info.get("Title") != title:
                fail("%s: pdfinfo Title is %r, want %r" % (name, info.get("Title"), title))
            for a in authors:
                if a not in info.get("Author", ""):
                    fail("%s: pdfinfo Author %r lacks %r" % (name, info.get("Author"), a))
            m = re.match(r"([\d.]+) x ([\d.]+) pts", info.get("Page size", ""))
            if not m or abs(float(m.group(1)) - 595.28) > 0.5 or \
                    abs(float(m.group(2)) - 841.89) > 0.5:
                fail("%s: page size %r, want A4 (595.28 x 841.89 pts)"
                     % (name, info.get("Page size")))
            if info.get("CreationDate") and "2018" not in info["CreationDate"]:
                fail("%s: CreationDate %r does not come from SOURCE_DATE_EPOCH (2018-10-20)"
                     % (name, info.get("CreationDate")))
            try:
                pages = int(info.get("Pages", "0"))
            except ValueError:
                pages = 0
            if pages < 1:
                fail("%s: pdfinfo Pages is %r" % (name, info.get("Pages")))
            else:
                ok("%s: pdfinfo: %d pages, title and authors present" % (name, pages))

        # pdftotext
        p = run(["pdftotext", "-enc", "UTF-8", pdf, "-"], timeout=60)
        if p is None or p.returncode != 0:
            fail("%s: pdftotext: %s" % (name, describe(p)))
        else:
            toks = tokenise_rendered(p.stdout.decode("utf-8", "replace"))
            errs = check_words(toks, units, title, True, name + " PDF")
            for e in errs:
                fail(e)
            if not errs:
                ok("%s: PDF text holds all %d body words in order (+%d detached units)"
                   % (name, len(units.flow), len(units.detached)))

        # text drawn over text
        p = run(["pdftotext", "-bbox", pdf, "-"], timeout=60)
        if p is None or p.returncode != 0:
            fail("%s: pdftotext -bbox: %s" % (name, describe(p)))
        else:
            bad = overlaps(bbox_words(p.stdout.decode("utf-8", "replace")))
            if bad:
                fail("%s: %d pairs of words drawn over each other (page, word, word, x, y): %s"
                     % (name, len(bad), bad[:8]))
            else:
                ok("%s: no word is drawn over another" % name)

        # epubcheck
        p = run(epubcheck_cmd() + [epub], timeout=300)
        if p is None:
            fail("%s: epubcheck timed out" % name)
        else:
            out = (p.stdout + p.stderr).decode("utf-8", "replace")
            probs = epubcheck_problems(out)
            if p.returncode != 0 or probs or "No errors or warnings detected" not in out:
                fail("%s: epubcheck (%s):\n  %s" % (name, describe(p),
                                                    "\n  ".join(probs) or out[-2000:]))
            else:
                ok("%s: epubcheck: no errors or warnings" % name)
        check_ace(root, epub, tmp, name)

        # EPUB navigation: the top-level headings, in order
        tops = top_headings(src)
        try:
            nav = nav_text(epub)
        except (KeyError, AttributeError, zipfile.BadZipFile) as ex:
            fail("%s: EPUB navigation document unreadable: %r" % (name, ex))
        else:
            seq = [(w, ln) for text, ln in tops for w in words_of(strip_inline(text))]
            e = check_sequence(tokenise_rendered(nav), seq, False, "navigation (top-level "
                               "headings)", name + " EPUB")
            if e:
                fail(e)
            else:
                ok("%s: EPUB nav lists the %d top-level headings in order" % (name, len(tops)))

        # the default style makes no page list (epub.page-list: false)
        if any(PAGE_MARK.search(x) or 'epub:type="page-list"' in x for _, x in epub_spine(epub)):
            fail("%s: the default style's EPUB has print page markers" % name)

        # EPUB package metadata
        for e in opf_problems(epub, title, authors, lang):
            fail("%s: EPUB package: %s" % (name, e))

        # EPUB text
        try:
            text = epub_text(epub)
        except (KeyError, AttributeError, zipfile.BadZipFile, UnicodeDecodeError) as ex:
            fail("%s: cannot read the EPUB's XHTML: %r" % (name, ex))
        else:
            toks = tokenise_rendered(text)
            errs = check_words(toks, units, title, False, name + " EPUB")
            for e in errs:
                fail(e)
            if not errs:
                ok("%s: EPUB text holds all %d body words in order" % (name, len(units.flow)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# Self-test of the word matcher: it must find what it should and fail where
# it should, or the text checks prove nothing.

def self_test():
    src = "---\ntitle: T\n---\n\n## Inter-national Trade\n\nThe *large-scale* office " \
          "[link](http://x.org \"t\") flow[^1] goes <https://example.org/> on.\n\n" \
          "| a | b c |\n|---|---|\n| d | e |\n\n[^1]: A note here.\n"
    _, u = source_units(src)
    flow = [w for w, _ in u.flow]
    assert flow == ["international", "trade", "the", "largescale", "office", "link", "flow",
                    "goes", "on"], flow
    assert [w for w, _ in u.detached[0][1]] == ["a"], u.detached
    assert [w for w, _ in u.detached[-1][1]] == ["a", "note", "here"], u.detached
    good = "Header\nInter-\nnational Trade\nThe large-\nscale o\ufb03ce link flow\f" \
           "Page 2\nA note here.\ngoes on.\na b c d e\n"
    toks = tokenise_rendered(good)
    errs = check_words(toks, u, None, True, "self")
    assert errs == [], errs
    bad = good.replace("flow", "flaw")
    errs = check_words(tokenise_rendered(bad), u, None, True, "self")
    assert len(errs) == 1 and "'flow'" in errs[0], errs
    swapped = good.replace("link flow", "flow link")
    errs = check_words(tokenise_rendered(swapped), u, None, True, "self")
    assert len(errs) == 1, errs
    # right-to-left words: membership, marks ignored
    _, u2 = source_units("\u0645\u0631\u062d\u0628\u0627 \u0633\u0644\u0627\u0645 end\n")
    assert check_words(tokenise_rendered("end \u0633\u0644\u0627\u0645 \u0645\u0631\u062d\u0628\u0627"),
                       u2, None, True, "self") == []
    assert check_words(tokenise_rendered("end \u0633\u0644\u0627\u0645"), u2, None, True,
                       "self") != []
    assert check_words(tokenise_rendered("end \u0633\u0644\u0627\u0645 \u0645\u0631\u062d\u0628\u0627"),
                       u2, None, False, "self") != []  # in order when not PDF
    # a caption paragraph before a table travels with it
    _, u3 = source_units("Intro text.\n\n**Table 1.** Cap words\n\n| a |\n|---|\n| b |\n\nEnd.\n")
    assert [w for w, _ in u3.flow] == ["intro", "text", "end"], u3.flow
    assert [[w for w, _ in ws] for _, ws in u3.detached] == [["table", "1", "cap", "words"],
                                                            ["a"], ["b"]], u3.detached
    # bidi controls around right-to-left runs separate words
    assert words_of("\u0639\u0627\u0645\u202c92 x\u202bab") == ["\u0639\u0627\u0645", "92", "x", "ab"]
    bw = bbox_words('<page width="1"><word xMin="10" yMin="10" xMax="50" yMax="20">ab</word>'
                    '<word xMin="60" yMin="10" xMax="90" yMax="20">cd</word>'
                    '<word xMin="42" yMin="11" xMax="52" yMax="21">2</word></page>'
                    '<page><word xMin="10" yMin="10" xMax="50" yMax="20">ef</word></page>')
    assert [w[0] for w in bw] == [1, 1, 1, 2], bw
    assert overlaps(bw) == [(1, "ab", "2", 10, 10)], overlaps(bw)
    # CJK: one word per character
    assert words_of("\u4f60\u597d, world") == ["\u4f60", "\u597d", "world"]
    assert epubcheck_problems("Validating\nWARNING(RSC-017): x\nERROR(RSC-012): y\n"
                              "No errors") == ["WARNING(RSC-017): x", "ERROR(RSC-012): y"]
    assert strip_inline("a [b [c]{lang=fr} d]{lang=\"de\"} [e](http://x) [f]") == "a b c d e [f]"
    assert ace_report_problems({"earl:result": {"earl:outcome": "pass"},
                                "assertions": [{"assertions": []}]}) == []
    assert ace_report_problems({"earl:result": {"earl:outcome": "fail"}, "assertions": [
        {"earl:testSubject": {"url": "c.xhtml"}, "assertions": [
            {"earl:test": {"earl:impact": "serious", "dct:title": "link-in-text-block"},
             "earl:result": {"dct:description": "x"}}]}]}) == [
        "c.xhtml: serious link-in-text-block: x"]
    assert ace_report_problems({"earl:result": {"earl:outcome": "fail"}}) == ["verdict 'fail'"]
    rows = pdffonts_rows("name type encoding emb sub uni object ID\n----\n"
                         "ABCDEF+LinLibertine CID TrueType Identity-H yes yes yes 12 0\n"
                         "Helvetica Type 1 WinAnsi no no no 5 0\n")
    assert rows == [("ABCDEF+LinLibertine", "yes", "yes", "yes"),
                    ("Helvetica", "no", "no", "no")], rows
    ok("self-test of the word matcher and parsers")


# ---------------------------------------------------------------------------
# The series command (issue 6).

SAMPLES = ["not-to-disappear-one-by-one.md", "grain-corridors.md", "arctic-shipping.md",
           "multilingual.md", "shared-rivers.md"]


def png_bytes(w, h, rgb):
    raw = b"".join(b"\0" + bytes(rgb) * w for _ in range(h))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def copy_samples(root, dest):
    os.makedirs(dest)
    for s in SAMPLES:
        shutil.copy(os.path.join(root, "samples", s), dest)
    shutil.copytree(os.path.join(root, "samples", "images"), os.path.join(dest, "images"))


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def manifest_text(papers, style=None, extra=""):
    t = "series:\n  name: Test Series\n  publisher: Test Publisher\n"
    if style:
        t += "  style: %s\n" % style
    t += "output: out\nformats: [pdf, epub]\n"
    if papers:
        t += "papers:\n" + "".join("  - path: %s\n" % p for p in papers)
    else:
        t += "papers: []\n"
    return t + extra


def series(typeset, manifest, out, *extra, timeout=600, env=None):
    args = [typeset, "series", manifest, "--out", out] + list(extra)
    return run(args, timeout=timeout, env=env)


def other_build(typeset, path):
    """A copy of the executable at path with one bit of its GNU build ID
    flipped: to typeset, another build (its caches must not serve it).
    None when the executable has no build ID."""
    q = run(["readelf", "-n", typeset], timeout=60)
    m = re.search(r"Build ID: ([0-9a-f]+)", q.stdout.decode("ascii", "replace")) if q else None
    if not m:
        return None
    data = bytearray(read_bytes(typeset))
    bid = bytes.fromhex(m.group(1))
    at = data.find(b"GNU\0" + bid)
    if at < 0:
        return None
    data[at + 4] ^= 1
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o755)
    return path


def load_report(path, label):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as ex:
        fail("%s: report %s unreadable: %r" % (label, path, ex))
        return None


def report_by_path(rep):
    return {os.path.basename(p["path"]): p for p in rep.get("papers", [])} if rep else {}


def stamps(out, stems):
    r = {}
    for s in stems:
        for ext in ("pdf", "epub"):
            p = os.path.join(out, s + "." + ext)
            try:
                st = os.stat(p)
                r[p] = (st.st_ino, st.st_mtime_ns, st.st_size)
            except OSError:
                r[p] = None
    return r


def check_report_fields(rep, label, expect_status, out):
    if rep is None:
        return
    for key in ("papers",):
        if key not in rep:
            fail("%s: report lacks %r" % (label, key))
            return
    for p in rep["papers"]:
        for key, typ in (("path", str), ("status", str), ("pages", int), ("bytes", int),
                         ("ms", (int, float)), ("warnings", int)):
            if not isinstance(p.get(key), typ) or isinstance(p.get(key), bool):
                fail("%s: report entry %r: %r is %r" % (label, p.get("path"), key, p.get(key)))
        st = expect_status.get(os.path.basename(p.get("path", "")))
        if st and p.get("status") != st:
            fail("%s: %s has status %r, want %r" % (label, p.get("path"), p.get("status"), st))
        if p.get("status") == "rendered":
            stem = os.path.splitext(os.path.basename(p["path"]))[0]
            size = sum(os.path.getsize(os.path.join(out, stem + e))
                       for e in (".pdf", ".epub") if os.path.exists(os.path.join(out, stem + e)))
            if p.get("bytes") != size:
                fail("%s: %s reports %r bytes, the outputs hold %d" % (label, p["path"],
                                                                      p.get("bytes"), size))
            if not isinstance(p.get("pages"), int) or p["pages"] < 1:
                fail("%s: %s reports %r pages" % (label, p["path"], p.get("pages")))
            if isinstance(p.get("ms"), (int, float)) and p["ms"] < 0:
                fail("%s: %s reports negative ms" % (label, p["path"]))
        if p.get("status") == "failed" and not p.get("error"):
            fail("%s: failed paper %s has no error text" % (label, p.get("path")))


def check_series(typeset, root):
    tmp = tempfile.mkdtemp(prefix="typeset-series-")
    stems = [os.path.splitext(s)[0] for s in SAMPLES]
    try:
        # -- the samples' own manifest -------------------------------------
        out = os.path.join(tmp, "samples-out")
        rep1 = os.path.join(tmp, "r1.json")
        t0 = time.monotonic()
        p = series(typeset, os.path.join(root, "samples", "series.yaml"), out, "-j", "2",
                   "--report", rep1)
        dt = time.monotonic() - t0
        if p is None or p.returncode != 0:
            fail("series samples: %s\n%s" % (describe(p), p.stderr.decode(errors="replace")
                                             if p else ""))
        else:
            ok("series samples: rendered in %.2f s" % dt)
        missing = [f for f in (s + e for s in stems for e in (".pdf", ".epub"))
                   if not os.path.isfile(os.path.join(out, f))]
        if missing:
            fail("series samples: missing outputs %s" % missing)
        for f in ("catalogue.pdf", "catalogue.atom"):
            if not os.path.isfile(os.path.join(out, f)):
                fail("series samples: no %s" % f)
        # the paper style's EPUBs carry the PDF's page numbers (epub.page-list)
        for i, s in enumerate(stems):
            pdf, epub = os.path.join(out, s + ".pdf"), os.path.join(out, s + ".epub")
            if not (os.path.isfile(pdf) and os.path.isfile(epub)):
                continue
            probs = page_list_problems(pdf, epub)
            for e in probs:
                fail("series samples: %s: print page numbers: %s" % (s, e))
            if not probs:
                ok("series samples: %s: the EPUB's page markers and page list match the PDF's "
                   "pages" % s)
            p = run(epubcheck_cmd() + [epub], timeout=300)
            txt = (p.stdout + p.stderr).decode("utf-8", "replace") if p else ""
            if p is None or p.returncode != 0 or epubcheck_problems(txt) or \
                    "No errors or warnings detected" not in txt:
                fail("series samples: %s: epubcheck of the paged EPUB (%s):\n  %s"
                     % (s, describe(p), "\n  ".join(epubcheck_problems(txt)) or txt[-2000:]))
            else:
                ok("series samples: %s: epubcheck of the paged EPUB: no errors or warnings" % s)
            if i == 0:
                check_ace(root, epub, tmp, "series samples: %s (page list)" % s)
        for s in stems:
            pdf = os.path.join(out, s + ".pdf")
            if os.path.isfile(pdf):
                q = run(["qpdf", "--check", pdf], timeout=120)
                if q is None or q.returncode != 0:
                    fail("series samples: qpdf --check %s: %s" % (pdf, describe(q)))
        leftovers = [f for f in os.listdir(out) if f.endswith(".tmp") or ".tmp" in f]
        if leftovers:
            fail("series samples: temporary files left: %s" % leftovers)
        r1 = load_report(rep1, "series samples")
        check_report_fields(r1, "series samples", {s: "rendered" for s in SAMPLES}, out)
        # reported pages agree with the PDFs
        for path, ent in report_by_path(r1).items():
            pdf = os.path.join(out, os.path.splitext(path)[0] + ".pdf")
            q = run(["pdfinfo", pdf], timeout=60)
            m = re.search(r"Pages:\s*(\d+)", q.stdout.decode()) if q and q.returncode == 0 \
                else None
            if not m or int(m.group(1)) != ent.get("pages"):
                fail("series samples: %s reports %r pages, pdfinfo says %s"
                     % (path, ent.get("pages"), m.group(1) if m else None))
        # the catalogue: a valid PDF and an Atom feed with one entry a paper,
        # linking to files that exist
        cat_pdf = os.path.join(out, "catalogue.pdf")
        if os.path.isfile(cat_pdf):
            q = run(["qpdf", "--check", cat_pdf], timeout=120)
            if q is None or q.returncode != 0:
                fail("series samples: qpdf --check catalogue.pdf: %s" % describe(q))
        try:
            import xml.etree.ElementTree as ET
            feed = ET.parse(os.path.join(out, "catalogue.atom")).getroot()
            ns = {"a": "http://www.w3.org/2005/Atom"}
            entries = feed.findall("a:entry", ns)
            if len(entries) != len(SAMPLES):
                fail("series samples: catalogue.atom has %d entries, want %d"
                     % (len(entries), len(SAMPLES)))
            for e in entries:
                hrefs = [l.get("href") for l in e.findall("a:link", ns)]
                if len(hrefs) != 2 or not all(os.path.isfile(os.path.join(out, h)) for h in hrefs):
                    fail("series samples: catalogue entry %r links %r"
                         % (e.findtext("a:title", None, ns), hrefs))
        except (OSError, ET.ParseError) as ex:
            fail("series samples: catalogue.atom: %r" % ex)
        # worker threads share one context: -j 1 and -j 4 give the same bytes
        # (the same output folder both times: the catalogue's ids depend on it)
        out_j1 = os.path.join(tmp, "samples-j1")
        out_j4 = os.path.join(tmp, "samples-j")
        p1 = series(typeset, os.path.join(root, "samples", "series.yaml"), out_j4, "-j", "1")
        if os.path.isdir(out_j4):
            os.rename(out_j4, out_j1)
        p4 = series(typeset, os.path.join(root, "samples", "series.yaml"), out_j4, "-j", "4")
        if p1 is None or p4 is None or p1.returncode or p4.returncode:
            fail("series -j 1 / -j 4: %s / %s" % (describe(p1), describe(p4)))
        else:
            names = sorted(f for f in os.listdir(out_j1) if not f.startswith("."))
            if names != sorted(f for f in os.listdir(out_j4) if not f.startswith(".")):
                fail("series -j 1 and -j 4 write different files")
            diff = [f for f in names if read_bytes(os.path.join(out_j1, f)) !=
                    read_bytes(os.path.join(out_j4, f))]
            # RFC 4287 §4.2.6: an entry's atom:id must not change when the
            # entry is relocated, so the output folder cannot be part of it
            def atom_ids(d):
                x = read_bytes(os.path.join(d, "catalogue.atom")).decode("utf-8", "replace")
                return re.findall(r"<entry>.*?<id>([^<]*)</id>", x, re.S)
            if atom_ids(out) != atom_ids(out_j1):
                fail("series: catalogue.atom entry ids change with the output folder "
                     "(RFC 4287 4.2.6): %s vs %s" % (atom_ids(out)[:2], atom_ids(out_j1)[:2]))
            if diff:
                fail("series: -j 1 and -j 4 give different bytes for %s" % diff)
            else:
                ok("series: -j 1 and -j 4 give byte-identical outputs (%d files)" % len(names))
        if r1 is not None and sorted(report_by_path(r1)) != sorted(SAMPLES):
            fail("series samples: report lists %s" % sorted(report_by_path(r1)))
        before = stamps(out, stems)
        rep2 = os.path.join(tmp, "r2.json")
        p = series(typeset, os.path.join(root, "samples", "series.yaml"), out, "--report", rep2)
        if p is None or p.returncode != 0:
            fail("series samples, second run: %s" % describe(p))
        else:
            err = p.stderr.decode("utf-8", "replace")
            if not re.search(r"\b0 rendered, %d unchanged, 0 failed" % len(SAMPLES), err):
                fail("series samples, second run: summary does not say 0 rendered, %d unchanged:"
                     "\n%s" % (len(SAMPLES), err))
            r2 = load_report(rep2, "series second run")
            check_report_fields(r2, "series second run", {s: "unchanged" for s in SAMPLES}, out)
            if stamps(out, stems) != before:
                fail("series samples, second run: unchanged outputs were rewritten")
            else:
                ok("series samples: second run reports every paper unchanged")

        # -- incremental: style, image and text changes --------------------
        d = os.path.join(tmp, "inc")
        copy_samples(root, d)
        style_src = os.path.join(root, "styles", "paper.yaml")
        shutil.copy(style_src, os.path.join(d, "house.yaml"))
        man = os.path.join(d, "series.yaml")
        write(man, manifest_text(SAMPLES, style="./house.yaml"))
        out = os.path.join(d, "out")

        def statuses(label, *extra, exe=typeset, env=None):
            rp = os.path.join(tmp, "inc-%s.json" % re.sub(r"\W", "_", label))
            q = series(exe, man, out, "--report", rp, *extra, env=env)
            if q is None or q.returncode != 0:
                fail("%s: %s\n%s" % (label, describe(q), q.stderr.decode(errors="replace")
                                     if q else ""))
                return {}
            rep = load_report(rp, label)
            return {k: v.get("status") for k, v in report_by_path(rep).items()}

        def expect_every(label, status, why=None, *extra, **kw):
            """Runs the series; every paper must have `status` (ok(why) then)."""
            got = statuses(label, *extra, **kw)
            if got and set(got.values()) != {status}:
                fail("%s: every paper must be %s: %s" % (label, status, got))
            elif got and why:
                ok("incremental: " + why)

        st = statuses("incremental first run")
        if st and set(st.values()) != {"rendered"}:
            fail("incremental first run: %s" % st)
        st = statuses("incremental second run")
        if st and set(st.values()) != {"unchanged"}:
            fail("incremental second run: %s" % st)
        # the outputs are stamped with SOURCE_DATE_EPOCH: another date is
        # another output; and another build of typeset may make other bytes
        expect_every("another SOURCE_DATE_EPOCH", "rendered",
                     "another SOURCE_DATE_EPOCH re-renders every paper",
                     env={"SOURCE_DATE_EPOCH": "1600000000"})
        expect_every("the first SOURCE_DATE_EPOCH again", "rendered")
        rebuilt = other_build(typeset, os.path.join(tmp, "typeset-other-build"))
        if rebuilt is None:
            fail("incremental: the typeset executable has no GNU build ID to vary")
        else:
            expect_every("another build", "rendered",
                         "another build of typeset re-renders every paper", exe=rebuilt)
            expect_every("the first build again", "rendered")
        with open(os.path.join(d, "house.yaml"), encoding="utf-8") as f:
            house = f.read()
        changed = re.sub(r"(?m)^(body:\n  size: )11pt$", r"\g<1>11.5pt", house, count=1)
        if changed == house:
            fail("styles/paper.yaml no longer starts its body block with 'size: 11pt': update "
                 "the style-change test")
        write(os.path.join(d, "house.yaml"), changed)
        st = statuses("after a style change")
        if st and set(st.values()) != {"rendered"}:
            fail("after a style change every paper must re-render: %s" % st)
        elif st:
            ok("incremental: a style change re-renders every paper")
        st = statuses("after the style change, again")
        if st and set(st.values()) != {"unchanged"}:
            fail("after the style change, again: %s" % st)
        write_bin = os.path.join(d, "images", "grain-corridor-volumes.png")
        with open(write_bin, "wb") as f:
            f.write(png_bytes(40, 30, (200, 40, 40)))
        st = statuses("after an image change")
        want = {s: "unchanged" for s in SAMPLES}
        want["grain-corridors.md"] = "rendered"
        if st and st != want:
            fail("after an image change only grain-corridors.md must re-render: %s" % st)
        elif st:
            ok("incremental: an image change re-renders only the paper that uses it")
        with open(os.path.join(d, "arctic-shipping.md"), "a", encoding="utf-8") as f:
            f.write("\nOne more sentence added by the integration test.\n")
        st = statuses("after a text change")
        want = {s: "unchanged" for s in SAMPLES}
        want["arctic-shipping.md"] = "rendered"
        if st and st != want:
            fail("after a text change only arctic-shipping.md must re-render: %s" % st)
        elif st:
            ok("incremental: a text change re-renders only that paper")
        # the catalogue of that run (three papers unchanged, not rendered)
        # lists what a full run lists, page counts included
        def catalogue_text():
            q = run(["pdftotext", "-enc", "UTF-8", os.path.join(out, "catalogue.pdf"), "-"],
                    timeout=60)
            return q.stdout.decode("utf-8", "replace") if q and q.returncode == 0 else None
        inc_cat = catalogue_text()
        st = statuses("forced after the text change", "--force")
        full_cat = catalogue_text()
        if inc_cat is None or full_cat is None:
            fail("incremental catalogue: pdftotext failed")
        elif inc_cat != full_cat:
            fail("the catalogue of an incremental run differs from a full run's:\n%s\n---\n%s"
                 % (inc_cat, full_cat))
        else:
            ok("incremental: the catalogue lists what a full run lists (pages of unchanged papers too)")
        # a cover image (named in the metadata only, no "![" in the paper):
        # its contents count as well
        cover = os.path.join(d, "images", "cover-test.png")
        with open(cover, "wb") as f:
            f.write(png_bytes(60, 90, (20, 60, 120)))
        ml = os.path.join(d, "multilingual.md")
        with open(ml, encoding="utf-8") as f:
            ml_text = f.read()
        if not ml_text.startswith("---\n") or "![" in ml_text:
            fail("samples/multilingual.md must open with a metadata block and have no image: "
                 "update the cover-image test")
        write(ml, "---\ncover-image: images/cover-test.png\n" + ml_text[4:])
        st = statuses("after adding a cover image")
        want = {s: "unchanged" for s in SAMPLES}
        want["multilingual.md"] = "rendered"
        if st and st != want:
            fail("after adding a cover image only multilingual.md must re-render: %s" % st)
        with open(cover, "wb") as f:
            f.write(png_bytes(60, 90, (120, 20, 20)))
        st = statuses("after a cover image change")
        if st and st != want:
            fail("after a cover image change only multilingual.md must re-render: %s" % st)
        elif st:
            ok("incremental: a cover image change re-renders only the paper that has it")
        st = statuses("with --force", "--force")
        if st and set(st.values()) != {"rendered"}:
            fail("--force must re-render every paper: %s" % st)
        # an output deleted by hand is rendered again
        os.unlink(os.path.join(out, "multilingual.epub"))
        st = statuses("after deleting an output")
        if st and st.get("multilingual.md") != "rendered":
            fail("a deleted output must be rendered again: %s" % st)

        # -- failure isolation ---------------------------------------------
        d = os.path.join(tmp, "iso")
        copy_samples(root, d)
        write(os.path.join(d, "broken.md"),
              "---\ntitle: Broken\nsubtitle: one: two\n---\n\nText.\n")
        man = os.path.join(d, "series.yaml")
        papers = SAMPLES[:2] + ["broken.md"] + SAMPLES[2:]
        write(man, manifest_text(papers))
        out = os.path.join(d, "out")
        rp = os.path.join(tmp, "iso.json")
        n_fail = len(failures)
        p = series(typeset, man, out, "--report", rp, "-j", "2")
        if p is None or p.returncode != 1:
            fail("failure isolation: %s, want exit 1" % describe(p))
        else:
            err = p.stderr.decode("utf-8", "replace")
            if not re.search(r"broken\.md:3:\d+: error:", err):
                fail("failure isolation: stderr does not locate the error in broken.md:3:\n%s"
                     % err)
            if not re.search(r"\b%d rendered, 0 unchanged, 1 failed" % len(SAMPLES), err):
                fail("failure isolation: summary does not say %d rendered, 1 failed:\n%s"
                     % (len(SAMPLES), err))
            tail = err[err.rfind("typeset: series"):] if "typeset: series" in err else err
            if "broken.md" not in tail:
                fail("failure isolation: the summary does not name broken.md:\n%s" % tail)
            missing = [f for f in (s + e for s in stems for e in (".pdf", ".epub"))
                       if not os.path.isfile(os.path.join(out, f))]
            if missing:
                fail("failure isolation: the good papers lack %s" % missing)
            stray = [f for f in os.listdir(out) if f.startswith("broken") or ".tmp" in f]
            if stray:
                fail("failure isolation: files of the failed paper: %s" % stray)
            rep = load_report(rp, "failure isolation")
            check_report_fields(rep, "failure isolation",
                                dict({s: "rendered" for s in SAMPLES}, **{"broken.md": "failed"}),
                                out)
            if len(failures) == n_fail:
                ok("failure isolation: one broken paper fails alone, exit 1")
            # the next run retries the failed paper only
            rp2 = os.path.join(tmp, "iso2.json")
            p = series(typeset, man, out, "--report", rp2)
            rep = load_report(rp2, "failure isolation, second run")
            st = {k: v.get("status") for k, v in report_by_path(rep).items()}
            want = dict({s: "unchanged" for s in SAMPLES}, **{"broken.md": "failed"})
            if p is None or p.returncode != 1 or st != want:
                fail("failure isolation, second run: %s, statuses %s" % (describe(p), st))

        # -- shards: three processes at once -------------------------------
        d = os.path.join(tmp, "shards")
        copy_samples(root, d)
        for k in range(5):
            shutil.copy(os.path.join(d, SAMPLES[k % 4]), os.path.join(d, "extra-%d.md" % k))
        papers = SAMPLES + ["extra-%d.md" % k for k in range(5)]
        man = os.path.join(d, "series.yaml")
        write(man, manifest_text(papers))
        out = os.path.join(d, "out")
        e = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
        procs = []
        for k in (2, 3):
            rp = os.path.join(tmp, "shard%d.json" % k)
            procs.append((k, rp, subprocess.Popen(
                [typeset, "series", man, "--out", out, "--shard", "%d/3" % k, "--report", rp,
                 "-j", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)))
        for k, rp, pr in procs:
            try:
                _, errb = pr.communicate(timeout=600)
            except subprocess.TimeoutExpired:
                pr.kill()
                pr.communicate()
                fail("shard %d/3 timed out" % k)
                continue
            if pr.returncode != 0:
                fail("shard %d/3: exit %d\n%s" % (k, pr.returncode, errb.decode(errors="replace")))
        cat = [f for f in os.listdir(out) if f.startswith("catalogue")] if os.path.isdir(out) \
            else []
        if cat:
            fail("shards 2 and 3 wrote the catalogue: %s" % cat)
        rp1 = os.path.join(tmp, "shard1.json")
        p = series(typeset, man, out, "--shard", "1/3", "--report", rp1)
        if p is None or p.returncode != 0:
            fail("shard 1/3: %s" % describe(p))
        seen = {}
        for k in (1, 2, 3):
            rep = load_report(os.path.join(tmp, "shard%d.json" % k), "shard %d" % k)
            for path, ent in report_by_path(rep).items():
                if ent.get("status") == "other-shard":
                    continue
                seen.setdefault(path, []).append((k, ent.get("status")))
        twice = {p_: v for p_, v in seen.items() if len(v) != 1}
        if twice:
            fail("shards: papers handled by several shards: %s" % twice)
        if sorted(seen) != sorted(papers):
            fail("shards: handled %s, want %s" % (sorted(seen), sorted(papers)))
        if any(v[0][1] != "rendered" for v in seen.values()):
            fail("shards: statuses %s" % seen)
        if not os.path.isfile(os.path.join(out, "catalogue.pdf")):
            fail("shards: shard 1 wrote no catalogue.pdf")
        stems_all = [os.path.splitext(x)[0] for x in papers]
        missing = [f for f in (s + x for s in stems_all for x in (".pdf", ".epub"))
                   if not os.path.isfile(os.path.join(out, f))]
        if missing:
            fail("shards: missing outputs %s" % missing)
        # the shards' state is shared: an unsharded run finds everything done
        rp = os.path.join(tmp, "after-shards.json")
        p = series(typeset, man, out, "--report", rp)
        rep = load_report(rp, "after shards")
        st = {v.get("status") for v in report_by_path(rep).values()}
        if p is None or p.returncode != 0 or st != {"unchanged"}:
            fail("after shards an unsharded run must find every paper unchanged: %s %s"
                 % (describe(p), st))
        else:
            ok("shards: 3 processes rendered %d papers exactly once, catalogue by shard 1"
               % len(papers))

        # -- series of 0 and of 1 paper -------------------------------------
        d = os.path.join(tmp, "zero")
        os.makedirs(d)
        man = os.path.join(d, "series.yaml")
        write(man, manifest_text([]))
        rp = os.path.join(tmp, "zero.json")
        p = series(typeset, man, os.path.join(d, "out"), "--report", rp)
        if p is None or p.returncode != 0:
            fail("series of 0 papers: %s\n%s" % (describe(p), p.stderr.decode(errors="replace")
                                                  if p else ""))
        else:
            rep = load_report(rp, "series of 0")
            if rep is not None and rep.get("papers") != []:
                fail("series of 0 papers: report lists %r" % rep.get("papers"))
            else:
                ok("series of 0 papers")
        d = os.path.join(tmp, "one")
        copy_samples(root, d)
        man = os.path.join(d, "series.yaml")
        write(man, manifest_text(["arctic-shipping.md"]))
        rp = os.path.join(tmp, "one.json")
        out = os.path.join(d, "out")
        p = series(typeset, man, out, "--report", rp)
        if p is None or p.returncode != 0:
            fail("series of 1 paper: %s" % describe(p))
        else:
            rep = load_report(rp, "series of 1")
            check_report_fields(rep, "series of 1", {"arctic-shipping.md": "rendered"}, out)
            made = sorted(f for f in os.listdir(out) if not f.startswith("."))
            want = ["arctic-shipping.epub", "arctic-shipping.pdf", "catalogue.atom",
                    "catalogue.pdf"]
            if made != want:
                fail("series of 1 paper: the output folder holds %s, want %s" % (made, want))
            else:
                ok("series of 1 paper")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# Options and reproducibility.

def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def maybe_bytes(path):
    return read_bytes(path) if os.path.isfile(path) else None


def loaded_objects(ld_debug_err):
    """The shared objects a run initialised, from its LD_DEBUG=files
    output ('calling init: PATH')."""
    objs = []
    for line in ld_debug_err.decode(errors="replace").splitlines():
        m = re.search(r"calling init: (\S+)", line)
        if m:
            objs.append(m.group(1))
    return objs


def check_crypto_standin(typeset, root, tmp):
    """libzip's libcrypto stand-in (meson.build, typeset/epub/nocrypto.c):
    when the build made it, an EPUB run loads it and not the system's
    libcrypto, and makes the same bytes as a run with the system's
    (TYPESET_SYSTEM_LIBCRYPTO=1); when it did not, the system's is loaded."""
    module = os.environ.get("TS_TEST_NOCRYPTO", "")
    src = os.path.join(root, "samples", "grain-corridors.md")
    outs, objs = {}, {}
    for k, extra in (("standin", {}), ("system", {"TYPESET_SYSTEM_LIBCRYPTO": "1"})):
        e = dict(os.environ, LD_DEBUG="files", **extra)
        outs[k] = os.path.join(tmp, "crypto-%s.epub" % k)
        p = run([typeset, src, "-o", outs[k]], env=e)
        if p is None or p.returncode != 0:
            fail("libcrypto stand-in: %s run: %s" % (k, describe(p)))
            return
        objs[k] = loaded_objects(p.stderr)
    system = [o for o in objs["system"] if os.path.basename(o) == "libcrypto.so.3"]
    if not system:
        fail("libcrypto stand-in: TYPESET_SYSTEM_LIBCRYPTO=1 did not load libcrypto.so.3 "
             "(loaded: %s)" % ", ".join(objs["system"]))
    if read_bytes(outs["standin"]) != read_bytes(outs["system"]):
        fail("libcrypto stand-in: the EPUB differs from the one made with the system's "
             "libcrypto")
    if not module:
        if not any(os.path.basename(o) == "libcrypto.so.3" for o in objs["standin"]):
            fail("libcrypto stand-in: not built, yet the system's libcrypto was not loaded")
        else:
            ok("libcrypto stand-in: not built for this libzip; the system's libcrypto is used")
        return
    crypto = [o for o in objs["standin"] if "crypto" in os.path.basename(o)]
    if crypto != [module] and not (len(crypto) == 1 and
                                   os.path.basename(crypto[0]) == os.path.basename(module)):
        fail("libcrypto stand-in: an EPUB run loaded %s, expected only %s"
             % (crypto or "nothing", module))
    else:
        ok("libcrypto stand-in: an EPUB run loads %s instead of the system's libcrypto, "
           "same bytes" % os.path.basename(crypto[0]))


def check_glib_standin(typeset, root, tmp):
    """HarfBuzz's GLib stand-in (meson.build, typeset/fonts/noglib.c,
    opened by typeset/fonts/hb_api.c before HarfBuzz): when the build made
    it, a run loads it and neither the system's GLib nor its PCRE2, and
    makes the same bytes as a run told to use the system's GLib
    (TYPESET_SYSTEM_GLIB=1): the multilingual sample to PDF and EPUB with
    the cache folder off, so that every face is shaped, measured and subset
    (Arabic, Hebrew, Devanagari, CJK); when it did not, the system's GLib is
    loaded."""
    module = os.environ.get("TS_TEST_NOGLIB", "")
    src = os.path.join(root, "samples", "multilingual.md")
    outs, objs, sysdir = {}, {}, ""
    for k in ("standin", "system"):
        # (meson test sets LD_LIBRARY_PATH to the build's library folders,
        # which would find the stand-in before the run path does)
        extra = {"LD_DEBUG": "files", "TYPESET_CACHE_DIR": "off", "LD_LIBRARY_PATH": None}
        if k == "system":
            hb = [o for o in objs["standin"] if os.path.basename(o).startswith("libharfbuzz.so")]
            if not hb:
                fail("GLib stand-in: the first run loaded no HarfBuzz (loaded: %s)"
                     % ", ".join(objs["standin"]))
                return
            sysdir = os.path.dirname(hb[0])
            extra["TYPESET_SYSTEM_GLIB"] = "1"
        outs[k] = [os.path.join(tmp, "glib-%s.%s" % (k, x)) for x in ("pdf", "epub")]
        p = run([typeset, src, "-q", "-o", outs[k][0], "-o", outs[k][1]],
                env=extra)
        if p is None or p.returncode != 0:
            fail("GLib stand-in: %s run: %s\n%s" % (k, describe(p),
                 p.stderr.decode(errors="replace")[-2000:] if p else ""))
            return
        objs[k] = loaded_objects(p.stderr)
    glib = {k: [o for o in objs[k] if os.path.basename(o).startswith("libglib-2.0.so")]
            for k in objs}
    pcre = [o for o in objs["standin"] if "pcre" in os.path.basename(o)]
    if len(glib["system"]) != 1 or os.path.dirname(glib["system"][0]) != sysdir:
        fail("GLib stand-in: told to use the system's GLib (in %s), a run loaded %s"
             % (sysdir, glib["system"] or "no GLib"))
        return
    for i in range(2):
        if read_bytes(outs["standin"][i]) != read_bytes(outs["system"][i]):
            fail("GLib stand-in: the %s differs from the one made with the system's GLib"
                 % ("PDF", "EPUB")[i])
            return
    if not module:
        if glib["standin"] != glib["system"]:
            fail("GLib stand-in: not built, yet the system's GLib was not loaded (%s)"
                 % glib["standin"])
        else:
            ok("GLib stand-in: not built for this HarfBuzz; the system's GLib is used")
        return
    if [os.path.realpath(o) for o in glib["standin"]] != [os.path.realpath(module)] or pcre:
        fail("GLib stand-in: a run loaded %s%s, expected only %s"
             % (glib["standin"] or "no GLib", " and " + ", ".join(pcre) if pcre else "", module))
    else:
        ok("GLib stand-in: a run loads %s instead of the system's GLib (and no PCRE2), "
           "the same PDF and EPUB bytes" % module)


def check_lazy_libraries(typeset, root, tmp):
    """libharu, HarfBuzz, harfbuzz-subset and FreeType are opened on first
    use (typeset/core/lib.c): an EPUB whose faces, subsets and cover the
    cache folder holds loads none of them (nor the libraries they bring:
    graphite2, libpng, Brotli), a PDF loads libharu, HarfBuzz and FreeType;
    when one cannot be loaded, the run that needs it fails with a located
    error and writes nothing, and a run that does not need it succeeds."""
    src = os.path.join(root, "samples", "grain-corridors.md")
    cache = os.path.join(tmp, "lazy-cache")
    epub, pdf = os.path.join(tmp, "lazy.epub"), os.path.join(tmp, "lazy.pdf")
    base = {"TYPESET_CACHE_DIR": cache, "LD_LIBRARY_PATH": None}
    loaded = {}
    for k, outs in (("first", [epub]), ("epub", [epub]), ("pdf", [pdf])):
        p = run([typeset, src, "-q"] + [a for o in outs for a in ("-o", o)],
                env=dict(base, LD_DEBUG="files"))
        if p is None or p.returncode != 0:
            fail("lazy libraries: %s run: %s" % (k, describe(p)))
            return
        loaded[k] = [os.path.basename(o) for o in loaded_objects(p.stderr)]
    has = lambda k, lib: any(o.startswith(lib) for o in loaded[k])
    # FreeType too when fontconfig is linked from its archive (the release
    # build); a shared fontconfig (sanitizer builds) loads it at start-up
    ft_lazy = not has("epub", "libfontconfig")
    lazy = ("libhpdf", "libharfbuzz-subset", "libharfbuzz.so", "libgraphite2") + \
        (("libfreetype", "libpng", "libbrotli") if ft_lazy else ())
    if any(has("epub", lib) for lib in lazy):
        fail("lazy libraries: an EPUB from the caches loaded %s" % loaded["epub"])
        return
    want = {"first": ("libharfbuzz-subset", "libharfbuzz.so", "libfreetype"),
            "pdf": ("libhpdf", "libharfbuzz.so", "libfreetype")}
    if not all(has(k, lib) for k in want for lib in want[k]):
        fail("lazy libraries: the first EPUB (faces read, subsets made) or the PDF did not "
             "load HarfBuzz / harfbuzz-subset / FreeType / libharu: %s / %s"
             % (loaded["first"], loaded["pdf"]))
        return
    # an unloadable stand-in of one library at a time, found first through
    # LD_LIBRARY_PATH
    cases = (("PDF", pdf, {}, "libhpdf-2.3.0.so"),
             ("EPUB with no cache", epub, {"TYPESET_CACHE_DIR": "off"}, "libharfbuzz-subset.so.0"),
             ("PDF", pdf, {}, "libharfbuzz.so.0"),
             ("EPUB with no cache", epub, {"TYPESET_CACHE_DIR": "off"}, "libharfbuzz.so.0"),
             ("PDF", pdf, {}, "libfreetype.so.6"),
             ("EPUB with no cache", epub, {"TYPESET_CACHE_DIR": "off"}, "libfreetype.so.6"))
    if not ft_lazy:
        cases = cases[:-2]
    for i, (label, out, extra, lib) in enumerate(cases):
        bad = os.path.join(tmp, "badlibs%d" % i)
        os.makedirs(bad)
        write(os.path.join(bad, lib), "not a library\n")
        if os.path.exists(out):
            os.remove(out)
        p = run([typeset, src, "-o", out], env=dict(base, LD_LIBRARY_PATH=bad, **extra))
        err = p.stderr.decode(errors="replace") if p else ""
        if p is None or p.returncode != 1 or os.path.exists(out) or \
                not re.search(r"error: cannot load %s" % re.escape(lib), err):
            fail("lazy libraries: %s with %s unloadable: %s, output %s\n%s"
                 % (label, lib, describe(p), "left" if os.path.exists(out) else "none", err))
            return
    bad = os.path.join(tmp, "badlibs")
    os.makedirs(bad)
    for lib in ("libhpdf-2.3.0.so", "libharfbuzz-subset.so.0", "libharfbuzz.so.0") + \
            (("libfreetype.so.6",) if ft_lazy else ()):
        write(os.path.join(bad, lib), "not a library\n")
    p = run([typeset, src, "-q", "-o", epub], env=dict(base, LD_LIBRARY_PATH=bad))
    if p is None or p.returncode != 0:
        fail("lazy libraries: an EPUB from the caches failed with the libraries unloadable: %s"
             % describe(p))
        return
    ok("lazy libraries: an EPUB from the caches loads none of libharu, HarfBuzz, "
       "harfbuzz-subset%s; a run that needs one it cannot load fails with a located error "
       "and no output" % (" and FreeType" if ft_lazy else " (FreeType comes with the shared "
                                                          "fontconfig of this build)"))


def check_installed(typeset, root, tmp):
    """`meson install` puts the styles and fonts/fallbacks.yaml under
    DATADIR/typeset, and the installed executable reads them there, found
    relative to itself (typeset/core/ctx.c), not in the source tree it was
    built from: with the installed copy of the paper style changed to A5, a
    paper set in the paper style by the installed executable comes out A5;
    $TYPESET_DATA_DIR still chooses another folder (the source's: A4)."""
    build = os.environ.get("TS_TEST_BUILD_ROOT", "")
    meson = shutil.which("meson")
    if not build or not meson:
        fail("installed layout: no build folder (TS_TEST_BUILD_ROOT) or no meson to install with")
        return
    p = run([meson, "introspect", "--installed", build])
    if p is None or p.returncode != 0:
        fail("installed layout: meson introspect: %s" % describe(p))
        return
    installed = json.loads(p.stdout.decode())
    exe = installed.get(os.path.realpath(typeset))
    styles = installed.get(os.path.join(os.path.realpath(root), "styles"))
    if not exe or not styles:
        fail("installed layout: meson installs no executable or no styles: %s" % installed)
        return
    dest = os.path.join(tmp, "destdir")
    p = run([meson, "install", "-C", build, "--no-rebuild", "--destdir", dest, "--quiet"])
    if p is None or p.returncode != 0:
        fail("installed layout: meson install: %s\n%s" % (describe(p), p.stderr.decode(errors="replace") if p else ""))
        return
    exe, styles = dest + exe, dest + styles
    paper = os.path.join(styles, "paper.yaml")
    fallbacks = os.path.join(os.path.dirname(styles), "fonts", "fallbacks.yaml")
    if not os.path.isfile(paper) or not os.path.isfile(fallbacks):
        fail("installed layout: %s or %s not installed" % (paper, fallbacks))
        return
    text = open(paper, encoding="utf-8").read()
    a5 = re.sub(r"(?m)^(page:\n(?:  .*\n)*?  size:) A4$", r"\1 A5", text)
    if a5 == text:
        fail("installed layout: the paper style's page size (A4) not found to change")
        return
    write(paper, a5)
    work = os.path.join(tmp, "installed-work")
    os.makedirs(work)
    shutil.copy(os.path.join(root, "samples", "shared-rivers.md"), work)
    sizes = {}
    for label, env in (("installed", {"TYPESET_DATA_DIR": None, "LD_DEBUG": "files",
                                      "LD_LIBRARY_PATH": None}),
                       ("env", {"TYPESET_DATA_DIR": root})):
        out = os.path.join(work, label + ".pdf")
        p = run([exe, "shared-rivers.md", "--style", "paper", "-q", "-o", out],
                env=env, cwd=work)
        if p is None or p.returncode != 0:
            fail("installed layout: %s run: %s\n%s" % (label, describe(p), p.stderr.decode(errors="replace") if p else ""))
            return
        if label == "installed" and os.environ.get("TS_TEST_NOGLIB", ""):
            # the GLib stand-in, found relative to the installed executable
            glib = [o for o in loaded_objects(p.stderr)
                    if os.path.basename(o).startswith("libglib-2.0.so")]
            if len(glib) != 1 or not os.path.realpath(glib[0]).startswith(os.path.realpath(dest)):
                fail("installed layout: the installed executable loaded %s, not the "
                     "installed GLib stand-in" % (glib or "no GLib"))
                return
        q = run(["pdfinfo", out])
        sizes[label] = pdfinfo_fields(q.stdout.decode()).get("Page size", "") if q else ""
    def is_size(text, w, h):
        m = re.match(r"([\d.]+) x ([\d.]+) pts", text)
        return bool(m) and abs(float(m.group(1)) - w) < 1 and abs(float(m.group(2)) - h) < 1
    if not is_size(sizes["installed"], 419.5, 595.3) or not is_size(sizes["env"], 595.3, 841.9):
        fail("installed layout: page sizes %s, expected A5 from the installed style and A4 "
             "from TYPESET_DATA_DIR's" % sizes)
    else:
        ok("installed layout: the installed executable reads its installed styles (A5), "
           "TYPESET_DATA_DIR another folder's (A4)")


def check_options(typeset, root):
    """--style by name and by path; reproducible bytes whatever the folder,
    the clock, the order of -o and the way the input path is spelled."""
    name = "arctic-shipping.md"
    tmp = tempfile.mkdtemp(prefix="typeset-opt-")
    try:
        def render(src, outs, env=None, cwd=None, extra=()):
            p = run([typeset, src] + [a for o in outs for a in ("-o", o)] + list(extra),
                    env=env, cwd=cwd)
            if p is None or p.returncode != 0:
                fail("render %s -> %s %s: %s\n%s" % (src, outs, list(extra), describe(p),
                                                    p.stderr.decode(errors="replace") if p else ""))
                return False
            return True

        check_crypto_standin(typeset, root, tmp)
        check_glib_standin(typeset, root, tmp)
        check_lazy_libraries(typeset, root, tmp)
        check_installed(typeset, root, tmp)
        # the same paper in two different folders (build-path variation)
        dirs = []
        for k in ("a", "deeper/folder/b"):
            d = os.path.join(tmp, k)
            os.makedirs(d)
            shutil.copy(os.path.join(root, "samples", name), d)
            shutil.copytree(os.path.join(root, "samples", "images"), os.path.join(d, "images"))
            dirs.append(d)
        outs = []
        for d in dirs:
            o = [os.path.join(d, "paper.pdf"), os.path.join(d, "paper.epub")]
            if not render(os.path.join(d, name), o):
                return
            outs.append(o)
        for a, b in zip(outs[0], outs[1]):
            if read_bytes(a) != read_bytes(b):
                fail("options: %s differs when the paper lives in another folder"
                     % os.path.basename(a))
        # relative input path from another working directory, -o in the other order
        rel = [os.path.join(tmp, "rel.epub"), os.path.join(tmp, "rel.pdf")]
        if render(os.path.join("folder", "b", name), rel, cwd=os.path.join(tmp, "deeper")):
            if read_bytes(rel[1]) != read_bytes(outs[0][0]) or \
                    read_bytes(rel[0]) != read_bytes(outs[0][1]):
                fail("options: a relative input path or another order of -o changes the outputs")
        # the paper style's print page numbers: an EPUB made alone (the layout
        # run for it) is the EPUB made beside the PDF, and its markers match
        # that PDF's pages
        paged = [os.path.join(tmp, "paged.pdf"), os.path.join(tmp, "paged.epub")]
        alone = os.path.join(tmp, "alone.epub")
        src0 = os.path.join(dirs[0], name)
        if render(src0, paged, extra=("--style", "paper")) and \
                render(src0, [alone], extra=("--style", "paper")):
            if read_bytes(alone) != read_bytes(paged[1]):
                fail("options: the paper style's EPUB made alone differs from the one made "
                     "with its PDF")
            probs = page_list_problems(paged[0], alone)
            for e in probs:
                fail("options: --style paper EPUB alone: print page numbers: %s" % e)
            if not probs:
                ok("options: an EPUB made alone carries the PDF's page numbers, the same bytes "
                   "as beside the PDF")
        # no SOURCE_DATE_EPOCH: the clock is never read, so two runs a second
        # apart still agree
        noepoch = []
        for k in (1, 2):
            o = [os.path.join(tmp, "ne%d.pdf" % k), os.path.join(tmp, "ne%d.epub" % k)]
            e = dict(os.environ)
            e.pop("SOURCE_DATE_EPOCH", None)
            pr = subprocess.run([typeset, os.path.join(dirs[0], name), "-o", o[0], "-o", o[1]],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                                timeout=TIMEOUT)
            if pr.returncode != 0:
                fail("options: render without SOURCE_DATE_EPOCH: exit %d" % pr.returncode)
                return
            noepoch.append(o)
            if k == 1:
                time.sleep(1.2)
        for a, b in zip(noepoch[0], noepoch[1]):
            if read_bytes(a) != read_bytes(b):
                fail("options: without SOURCE_DATE_EPOCH two runs differ in %s (the clock was "
                     "read?)" % os.path.basename(a))
        # SOURCE_DATE_EPOCH does reach the outputs: another epoch, another PDF date
        o = [os.path.join(tmp, "epoch2.pdf")]
        if render(os.path.join(dirs[0], name), o, env={"SOURCE_DATE_EPOCH": "1600000000"}):
            info = run(["pdfinfo", o[0]])
            base = run(["pdfinfo", outs[0][0]])
            if info and base:
                ci = re.search(r"CreationDate:\s*(.*)", info.stdout.decode())
                cb = re.search(r"CreationDate:\s*(.*)", base.stdout.decode())
                if ci and cb and ci.group(1) == cb.group(1):
                    fail("options: SOURCE_DATE_EPOCH 1600000000 and 1540000000 give the same "
                         "CreationDate %s" % ci.group(1))
                if ci and "2020" not in ci.group(1):
                    fail("options: SOURCE_DATE_EPOCH 1600000000 (2020-09-13) gives CreationDate "
                         "%s" % ci.group(1))
        # --style by name and by path
        by_name = [os.path.join(tmp, "book-name.pdf"), os.path.join(tmp, "book-name.epub")]
        by_path = [os.path.join(tmp, "book-path.pdf"), os.path.join(tmp, "book-path.epub")]
        if render(os.path.join(dirs[0], name), by_name, extra=("--style", "book")) and \
                render(os.path.join(dirs[0], name), by_path,
                       extra=("--style", os.path.join(root, "styles", "book.yaml"))):
            for a, b in zip(by_name, by_path):
                if read_bytes(a) != read_bytes(b):
                    fail("options: --style book and --style styles/book.yaml differ in %s"
                         % os.path.basename(a))
            info = run(["pdfinfo", by_name[0]])
            m = re.search(r"Page size:\s*([\d.]+) x ([\d.]+) pts", info.stdout.decode()) \
                if info else None
            if not m or abs(float(m.group(1)) - 432) > 0.5 or abs(float(m.group(2)) - 648) > 0.5:
                fail("options: --style book (6x9in) gives page size %s, want 432 x 648 pts"
                     % (m.group(0) if m else None))
            if read_bytes(by_name[0]) == read_bytes(outs[0][0]):
                fail("options: --style book changes nothing in the PDF")
            # the book style's EPUB has endnotes, not footnotes: Ace too
            check_ace(root, by_name[1], tmp, "options: --style book EPUB")
            # its page numbers: the printed contents page (no body text of its
            # own) goes with the first chapter's page, every other page at its text
            probs = page_list_problems(by_name[0], by_name[1], grouped_ok=1)
            for e in probs:
                fail("options: --style book EPUB: print page numbers: %s" % e)
            if not probs:
                ok("options: --style book EPUB: page markers and page list match the PDF's pages")
        # a book of ~80 pages with a two-page printed contents (whose entries
        # repeat the headings' words: they once took the headings' places)
        book = os.path.join(tmp, "book.md")
        g = run([sys.executable, os.path.join(root, "bench", "gen_book.py"), "--pages", "60",
                 "-o", book])
        bk = [os.path.join(tmp, "book.pdf"), os.path.join(tmp, "book.epub")]
        if g is None or g.returncode != 0:
            fail("options: gen_book.py: %s" % describe(g))
        elif render(book, bk, extra=("--style", "book")):
            probs = page_list_problems(bk[0], bk[1], grouped_ok=2)
            for e in probs[:5]:
                fail("options: a 60-page book's print page numbers: %s" % e)
            if not probs:
                ok("options: a 60-page book's EPUB marks every page at its PDF page's text "
                   "(the contents pages with the first chapter's)")
        # processes writing the same outputs at once: each output ends up
        # whole (one of the renders), no temporary file stays.  Four renders
        # that all differ (two papers, two styles), started together, so a
        # file mixed from two of them matches none
        race = os.path.join(tmp, "race")
        os.mkdir(race)
        e = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
        variants = [(os.path.join(dirs[0], name), style) for style in ([], ["--style", "book"])]
        rivers = os.path.join(tmp, "rivers.md")
        shutil.copy(os.path.join(root, "samples", "shared-rivers.md"), rivers)
        variants += [(rivers, []), (rivers, ["--style", "book"])]
        expected = []
        for k, (src, style) in enumerate(variants):
            alone = [os.path.join(tmp, "race-alone-%d.pdf" % k),
                     os.path.join(tmp, "race-alone-%d.epub" % k)]
            render(src, alone, extra=style)
            expected.append([maybe_bytes(a) for a in alone])
        for i in range(2):
            kinds = [x[i] for x in expected]
            if None in kinds or len(set(kinds)) != len(kinds):
                fail("options: the four renders for the race are not four different files")
        procs = [subprocess.Popen([typeset, src, "-q", "-o", os.path.join(race, "same.pdf"),
                                   "-o", os.path.join(race, "same.epub")] + style,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
                 for src, style in variants]
        for pr in procs:
            pr.communicate(timeout=TIMEOUT)
            if pr.returncode != 0:
                fail("options: concurrent render exit %d" % pr.returncode)
        if sorted(os.listdir(race)) != ["same.epub", "same.pdf"]:
            fail("options: concurrent renders left %s" % sorted(os.listdir(race)))
        else:
            for i, ext in enumerate(("pdf", "epub")):
                got = read_bytes(os.path.join(race, "same." + ext))
                if got not in [x[i] for x in expected]:
                    fail("options: concurrent renders of one output left a %s that is none of "
                         "the four renders" % ext.upper())
        if not failures:
            ok("options: reproducible across folders, cwd, -o order and time; --style "
               "by name = by path; book style is 6x9in")

        # what one build keeps in the cache folder (font subsets, faces, the
        # hyphenation automaton) another build never takes: it makes and
        # keeps its own, and both builds make the same bytes
        cache = os.path.join(tmp, "shared-cache")
        os.makedirs(cache)
        src = os.path.join(root, "samples", name)
        other = other_build(typeset, os.path.join(tmp, "typeset-other-build"))
        if other is None:
            fail("options: the typeset executable has no GNU build ID to vary")
        else:
            env = {"TYPESET_CACHE_DIR": cache}
            o1, o2 = os.path.join(tmp, "c1"), os.path.join(tmp, "c2")
            render(src, [o1 + ".pdf", o1 + ".epub"], env=env)
            first = {f: os.stat(os.path.join(cache, f)).st_ino for f in os.listdir(cache)}
            p = run([other, src, "-o", o2 + ".pdf", "-o", o2 + ".epub"], env=env)
            if p is None or p.returncode != 0:
                fail("options: the other build: %s" % describe(p))
            after = {f: os.stat(os.path.join(cache, f)).st_ino for f in os.listdir(cache)}
            kinds = ("pdffont-", "epubfont-", "face-", "hyph-")
            taken = [f for f in first if f.startswith(kinds) and after.get(f) == first[f]
                     and f.startswith("hyph-")]
            new = {k: sum(1 for f in after if f.startswith(k) and f not in first) for k in kinds}
            hyph = [f for f in first if f.startswith("hyph-")]
            if not hyph or any(new[k] == 0 for k in ("pdffont-", "epubfont-", "face-")) or taken:
                fail("options: another build took this build's cache files: new %s, "
                     "hyphenation file kept %s (files %s)" % (new, taken, sorted(first)))
            elif maybe_bytes(o1 + ".pdf") != maybe_bytes(o2 + ".pdf") or \
                    maybe_bytes(o1 + ".epub") != maybe_bytes(o2 + ".epub"):
                fail("options: two builds of the same code made different bytes")
            else:
                ok("options: another build makes its own cache files (%s; %d hyphenation "
                   "file(s) rewritten) and the same bytes"
                   % (", ".join("%s %d" % (k.rstrip("-"), new[k]) for k in kinds[:3]), len(hyph)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    typeset, root, what = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
    if not os.access(typeset, os.X_OK):
        print("FAIL: %s is not executable" % typeset)
        return 1
    self_test()
    if what == "sample":
        for name in sys.argv[4:]:
            check_sample(typeset, root, name)
    elif what == "series":
        check_series(typeset, root)
    elif what == "options":
        check_options(typeset, root)
    elif what == "selftest":
        pass
    else:
        print(__doc__)
        return 2
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
