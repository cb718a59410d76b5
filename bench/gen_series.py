#!/usr/bin/env python3
"""gen_series.py -- an N-paper series made from the sample papers.

    python3 bench/gen_series.py -n 50 -o /tmp/series-50
    python3 bench/gen_series.py -n 50 --two-page -o /tmp/series-50x2

Writes DIR/paper-001.md ... DIR/paper-NNN.md, DIR/images/ (the samples'
images, which the grain-corridors paper uses) and DIR/series.yaml, a
manifest in the same format as samples/series.yaml (output: out,
formats: [pdf, epub]).  Paper k is sample k mod 4 (with --two-page: the
two-page sample, shared-rivers.md, every time) with its own title
(the sample's title, then a subject and a part number drawn in turn from
fixed lists), series number 100 + k, a date spread over the years, and
one sentence about its number added to the first paragraph, so that no
two papers have the same bytes.

Deterministic: the same samples and N give the same files.
"""
import argparse
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, '..', 'samples')
SAMPLE_FILES = ['not-to-disappear-one-by-one.md', 'grain-corridors.md',
                'arctic-shipping.md', 'multilingual.md']
# the sample that sets two pages in the paper style (issue 6's "50 two-page
# papers")
TWO_PAGE_FILES = ['shared-rivers.md']
SUBJECTS = ['Eurasia', 'the Pacific', 'the Baltic', 'the Black Sea',
            'Central Asia', 'the Arctic', 'the Caspian', 'South Asia',
            'the Middle East', 'Africa', 'Latin America']


def paper_text(k, files=SAMPLE_FILES):
    """Paper k (1-based) as Markdown, made from files[(k - 1) % len(files)]."""
    name = files[(k - 1) % len(files)]
    with open(os.path.join(SAMPLES, name), encoding='utf-8') as f:
        src = f.read()
    if not src.startswith('---\n'):
        sys.exit('gen_series: %s has no metadata block' % name)
    end = src.index('\n---\n', 4)
    meta, body = src[4:end], src[end + 5:]
    number = 100 + k

    m = re.search(r'^title:\s*(.*)$', meta, re.M)
    if not m:
        sys.exit('gen_series: %s has no title' % name)
    old = m.group(1).strip()
    if old[:1] in '"\'':
        old = old[1:-1]
    title = '%s: %s, Part %d' % (old.split(':')[0], SUBJECTS[k % len(SUBJECTS)],
                                 (k - 1) // len(files) + 1)
    meta = meta[:m.start()] + 'title: "%s"' % title.replace('"', '\\"') \
        + meta[m.end():]
    meta = re.sub(r'^short-title:.*$', 'short-title: "Valdai Paper %d"' % number,
                  meta, flags=re.M)
    meta = re.sub(r'^(\s+number:\s*).*$', r'\g<1>"%d"' % number, meta,
                  count=1, flags=re.M)
    meta = re.sub(r'^date:.*$', 'date: %04d-%02d-%02d'
                  % (2018 + k % 7, 1 + k % 12, 1 + k % 28), meta, flags=re.M)

    # One sentence naming the paper's number, at the end of the first paragraph.
    paras = body.split('\n\n')
    for i, p in enumerate(paras):
        s = p.strip()
        if s and not s.startswith(('#', '|', '>', '-', '!', '[^')) \
                and not re.match(r'\d+\.', s):
            paras[i] = p.rstrip('\n') + \
                ' This is paper %d of the benchmark series.' % number
            break
    return '---\n' + meta + '\n---\n' + '\n\n'.join(paras)


def write_series(n, out_dir, files=SAMPLE_FILES):
    os.makedirs(out_dir, exist_ok=True)
    img_src = os.path.join(SAMPLES, 'images')
    img_dst = os.path.join(out_dir, 'images')
    if os.path.isdir(img_src):
        os.makedirs(img_dst, exist_ok=True)
        for f in sorted(os.listdir(img_src)):
            if f.endswith(('.png', '.jpg', '.jpeg')):
                shutil.copyfile(os.path.join(img_src, f), os.path.join(img_dst, f))
    entries = []
    for k in range(1, n + 1):
        path = 'paper-%03d.md' % k
        with open(os.path.join(out_dir, path), 'w', encoding='utf-8') as f:
            f.write(paper_text(k, files))
        entries.append('  - path: %s\n    number: "%d"\n' % (path, 100 + k))
    with open(os.path.join(out_dir, 'series.yaml'), 'w', encoding='utf-8') as f:
        f.write('# Benchmark series of %d papers made by bench/gen_series.py from\n'
                '# the sample papers (paths relative to this file).\n'
                'series:\n'
                '  name: Valdai Papers\n'
                '  publisher: Valdai Discussion Club\n'
                '  issn: "2311-1623"\n'
                '  url: https://valdaiclub.com/a/valdai-papers/\n'
                '  style: paper\n'
                '  note: |\n'
                '    A benchmark series: every paper is one of the %s sample\n'
                '    papers under another title and number.\n'
                'output: out\n'
                'formats: [pdf, epub]\n'
                'papers:\n' % (n, 'four' if files == SAMPLE_FILES else 'two-page'))
        f.write(''.join(entries))
    return [os.path.join(out_dir, 'paper-%03d.md' % k) for k in range(1, n + 1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('-n', type=int, default=50, help='number of papers')
    ap.add_argument('-o', '--output', required=True, help='folder to write')
    ap.add_argument('--two-page', action='store_true',
                    help='every paper from the two-page sample (%s)' % TWO_PAGE_FILES[0])
    a = ap.parse_args()
    if a.n < 1 or a.n > 999:
        sys.exit('gen_series: -n must be 1..999')
    write_series(a.n, a.output, TWO_PAGE_FILES if a.two_page else SAMPLE_FILES)
    print('%s: %d papers, series.yaml' % (a.output, a.n))


if __name__ == '__main__':
    main()
