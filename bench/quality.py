#!/usr/bin/env python3
"""quality.py -- typeset's paragraphs against XeLaTeX's on the same text,
font and measure; writes bench/quality.md.

    python3 bench/quality.py [--typeset PATH] [--work DIR] [--out FILE]

A measuring tool, not a test (tests/quality is the test; this script
imports its measuring functions).  Standard library only; needs pdftotext,
fc-match, pandoc and xelatex with fontspec and polyglossia (Debian:
texlive-xetex texlive-fonts-recommended lmodern -- for measurement only,
never a dependency of typeset).

Texts: the four samples together (their bodies: the YAML title blocks are
left out of the LaTeX version; they are not justified body text in either)
and a ~200-page book from bench/gen_book.py --pages 200.

typeset: --style paper (Libertine 11/14 pt, 317.5 pt measure, indent 1 em,
justified, hyphenated, plain TeX's line-breaking parameters with
emergencystretch 1.5 em, \\frenchspacing-like glue: space, stretch 1/2,
shrink 1/3 of the space's advance, protrusion of punctuation).

XeLaTeX, via pandoc's default LaTeX template, with the same page: A4,
margins 48/50 mm left/right, 35/34.8 mm top/bottom, Linux Libertine O via
fontspec at 11/14 bp, parindent 11 bp, polyglossia English hyphenation, in
two set-ups:
  xelatex        pandoc's defaults: \\emergencystretch 3em, microtype
                 protrusion, \\nonfrenchspacing (wider, stretchier spaces
                 after sentence ends and commas);
  xelatex-plain  the same glue model as typeset: \\frenchspacing,
                 \\emergencystretch 1.5em (plain TeX tolerance 200 in both).
Both PDFs are measured the same way (tests/quality/quality.py
measure_pdf): justified non-last body lines from pdftotext -bbox-layout,
interword gaps not after sentence ends against the natural space of the
font (0.25 em = 2.75 pt), loose = a gap over 1.5x.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'quality'))
import quality as Q  # noqa: E402

SAMPLES = Q.SAMPLES

HEADER = r'''
\makeatletter
\renewcommand\normalsize{\@setfontsize\normalsize{11bp}{14bp}%
  \abovedisplayskip 11bp plus 3bp minus 6bp\belowdisplayskip\abovedisplayskip}
\makeatother
\AtBeginDocument{\normalsize\setlength{\parindent}{11bp}%s}
'''
VARIANTS = {
    'xelatex': '',
    'xelatex-plain': r'\frenchspacing\setlength{\emergencystretch}{16.5bp}',
}
GEOMETRY = ['-V', 'geometry=a4paper', '-V', 'geometry=left=48mm', '-V', 'geometry=right=50mm',
            '-V', 'geometry=top=35mm', '-V', 'geometry=bottom=34.8mm']


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def strip_front_matter(src):
    if src.startswith('---\n'):
        end = src.find('\n---\n', 4)
        if end > 0:
            return src[end + 5:]
    return src


def run(cmd, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, errors='replace')
    if p.returncode != 0:
        log('FAILED (%d): %s\n%s' % (p.returncode, ' '.join(cmd), p.stderr[-2000:]))
    return p


def latex_pdf(md_path, work, name, variant):
    """pandoc -> .tex -> xelatex (twice is not needed: no cross references
    change line breaks).  Returns the PDF path or None."""
    d = os.path.join(work, variant)
    os.makedirs(d, exist_ok=True)
    with open(md_path, encoding='utf-8') as f:
        body = strip_front_matter(f.read())
    src = os.path.join(d, name + '.md')
    with open(src, 'w', encoding='utf-8') as f:
        f.write(body)
    hdr = os.path.join(d, 'header.tex')
    with open(hdr, 'w', encoding='utf-8') as f:
        f.write(HEADER.replace('%s', VARIANTS[variant]))
    img = os.path.join(d, 'images')
    if not os.path.exists(img):
        os.symlink(os.path.join(ROOT, 'samples', 'images'), img)
    tex = os.path.join(d, name + '.tex')
    p = run(['pandoc', '-f', 'markdown', '-t', 'latex', '-s', src, '-o', tex,
             '-V', 'documentclass=article', '-V', 'fontsize=11pt',
             '-V', 'mainfont=Linux Libertine O', '-V', 'indent=true', '-V', 'lang=en',
             '--include-in-header', hdr] + GEOMETRY)
    if p.returncode != 0:
        return None
    p = run(['xelatex', '-interaction=nonstopmode', '-halt-on-error', name + '.tex'], cwd=d)
    pdf = os.path.join(d, name + '.pdf')
    if not os.path.exists(pdf):
        return None
    log = os.path.join(d, name + '.log')
    under = over = 0
    if os.path.exists(log):
        with open(log, encoding='latin-1') as f:
            t = f.read()
        under = len(re.findall(r'^Underfull \\hbox', t, re.M))
        over = len(re.findall(r'^Overfull \\hbox', t, re.M))
    return pdf, under, over


def typeset_pdf(exe, md_path, work, name, variant='typeset'):
    d = os.path.join(work, variant)
    os.makedirs(d, exist_ok=True)
    style = 'paper'
    if variant == 'typeset-noexp':
        # the paper style without font expansion (XeTeX has none)
        style = os.path.join(d, 'paper-noexp.yaml')
        with open(style, 'w', encoding='utf-8') as f:
            f.write('base: paper\nlinebreak:\n  expansion: 0\n')
    pdf = os.path.join(d, name + '.pdf')
    p = run([exe, '--style', style, md_path, '-o', pdf])
    if p.returncode != 0:
        return None
    dump = run([exe, '--style', style, md_path, '--dump', 'lines'])
    paras = Q.parse_lines_dump(dump.stdout)
    beyond, runs, just, loose = Q.dump_stats(paras)
    passes = {}
    for pa in paras:
        passes[pa['pass']] = passes.get(pa['pass'], 0) + 1
    info = {'dump_justified': just, 'dump_loose': loose, 'dump_beyond': len(beyond),
            'passes': passes, 'warnings': len(re.findall(r': warning: ', p.stderr))}
    return pdf, info


def merge(qs):
    """Figures of several PDFs together (sums; the median of all their gaps)."""
    out = {}
    for k in ('full_lines', 'loose_lines', 'hyphenated_ends', 'widows', 'orphans', 'pages',
              'gaps'):
        out[k] = sum(q[k] for q in qs)
    out['max_hyphen_run'] = max(q['max_hyphen_run'] for q in qs)
    out['loose_pct'] = round(100.0 * out['loose_lines'] / out['full_lines'], 2) \
        if out['full_lines'] else 0.0
    gl = [g for q in qs for g in q['gap_list']]
    out['median_gap_ratio'] = round(statistics.median(gl) / qs[0]['natural_space_pt'], 3) \
        if gl else 0.0
    out['natural_space_pt'] = qs[0]['natural_space_pt']
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--typeset', default='/tmp/b-q/typeset/cli/typeset')
    ap.add_argument('--work', default='/tmp/typeset-quality-work')
    ap.add_argument('--out', default=os.path.join(HERE, 'quality.md'))
    ap.add_argument('--pages', type=int, default=200)
    a = ap.parse_args()
    for tool in ('pdftotext', 'fc-match', 'pandoc', 'xelatex'):
        if not shutil.which(tool):
            log('quality.py: %s is not installed' % tool)
            return 1
    os.makedirs(a.work, exist_ok=True)
    natural = Q.space_advance_em(Q.body_font_file()) * Q.BODY_SIZE
    book = os.path.join(a.work, 'book.md')
    run([sys.executable, os.path.join(HERE, 'gen_book.py'), '--pages', str(a.pages), '-o', book])
    texts = [(s[:-3], os.path.join(ROOT, 'samples', s)) for s in SAMPLES] + [('book', book)]
    tools = ['typeset', 'typeset-noexp'] + list(VARIANTS)
    res = {t: {} for t in tools}
    extra = {t: {} for t in tools}
    for name, path in texts:
        log('%s ...' % name)
        for t in ('typeset', 'typeset-noexp'):
            r = typeset_pdf(a.typeset, path, a.work, name, t)
            if r:
                res[t][name] = Q.measure_pdf(r[0], natural)
                extra[t][name] = r[1]
        for v in VARIANTS:
            r = latex_pdf(path, a.work, name, v)
            if r:
                res[v][name] = Q.measure_pdf(r[0], natural)
                extra[v][name] = {'underfull': r[1], 'overfull': r[2]}
    L = ['# Paragraph quality: typeset against XeLaTeX', '',
         'Written by `bench/quality.py` (measuring functions in '
         '`tests/quality/quality.py`). Same text, font (Linux Libertine O), size '
         '(11/14 pt), measure (317.5 pt: A4 less 48 + 50 mm), paragraph indent (1 em), '
         'justified and hyphenated (English patterns). typeset with `--style paper` '
         '(font expansion +-2 %, as pdfTeX\'s `\\pdfadjustspacing` with microtype\'s '
         'default; XeTeX has no font expansion) and without expansion (`typeset-noexp`: '
         '`linebreak: {expansion: 0}`); '
         'XeLaTeX through pandoc\'s default template (`xelatex`: its `\\emergencystretch` '
         '3em, microtype protrusion, `\\nonfrenchspacing`) and with typeset\'s glue model '
         '(`xelatex-plain`: `\\frenchspacing`, `\\emergencystretch` 1.5em).', '',
         'Measured from `pdftotext -bbox-layout` word boxes on justified non-last body '
         'lines (most common line height, ending at the right edge): interword gaps not '
         'after a sentence end and not beside a word of another size; natural space = the '
         'font\'s space advance, 0.25 em = %.2f pt. Loose line: a gap over 1.5x the '
         'natural space. Widows/orphans: heuristics on page-first/last body lines.' % natural,
         '']
    for label, names in (('The four samples together', [n for n, _ in texts if n != 'book']),
                         ('The ~200-page book (`gen_book.py --pages %d`)' % a.pages, ['book'])):
        L += ['## ' + label, '',
              '| | ' + ' | '.join(tools) + ' |', '|---|' + '---:|' * len(tools)]
        ms = {t: merge([res[t][n] for n in names if n in res[t]]) if all(
            n in res[t] for n in names) else None for t in tools}
        rows = [('pages', lambda m: '%d' % m['pages']),
                ('justified non-last lines', lambda m: '%d' % m['full_lines']),
                ('loose lines', lambda m: '%d (%.2f %%)' % (m['loose_lines'], m['loose_pct'])),
                ('median gap / natural space', lambda m: '%.3f' % m['median_gap_ratio']),
                ('hyphenated line ends', lambda m: '%d' % m['hyphenated_ends']),
                ('longest run of hyphenated lines', lambda m: '%d' % m['max_hyphen_run']),
                ('widows / orphans', lambda m: '%d / %d' % (m['widows'], m['orphans']))]
        for rl, f in rows:
            L.append('| %s | ' % rl + ' | '.join(f(ms[t]) if ms[t] else '–' for t in tools)
                     + ' |')
        ts = [extra['typeset'].get(n) for n in names]
        if all(ts):
            passes = {}
            for x in ts:
                for k, v in x['passes'].items():
                    passes[k] = passes.get(k, 0) + v
            L += ['', 'typeset line dump: %d justified non-last lines (all sizes, notes '
                  'included), %d with r > 1 (= a gap over 1.5 spaces), %d beyond tolerance '
                  '200 by their real badness; paragraphs by pass: %s.'
                  % (sum(x['dump_justified'] for x in ts), sum(x['dump_loose'] for x in ts),
                     sum(x['dump_beyond'] for x in ts),
                     ', '.join('%d: %d' % kv for kv in sorted(passes.items())))]
        for v in VARIANTS:
            xs = [extra[v].get(n) for n in names]
            if all(xs):
                L.append('%s log: %d underfull, %d overfull \\hbox warnings.'
                         % (v, sum(x['underfull'] for x in xs), sum(x['overfull'] for x in xs)))
        L.append('')
        L.append('Per text: ' + '; '.join(
            '%s: %s' % (n, ', '.join('%s %.2f %%' % (t, res[t][n]['loose_pct'])
                                    for t in tools if n in res[t])) for n in names) + '.')
        L.append('')
    L += ['## Findings', '',
          '- The bar (fewer loose lines than LaTeX for the same text, font and measure) is '
          'met on both texts, against both XeLaTeX set-ups, with and without font '
          'expansion. Without expansion many paragraphs break exactly as in XeLaTeX '
          '(e.g. grain-corridors.md:41, identical lines and gaps).',
          '- Font expansion (2026-12-03, `linebreak.expansion`, default 20 = +-2 %): the '
          'glyphs of a justified line take the same share of their expansion as the glue '
          'of its stretch or shrink, and the breaker counts their stretch with the '
          'glue\'s. It takes the book from 5.7 % loose lines to about 0.5 %, the median '
          'gap from 1.056 to about 1.01 of the natural space, with a third fewer '
          'hyphenated line ends; most paragraphs now succeed in the tolerance pass.',
          '- All engines are far looser here than the field\'s 0.73 % for xelatex '
          '(notes/field.md): that figure is Latin Modern (space 0.333 em, stretch 0.167 em) '
          'on 360 pt; Libertine\'s space is 0.25 em (stretch 0.125 em, XeTeX\'s and '
          'typeset\'s space/2) on a 29 em measure.',
          '- Fixed in e79af27: the line breaker did not know margin kerning, so a line '
          'ending in a hyphen or punctuation was set with its last glyph hanging and '
          'about 0.1 more adjustment ratio than chosen (book, pass 1-2 lines: +0.119 mean '
          'for hyphenated, +0.104 for punctuation ends, 0.002 for others; now 0.000). '
          'Before: book 305 loose lines (6.83 %), median gap 1.084; samples 17 (6.97 %).',
          '- What is left: without expansion, paragraphs no tolerance-200 breaking can set '
          '(159 of 3,786 in the book used the emergency pass, 137 lines beyond the '
          'tolerance); with it, a few dozen paragraphs still use the emergency pass. '
          'TeX\'s glue (stretch space/2, shrink space/3) and plain TeX\'s parameters are '
          'kept: more stretch would only hide the same gaps from the badness.', '']
    with open(a.out, 'w', encoding='utf-8') as f:
        f.write('\n'.join(L) + '\n')
    print('\n'.join(L))
    return 0


if __name__ == '__main__':
    sys.exit(main())
