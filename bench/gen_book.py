#!/usr/bin/env python3
"""gen_book.py -- a long Markdown book made from the sample papers' text.

    python3 bench/gen_book.py --pages 200 -o /tmp/book-200.md

The book is a benchmark input, not literature: the body blocks of the
sample papers in samples/ (paragraphs, block quotes, bullet and numbered
lists, pipe tables, with their footnotes) are dealt out under chapter (#)
and section (##) headings in a permuted order until the book holds about
PAGES x WORDS_PER_PAGE words.  Each reuse of a paragraph rotates its
sentences, so the line breaker sees different paragraphs, not the same
few hundred again.  Footnote labels are renamed so that every use of a note
is its own note; its definition follows the chapter.

Deterministic: the same samples and arguments give the same bytes (a
fixed linear congruential generator, no clock, no random module).

Only blocks whose letters are Latin are used (Greek, Cyrillic, Arabic,
Hebrew, Devanagari and CJK blocks of the multilingual sample are left
out), so that every peer in bench.py (groff, xelatex with its default
fonts) can set the same text.  Figures are left out (groff -ms cannot
place a PNG).
"""
import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, '..', 'samples')
SAMPLE_FILES = ['not-to-disappear-one-by-one.md', 'grain-corridors.md',
                'arctic-shipping.md', 'multilingual.md']

# Words per page of the bench style (bench/bench-book.yaml: A4, 11/13.6 pt,
# a 360 pt measure -- the text block of LaTeX's article class at 11 pt),
# measured on typeset's output with headings, notes and chapter breaks.
WORDS_PER_PAGE = 430


class Lcg:
    """Knuth's MMIX LCG; deterministic across Python versions."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) \
            & 0xFFFFFFFFFFFFFFFF
        return self.s >> 33

    def below(self, n):
        return self.next() % n

    def shuffle(self, xs):
        for i in range(len(xs) - 1, 0, -1):
            j = self.below(i + 1)
            xs[i], xs[j] = xs[j], xs[i]


def latin_only(text):
    for ch in text:
        o = ord(ch)
        if 0x0370 <= o <= 0x1FFF or o >= 0x2E80:
            return False
    return True


def split_front_matter(src):
    if src.startswith('---\n'):
        end = src.find('\n---\n', 4)
        if end >= 0:
            return src[4:end], src[end + 5:]
    return '', src


def read_blocks(path):
    """Returns (blocks, notes): blocks as (kind, text); notes label -> text."""
    with open(path, encoding='utf-8') as f:
        _, body = split_front_matter(f.read())
    blocks, notes = [], {}
    for raw in re.split(r'\n\s*\n', body):
        b = raw.strip('\n')
        if not b.strip():
            continue
        m = re.match(r'\[\^([^\]]+)\]:\s*(.*)', b, re.S)
        if m:
            notes[m.group(1)] = ' '.join(m.group(2).split())
            continue
        if b.startswith('#'):
            blocks.append(('heading', b.lstrip('#').strip()))
        elif b.startswith('|'):
            blocks.append(('table', b))
        elif b.startswith('>'):
            blocks.append(('quote', b))
        elif b.startswith('!['):
            continue                                   # figure: left out
        elif b.startswith(':::'):
            continue                                   # a fenced div's marker
        elif re.match(r'(- |\d+\. )', b):
            blocks.append(('list', b))
        elif b.startswith('    ') or b.startswith('```'):
            blocks.append(('code', b))
        else:
            blocks.append(('para', ' '.join(b.split())))
    # A list split by a blank line (a "loose" continuation such as
    # "4. Border procedures" after a paragraph) stays as its own list.
    return blocks, notes


SENT = re.compile(r'(?<=[.?!])\s+(?=[A-Z“"])')


def rotate_sentences(text, k):
    parts = SENT.split(text)
    if len(parts) < 2 or k % len(parts) == 0:
        return text
    k %= len(parts)
    return ' '.join(parts[k:] + parts[:k])


def build(pages, words_per_page, seed):
    pool, headings = [], []
    for si, name in enumerate(SAMPLE_FILES):
        blocks, notes = read_blocks(os.path.join(SAMPLES, name))
        for kind, text in blocks:
            if not latin_only(text):
                continue
            if kind == 'heading':
                headings.append(text)
                continue
            labels = re.findall(r'\[\^([^\]]+)\]', text)
            ok = all(l in notes and latin_only(notes[l]) for l in labels)
            if not ok:
                continue
            pool.append((kind, text, {l: notes[l] for l in labels}, si))
    if not pool or not headings:
        sys.exit('gen_book: no usable blocks in samples/')

    rng = Lcg(seed)
    target = pages * words_per_page
    out = []
    out.append('---\n'
               'title: "Corridors, Codes and Scripts: A Valdai Reader"\n'
               'subtitle: A benchmark book made from the sample papers\n'
               'author: Valdai Papers authors\n'
               'date: 2018-12-01\n'
               'lang: en\n'
               'publisher: Valdai Discussion Club\n'
               '---\n')
    words, chapter, note_no, uses = 0, 0, 0, {}
    order = list(range(len(pool)))
    cursor = len(order)
    while words < target:
        chapter += 1
        title = headings[rng.below(len(headings))]
        out.append('\n# Chapter %d. %s\n' % (chapter, title))
        chapter_notes = []
        for section in range(4 + rng.below(3)):
            out.append('\n## %d.%d %s\n' % (chapter, section + 1,
                                             headings[rng.below(len(headings))]))
            for _ in range(7 + rng.below(6)):
                if cursor == len(order):
                    rng.shuffle(order)
                    cursor = 0
                idx = order[cursor]
                cursor += 1
                kind, text, notes, _ = pool[idx]
                k = uses.get(idx, 0)
                uses[idx] = k + 1
                if kind == 'para':
                    text = rotate_sentences(text, k)
                for label in notes:
                    note_no += 1
                    new = 'n%d' % note_no
                    text = text.replace('[^%s]' % label, '[^%s]' % new, 1)
                    chapter_notes.append((new, notes[label]))
                out.append('\n' + text + '\n')
                words += len(text.split())
                if words >= target:
                    break
            if words >= target:
                break
        for label, note in chapter_notes:
            out.append('\n[^%s]: %s\n' % (label, note))
            words += len(note.split())
    return ''.join(out), chapter, words


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--pages', type=int, default=200)
    ap.add_argument('--words-per-page', type=int, default=WORDS_PER_PAGE)
    ap.add_argument('--seed', type=int, default=89)
    ap.add_argument('-o', '--output', required=True)
    a = ap.parse_args()
    text, chapters, words = build(a.pages, a.words_per_page, a.seed)
    with open(a.output, 'w', encoding='utf-8') as f:
        f.write(text)
    print('%s: %d chapters, %d words' % (a.output, chapters, words))


if __name__ == '__main__':
    main()
