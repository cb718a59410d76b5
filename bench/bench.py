#!/usr/bin/env python3
"""bench.py -- typeset's benchmarks, with its peers side by side.

    python3 bench/bench.py            # everything (about 20-40 minutes with peers)
    python3 bench/bench.py --quick    # 3 runs a case; no 300-page book, no
                                      # 200-paper series, no xelatex
    python3 bench/bench.py --cases book,series50 --tools typeset,typst

Builds a release build of typeset (meson, --buildtype=release, in
/tmp/typeset-bench-build unless --build says otherwise), generates the
inputs (bench/gen_book.py, bench/gen_series.py) in /tmp/typeset-bench-work,
runs every case once to warm the caches and then --reps times (5 unless
told), and prints and writes bench/results.md: the median wall time with
min and max, the median CPU time (user + system, from os.wait4), and the
peak resident memory (ru_maxrss of the process and of the children it
waited for).  Results are kept in WORK/results.json, so a later run with
--merge adds cases (or peers) to an earlier one.

Peers are run when installed (never installed by this script; see
bench/README.md): pandoc (EPUB), pandoc -> HTML -> WeasyPrint, pandoc -t ms
-> groff -ms, pandoc -> xelatex, and Typst (the Markdown converted by
bench/md2typst.py beforehand, untimed).  Everyone sets A4, 11 pt, a 360 pt
measure, justified and hyphenated; the fonts are Linux Libertine except
for groff (its own URW Palatino clone).

This is a measuring tool: it reads the clock, which the pipeline never does.
"""
import argparse
import glob
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
SAMPLES = os.path.join(ROOT, 'samples')
sys.path.insert(0, BENCH)
import gen_book    # noqa: E402
import gen_series  # noqa: E402

ALL_CASES = ['paper', 'book', 'book300', 'series50', 'series50x2', 'series200',
             'micro', 'quality']
ALL_TOOLS = ['typeset', 'pandoc', 'weasyprint', 'groff', 'typst', 'xelatex']
PDF_PEERS = ['weasyprint', 'groff', 'typst', 'xelatex']
CSS = '''@page { size: A4; margin: 110pt 117.64pt 136.9pt 117.64pt;
        @bottom-center { content: counter(page); } }
html { font-family: "Linux Libertine O", serif; font-size: 11pt;
       line-height: 13.6pt; }
body { margin: 0; padding: 0; max-width: none; hyphens: auto; }
p { text-align: justify; margin: 0; text-indent: 1em; }
td, th { text-align: left; vertical-align: top; padding: 2pt 4pt; }
'''


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- running

def run_once(cmd, cwd, env):
    """Runs cmd (a shell string) once; wall and CPU seconds, peak RSS KiB."""
    errpath = os.path.join(cwd, '.bench-stderr')
    with open(errpath, 'wb') as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(['/bin/sh', '-c', cmd], cwd=cwd, env=env,
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    with open(errpath, 'rb') as f:
        tail = f.read()[-600:].decode('utf-8', 'replace')
    return {'wall': wall, 'cpu': ru.ru_utime + ru.ru_stime,
            'rss_kib': ru.ru_maxrss, 'rc': p.returncode, 'stderr': tail}


def measure(cmd, cwd, env, reps, setup=None, warmup=True):
    """Warm-up run (untimed) then reps runs; setup(i) runs before each.
    A warm-up that takes over 2 s counts as a run: caches matter little
    there, and slow peers would otherwise take most of the session."""
    runs = []
    for i in range(reps + (1 if warmup else 0)):
        if setup:
            setup(i)
        r = run_once(cmd, cwd, env)
        if r['rc'] != 0:
            return {'ok': False, 'cmd': cmd, 'rc': r['rc'],
                    'error': r['stderr'].strip().splitlines()[-3:]}
        if warmup and i == 0 and r['wall'] <= 2.0:
            continue
        runs.append(r)
        if len(runs) == reps:
            break
    walls = [r['wall'] for r in runs]
    return {'ok': True, 'cmd': cmd, 'reps': len(runs),
            'wall_med': statistics.median(walls), 'wall_min': min(walls),
            'wall_max': max(walls),
            'cpu_med': statistics.median(r['cpu'] for r in runs),
            'rss_mib': max(r['rss_kib'] for r in runs) / 1024.0,
            'load': os.getloadavg()[0],
            'when': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}


def pdf_pages(path):
    if not shutil.which('pdfinfo') or not os.path.exists(path):
        return None
    out = subprocess.run(['pdfinfo', path], capture_output=True, text=True).stdout
    m = re.search(r'^Pages:\s+(\d+)', out, re.M)
    return int(m.group(1)) if m else None


def first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        s = (out.stdout or out.stderr).strip().splitlines()
        return s[0] if s else '?'
    except (OSError, subprocess.SubprocessError):
        return '?'


# ---------------------------------------------------------------- tools

class Tools:
    def __init__(self, a):
        self.typeset = os.path.join(a.build, 'typeset', 'cli', 'typeset')
        self.worktree = a.worktree
        self.src = a.src
        self.env = dict(os.environ, TYPESET_DATA_DIR=a.src, LC_ALL='C.UTF-8')
        self.env.pop('SOURCE_DATE_EPOCH', None)
        typst = a.typst or os.environ.get('TYPST') or shutil.which('typst')
        if not typst:
            c = glob.glob('/tmp/peers/typst/node_modules/@typst-community/'
                          'typst-linux-x64/.typst/bin/typst')
            typst = c[0] if c else None
        self.typst = typst
        want = set(a.tools.split(',')) if a.tools else set(ALL_TOOLS)
        if a.quick and not a.tools:
            want.discard('xelatex')
        have = {'typeset': os.path.exists(self.typeset),
                'pandoc': bool(shutil.which('pandoc')),
                'weasyprint': bool(shutil.which('weasyprint') and shutil.which('pandoc')),
                'groff': bool(shutil.which('groff') and shutil.which('pandoc')),
                'typst': bool(typst and shutil.which('pandoc')),
                'xelatex': bool(shutil.which('xelatex') and shutil.which('pandoc'))}
        self.on = {t: have[t] and t in want for t in ALL_TOOLS}
        for t in ALL_TOOLS:
            if t in want and not have[t]:
                log('bench: %s not installed: skipped' % t)

    def versions(self):
        v = {}
        if self.on['typeset']:
            v['typeset'] = first_line([self.typeset, '--version']) + \
                ' (release build, commit %s)' % first_line(
                    ['git', '-C', self.src, 'rev-parse', '--short', 'HEAD']
                    if self.worktree else
                    ['cut', '-c1-7', os.path.join(self.src, '.bench-commit')]) \
                + (' plus the uncommitted working tree' if self.worktree else '')
        if any(self.on[t] for t in ('pandoc', 'weasyprint', 'groff', 'typst', 'xelatex')):
            v['pandoc'] = first_line(['pandoc', '--version'])
        if self.on['weasyprint']:
            v['weasyprint'] = first_line(['weasyprint', '--version'])
        if self.on['groff']:
            v['groff'] = first_line(['groff', '--version'])
        if self.on['typst']:
            v['typst'] = first_line([self.typst, '--version'])
        if self.on['xelatex']:
            v['xelatex'] = first_line(['xelatex', '--version'])
        return v

    # Commands: shell strings run in the input's folder; OUT is a path
    # without extension.
    def cmd(self, tool, md, out, book=False, fmt='pdf', style=None, typ=None,
            raw=False):
        """The shell command for tool: md in, out + '.pdf' or '.epub' out.
        raw: md, out and typ are shell words already (for xargs loops)."""
        q = (lambda x: x) if raw else shlex.quote
        typ = typ or md[:-3] + '.typ'
        if tool == 'typeset':
            s = ' --style %s' % shlex.quote(style) if style else ''
            return '%s %s%s -q -o %s' % (shlex.quote(self.typeset), q(md), s,
                                         q(out) + '.' + fmt)
        if tool == 'pandoc':
            return 'pandoc %s%s -o %s.epub' % (q(md), ' --toc' if book else '', q(out))
        if tool == 'weasyprint':
            css = self.css_book if book else self.css
            return ('pandoc %s -s -t html5%s -c %s -o %s.html && weasyprint -q %s.html %s.pdf'
                    % (q(md), ' --toc' if book else '', shlex.quote(css),
                       q(out), q(out), q(out)))
        if tool == 'groff':
            return ('pandoc %s -s -t ms%s -V papersize=a4 -V pointsize=11p '
                    '-V lineheight=13.6p | sed -e "s/^\\.nr LL 5\\.5i/.nr LL 360p/" '
                    '-e "s/^\\.nr PO 1\\.25i/.nr PO 117.64p/" | groff -ms -mpdfmark '
                    '-e -t -k -Kutf8 -Tpdf -dpaper=a4 -P-pa4 > %s.pdf'
                    % (q(md), ' --toc' if book else '', q(out)))
        if tool == 'typst':
            return '%s compile %s %s.pdf' % (shlex.quote(self.typst), q(typ), q(out))
        if tool == 'xelatex':
            extra = ' --toc -V documentclass=report --top-level-division=chapter' \
                if book else ''
            return ('pandoc %s%s --pdf-engine=xelatex -V papersize=a4 -V fontsize=11pt '
                    '-V "mainfont=Linux Libertine O" -o %s.pdf' % (q(md), extra, q(out)))
        raise ValueError(tool)

    def prepare(self, md, book=False):
        """Untimed conversions the peers need: Typst source beside md."""
        if self.on['typst']:
            typ = md[:-3] + '.typ'
            j = subprocess.run(['pandoc', md, '-t', 'json'], capture_output=True,
                               check=True, cwd=os.path.dirname(md)).stdout
            t = subprocess.run([sys.executable, os.path.join(BENCH, 'md2typst.py')]
                               + (['--book'] if book else []), input=j,
                               capture_output=True, check=True).stdout
            with open(typ, 'wb') as f:
                f.write(t)


# ---------------------------------------------------------------- cases

class Bench:
    def __init__(self, a):
        self.a = a
        self.t = Tools(a)
        self.work = a.work
        os.makedirs(self.work, exist_ok=True)
        self.t.css = os.path.join(self.work, 'bench.css')
        self.t.css_book = os.path.join(self.work, 'bench-book.css')
        with open(self.t.css, 'w') as f:
            f.write(CSS)
        with open(self.t.css_book, 'w') as f:
            f.write(CSS + 'h1 { page-break-before: always; }\n'
                    'h1.title, nav h1 { page-break-before: avoid; }\n')
        self.jpath = os.path.join(self.work, 'results.json')
        self.res = {}
        if a.merge and os.path.exists(self.jpath):
            with open(self.jpath) as f:
                self.res = json.load(f)
        self.res.setdefault('cases', {})
        self.res['versions'] = dict(self.res.get('versions', {}), **self.t.versions())

    def save(self):
        with open(self.jpath, 'w') as f:
            json.dump(self.res, f, indent=1, sort_keys=True)

    def put(self, case, tool, r, **extra):
        r.update(extra)
        self.res['cases'].setdefault(case, {})[tool] = r
        self.save()
        if r['ok']:
            log('  %-28s %-12s %8.3f s (%.3f-%.3f) cpu %.3f s %7.1f MiB %s' % (
                case, tool, r['wall_med'], r['wall_min'], r['wall_max'],
                r['cpu_med'], r['rss_mib'],
                ' '.join('%s=%s' % kv for kv in sorted(extra.items()))))
        else:
            log('  %-28s %-12s FAILED rc=%s: %s' % (case, tool, r['rc'],
                                                   ' | '.join(r['error'])))

    def reps(self, slow=False):
        return self.a.reps or (3 if self.a.quick or slow else 5)

    # (1) each sample paper to PDF and EPUB, a fresh process each
    def case_paper(self):
        d = os.path.join(self.work, 'papers')
        os.makedirs(d, exist_ok=True)
        if os.path.isdir(os.path.join(SAMPLES, 'images')):
            shutil.copytree(os.path.join(SAMPLES, 'images'),
                            os.path.join(d, 'images'), dirs_exist_ok=True)
        out = os.path.join(d, 'out')
        os.makedirs(out, exist_ok=True)
        for name in gen_series.SAMPLE_FILES + gen_series.TWO_PAGE_FILES:
            md = os.path.join(d, name)
            shutil.copyfile(os.path.join(SAMPLES, name), md)
            self.t.prepare(md)
            stem = name[:-3]
            for tool in ['typeset'] + PDF_PEERS:
                if not self.t.on[tool]:
                    continue
                o = os.path.join(out, stem + '.' + tool)
                r = measure(self.t.cmd(tool, md, o, style='paper'), d, self.t.env,
                            self.reps(slow=tool in ('xelatex', 'weasyprint')))
                self.put('paper-pdf:' + stem, tool, r, pages=pdf_pages(o + '.pdf'))
            for tool in ('typeset', 'pandoc'):
                if not self.t.on[tool]:
                    continue
                o = os.path.join(out, stem + '.' + tool)
                r = measure(self.t.cmd(tool, md, o, fmt='epub', style='paper'), d,
                            self.t.env, self.reps())
                self.put('paper-epub:' + stem, tool, r)

    # (2) the ~200-page book (and the ~300-page one)
    def case_book(self, pages, peers=True):
        d = os.path.join(self.work, 'book')
        os.makedirs(d, exist_ok=True)
        md = os.path.join(d, 'book-%d.md' % pages)
        text, _, words = gen_book.build(pages, gen_book.WORDS_PER_PAGE, 89)
        with open(md, 'w', encoding='utf-8') as f:
            f.write(text)
        self.t.prepare(md, book=True)
        style = os.path.join(BENCH, 'bench-book.yaml')
        tools = ['typeset'] + (PDF_PEERS if peers else [])
        for tool in tools:
            if not self.t.on[tool]:
                continue
            o = os.path.join(d, 'book-%d.%s' % (pages, tool))
            r = measure(self.t.cmd(tool, md, o, book=True, style=style), d, self.t.env,
                        self.reps(slow=tool != 'typeset'))
            n = pdf_pages(o + '.pdf')
            extra = {'pages': n, 'words': words}
            if r['ok'] and n:
                extra['pages_per_s'] = round(n / r['wall_med'], 1)
            self.put('book-%d-pdf' % pages, tool, r, **extra)
            if tool == 'typeset' and shutil.which('taskset'):
                # issue 4's target is for one core: the process confined to
                # core 0 counts one core and runs one thread
                r1 = measure('taskset -c 0 ' + self.t.cmd(tool, md, o, book=True, style=style),
                             d, self.t.env, self.reps())
                extra1 = dict(extra)
                if r1['ok'] and n:
                    extra1['pages_per_s'] = round(n / r1['wall_med'], 1)
                self.put('book-%d-pdf' % pages, 'typeset (one core)', r1, **extra1)
        for tool in ('typeset', 'pandoc') if peers else ():
            if not self.t.on[tool]:
                continue
            o = os.path.join(d, 'book-%d.%s' % (pages, tool))
            r = measure(self.t.cmd(tool, md, o, book=True, fmt='epub', style=style),
                        d, self.t.env, self.reps())
            self.put('book-%d-epub' % pages, tool, r, words=words)

    # (3) series (two_page: every paper from the two-page sample, the
    # series issue 6's target is stated for)
    def case_series(self, n, two_page=False):
        tag = 'series%s-%d' % ('2p' if two_page else '', n)
        d = os.path.join(self.work, tag)
        if os.path.isdir(d):
            shutil.rmtree(d)
        papers = gen_series.write_series(n, d, gen_series.TWO_PAGE_FILES if two_page
                                         else gen_series.SAMPLE_FILES)
        manifest = os.path.join(d, 'series.yaml')
        q = shlex.quote
        if self.t.on['typeset']:
            out = os.path.join(d, 'out-typeset')
            for j in (1, 2):
                cmd = '%s series %s -j %d --force -q --out %s' % (
                    q(self.t.typeset), q(manifest), j, q(out))
                r = measure(cmd, d, self.t.env, self.reps(slow=n > 50))
                extra = {'papers': n}
                if r['ok']:
                    extra['papers_per_s'] = round(n / r['wall_med'], 1)
                    extra['pages'] = sum(pdf_pages(p) or 0 for p in
                                         glob.glob(os.path.join(out, 'paper-*.pdf')))
                self.put('%s:pdf+epub' % tag, 'typeset -j%d' % j, r, **extra)
            # incremental: one paper changed, the others unchanged
            target = papers[len(papers) // 2]
            with open(target, encoding='utf-8') as f:
                base = f.read()

            def touch(i):
                with open(target, 'w', encoding='utf-8') as f:
                    f.write(base + '\nRevision %d of this paper.\n' % i)
            cmd = '%s series %s -j 2 -q --out %s' % (q(self.t.typeset), q(manifest), q(out))
            r = measure(cmd, d, self.t.env, self.reps(), setup=touch)
            self.put('%s:incremental' % tag, 'typeset -j2', r, papers=1)
            with open(target, 'w', encoding='utf-8') as f:
                f.write(base)
        # peers: one process per paper, two at a time (2 cores); past 50
        # papers the slow ones (WeasyPrint ~1 s a paper, xelatex) only with
        # --slow-peers
        for p in papers:
            self.t.prepare(p)
        names = ' '.join(q(os.path.basename(p)) for p in papers)
        for tool in ['pandoc'] + PDF_PEERS:
            slow = tool == 'xelatex' or (tool == 'weasyprint' and n > 50)
            if not self.t.on[tool] or (slow and not self.a.slow_peers):
                continue
            outd = os.path.join(d, 'out-' + tool)
            os.makedirs(outd, exist_ok=True)
            one = self.t.cmd(tool, '"$1"', '"%s/${1%%.md}"' % outd,
                             typ='"${1%.md}".typ', raw=True)
            cmd = 'printf "%%s\\n" %s | xargs -P 2 -n 1 sh -c %s _' % (names, q(one))
            r = measure(cmd, d, self.t.env, self.reps(slow=tool != 'pandoc'))
            extra = {'papers': n}
            if r['ok']:
                extra['papers_per_s'] = round(n / r['wall_med'], 1)
            fmt = 'epub' if tool == 'pandoc' else 'pdf'
            self.put('%s:%s' % (tag, fmt), tool + ' ×2', r, **extra)

    # (4) text-engine micro figures
    def case_micro(self):
        tb = os.path.join(self.a.build, 'tests', 'text', 'text_bench')
        lb = os.path.join(self.a.build, 'tests', 'linebreak', 'linebreak_bench')
        d = os.path.join(self.work, 'micro')
        os.makedirs(d, exist_ok=True)
        if os.path.exists(tb):
            def paragraphs(text):
                """Body paragraphs of Markdown as plain text (no front
                matter, headings, tables, quotes, lists, note texts)."""
                text = re.sub(r'\A---\n.*?\n---\n', '', text, flags=re.S)
                out = []
                for b in text.split('\n\n'):
                    b = b.strip()
                    if not b or b[0] in '#|>-[*' or b.startswith('---') or b[0].isdigit():
                        continue
                    b = re.sub(r'\[\^[^\]]+\]', '', b).replace('**', '').replace('*', '')
                    b = re.sub(r'<(https?://[^>]+)>', r'\1', b)
                    out.append(b)
                return out
            samples = ''
            for name in sorted(os.listdir(os.path.join(ROOT, 'samples'))):
                if name.endswith('.md'):
                    with open(os.path.join(ROOT, 'samples', name), encoding='utf-8') as f:
                        samples += f.read() + '\n\n'
            book, _, _ = gen_book.build(300, gen_book.WORDS_PER_PAGE, 89)
            # text_bench empties the shaped-word cache before each pass
            # (repeating a text would otherwise time the cache, not the engine)
            for key, text, rep in (('samples', samples, '20'), ('book300', book, '3')):
                paras = paragraphs(text)
                src = os.path.join(d, 'paragraphs-%s.txt' % key)
                with open(src, 'w', encoding='utf-8') as f:
                    f.write('\n\n'.join(paras) + '\n')
                gl, pa, hb, last = [], [], [], ''
                for _ in range(self.reps()):
                    p = subprocess.run([tb, src, '360', rep], capture_output=True,
                                       text=True, env=self.t.env)
                    last = p.stdout
                    m1 = re.search(r'([\d.]+) M glyphs/s', p.stdout)
                    m2 = re.search(r'total:\s+(\d+) paragraphs/s', p.stdout)
                    m3 = re.search(r'engine / HarfBuzz:\s+([\d.]+)', p.stdout)
                    if p.returncode or not m1 or not m2:
                        last = p.stdout + p.stderr[-400:]
                        break
                    gl.append(float(m1.group(1)))
                    pa.append(float(m2.group(1)))
                    if m3:
                        hb.append(float(m3.group(1)))
                self.res['cases']['micro:text_bench:' + key] = {
                    'ok': bool(gl), 'paragraphs': len(paras), 'repeat': int(rep),
                    'output': last,
                    'glyphs_per_s_med': statistics.median(gl) * 1e6 if gl else None,
                    'paras_per_s_med': statistics.median(pa) if pa else None,
                    'engine_over_hb_med': statistics.median(hb) if hb else None}
                self.save()
                log('  micro text_bench %s: %s' % (key, last.strip().replace('\n', ' | ')))
        else:
            log('bench: %s not built: skipped' % tb)
        if os.path.exists(lb):
            rows, last = {}, ''
            for _ in range(self.reps()):
                p = subprocess.run([lb], capture_output=True, text=True)
                last = p.stdout + (p.stderr[-400:] if p.returncode else '')
                for line in p.stdout.splitlines():
                    m = re.match(r'(.+?)\s+\d+ para .*?([\d.]+) para/s', line)
                    if m:
                        rows.setdefault(m.group(1), []).append(float(m.group(2)))
            self.res['cases']['micro:linebreak_bench'] = {
                'ok': bool(rows), 'output': last,
                'paras_per_s_med': {k: statistics.median(v) for k, v in rows.items()}}
            self.save()
            log('  micro linebreak_bench:\n' + last)
        else:
            log('bench: %s not built: skipped' % lb)

    # line quality of the 200-page book's PDFs
    def case_quality(self):
        d = os.path.join(self.work, 'book')
        for tool in ['typeset'] + PDF_PEERS:
            pdf = os.path.join(d, 'book-200.%s.pdf' % tool)
            if not os.path.exists(pdf) or not shutil.which('pdftotext'):
                continue
            q = line_quality(pdf)
            if q:
                self.res['cases'].setdefault('quality:book-200', {})[tool] = q
                self.save()
                log('  quality %-10s %s' % (tool, q))


# ---------------------------------------------------------------- line quality

SENT_END = re.compile(r'[.?!:;][\u201d\u2019"\')\]]*$')
MARKER = re.compile(r'^([\u2022\u2013\u2014*\u25e6-]|\(?\d+[.)])$')   # list markers


def line_quality(pdf):
    """Loose lines and hyphenated line ends from pdftotext -bbox-layout.

    A body line is one whose height is within 15% of the most common line
    height and whose width is at least 97% of the most common full width
    (so last lines of paragraphs, headings, notes and table cells drop
    out).  The normal space is the median gap between words on the last
    lines of paragraphs (unjustified, so at the font's natural spacing) --
    or, failing those, the 10th percentile of all gaps.  A line is loose
    when a gap not after a sentence end is wider than 1.5 normal spaces."""
    out = subprocess.run(['pdftotext', '-bbox-layout', pdf, '-'],
                         capture_output=True, text=True).stdout
    lines = []
    for ln in re.finditer(r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                          r'yMax="([\d.]+)">(.*?)</line>', out, re.S):
        words = [(float(m.group(1)), float(m.group(3)), m.group(5))
                 for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" '
                                      r'xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
                                      ln.group(5))]
        if words:
            lines.append((float(ln.group(1)), float(ln.group(3)),
                          float(ln.group(4)) - float(ln.group(2)), words))
    if not lines:
        return None

    def mode(xs, step):
        h = {}
        for x in xs:
            k = round(x / step)
            h[k] = h.get(k, 0) + 1
        return max(h.items(), key=lambda kv: (kv[1], kv[0]))[0] * step
    hmode = mode([l[2] for l in lines], 0.5)
    body = [l for l in lines if abs(l[2] - hmode) <= 0.15 * hmode and len(l[3]) > 1]
    wmode = mode([l[1] - l[0] for l in body], 2.0)
    full = [l for l in body if (l[1] - l[0]) >= 0.97 * wmode]
    short = [l for l in body if 0.3 * wmode < (l[1] - l[0]) < 0.85 * wmode]

    def gaps(l):
        g = []
        for i, ((x0, x1, w), (y0, _, _)) in enumerate(zip(l[3], l[3][1:])):
            if SENT_END.search(w) or (i == 0 and MARKER.match(w)):
                continue
            g.append(y0 - x1)
        return g
    ref = [x for l in short for x in gaps(l)]
    if len(ref) >= 20:
        normal = statistics.median(ref)
    else:
        allg = sorted(x for l in body for x in gaps(l))
        normal = allg[len(allg) // 10] if allg else 0
    if normal <= 0 or not full:
        return None
    loose = sum(1 for l in full if any(x > 1.5 * normal for x in gaps(l)))
    hyph = sum(1 for l in body
               if re.search(r'[a-z]-$', l[3][-1][2]) and not l[3][-1][2].endswith('--'))
    return {'full_lines': len(full), 'loose_lines': loose,
            'loose_pct': round(100.0 * loose / len(full), 2),
            'normal_space_pt': round(normal, 2), 'hyphenated_ends': hyph}


# ---------------------------------------------------------------- report

def fmt_s(x):
    if x is None:
        return '–'
    return '%.3f s' % x if x < 10 else '%.1f s' % x


def row_time(r):
    if not r.get('ok'):
        return 'failed', '', '', ''
    return (fmt_s(r['wall_med']), '%s–%s (%d)' % (fmt_s(r['wall_min']), fmt_s(r['wall_max']),
                                                 r['reps']),
            fmt_s(r['cpu_med']), '%.1f' % r['rss_mib'])


def summary(C, L):
    """One table, typeset against its peers: wall median (CPU median)."""
    cols = [('typeset', 'typeset'), ('pandoc', 'pandoc (EPUB)'),
            ('weasyprint', 'WeasyPrint'), ('groff', 'groff -ms'),
            ('typst', 'Typst'), ('xelatex', 'pandoc + xelatex')]

    def cell(rs, mem=False):
        rs = [r for r in rs if r and r.get('ok')]
        if not rs:
            return '–'
        w = statistics.median(r['wall_med'] for r in rs)
        c = statistics.median(r['cpu_med'] for r in rs)
        s = '%s (%s)' % (fmt_s(w), fmt_s(c))
        if mem:
            s += ', %.0f MiB' % max(r['rss_mib'] for r in rs)
        return s

    def pick(prefix, tool):
        return [v.get(tool) for k, v in C.items() if k.startswith(prefix)]
    rows = []
    rows.append(['sample paper → PDF (median of the samples)'] +
                [cell(pick('paper-pdf:', t)) if t != 'pandoc' else '' for t, _ in cols])
    rows.append(['sample paper → EPUB (median of the samples)'] +
                [cell(pick('paper-epub:', t)) if t in ('typeset', 'pandoc') else ''
                 for t, _ in cols])
    for two in gen_series.TWO_PAGE_FILES:
        stem = two[:-3]
        if 'paper-pdf:' + stem in C:
            rows.append(['2-page paper (%s) → PDF' % two] +
                        [cell([C['paper-pdf:' + stem].get(t)])
                         if t != 'pandoc' and C['paper-pdf:' + stem].get(t) else ''
                         for t, _ in cols])
        if 'paper-epub:' + stem in C:
            rows.append(['2-page paper (%s) → EPUB' % two] +
                        [cell([C['paper-epub:' + stem].get(t)])
                         if t in ('typeset', 'pandoc') and C['paper-epub:' + stem].get(t)
                         else '' for t, _ in cols])
    book = C.get('book-200-pdf', {})
    if book:
        r = ['200-page book → PDF']
        for t, _ in cols:
            x = book.get(t)
            r.append('' if t == 'pandoc' else
                     (cell([x], mem=True) + (', %s pages' % x['pages']
                                             if x and x.get('ok') and x.get('pages') else '')
                      if x else '–'))
        rows.append(r)
    one = book.get('typeset (one core)') if book else None
    if one:
        rows.append(['200-page book → PDF, one core (`taskset -c 0`)',
                     cell([one], mem=True) + (', %s pages/s' % one['pages_per_s']
                                              if one.get('pages_per_s') else '')] +
                    [''] * (len(cols) - 1))
    be = C.get('book-200-epub', {})
    if be:
        rows.append(['200-page book → EPUB'] +
                    [cell([be.get(t)], mem=True) if t in ('typeset', 'pandoc') else ''
                     for t, _ in cols])
    for tag, n, what in (('series', 50, ''), ('series2p', 50, ' two-page'),
                         ('series', 200, '')):
        for fmt in ('pdf+epub', 'pdf', 'epub'):
            s = C.get('%s-%d:%s' % (tag, n, fmt), {})
            if not s:
                continue
            r = ['%d-paper%s series → %s' % (n, what, fmt.upper())]
            for t, _ in cols:
                if t == 'typeset':
                    x = [s.get('typeset -j1'), s.get('typeset -j2')]
                    r.append(' / '.join(cell([y], mem=True) for y in x) + ' (-j1 / -j2)'
                             if any(x) else '')
                else:
                    r.append(cell([s.get(t + ' ×2')]) + ' (2 at a time)'
                             if s.get(t + ' ×2') else '')
            rows.append(r)
        inc = C.get('%s-%d:incremental' % (tag, n), {}).get('typeset -j2')
        if inc:
            rows.append(['%d-paper%s series, one paper changed' % (n, what),
                         cell([inc], mem=True)] +
                        [''] * (len(cols) - 1))
    q = C.get('quality:book-200', {})
    if q:
        rows.append(['book: loose lines, hyphenated ends'] +
                    ['%.2f %%, %d' % (q[t]['loose_pct'], q[t]['hyphenated_ends'])
                     if t in q else '' for t, _ in cols])
    if not rows:
        return
    L.append('## Summary: typeset and its peers\n')
    L.append('Wall time, median of the runs (CPU time user + system in brackets), '
             'peak memory where shown; the same machine and the same run of '
             'bench.py. Details in the tables below.\n')
    L.append('| | ' + ' | '.join(name for _, name in cols) + ' |')
    L.append('|---|' + '---:|' * len(cols))
    for r in rows:
        L.append('| ' + ' | '.join(r) + ' |')
    L.append('')


def machine():
    model = '?'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    mem = '?'
    try:
        with open('/proc/meminfo') as f:
            mem = '%.0f GiB' % (int(f.readline().split()[1]) / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    return '%d cores (%s), %s RAM, %s' % (os.cpu_count() or 0, model, mem,
                                          os.uname().release)


def write_report(res, path):
    C = res['cases']
    L = []
    L.append('# typeset benchmark results\n')
    L.append('Measured by `python3 bench/bench.py` (see bench/README.md) on %s, '
             'machine: %s. Each figure is the median of the runs after one '
             'warm-up run, with the fastest and slowest run; CPU is user + system '
             'time of the process and its children; memory is the peak resident '
             'set (ru_maxrss). `load` is the 1-minute load average when the case '
             'finished: other work was running on the machine during these runs, so '
             'wall times above the CPU times are the machine, not the tool.\n'
             % (res.get('date', '?'), res.get('machine', '?')))
    L.append('Versions:\n')
    for k, v in sorted(res.get('versions', {}).items()):
        L.append('- %s: %s' % (k, v))
    L.append('')

    def table(title, keys, note=None):
        rows = []
        for key in keys:
            for tool, r in sorted(C.get(key, {}).items(),
                                  key=lambda kv: (not kv[0].startswith('typeset'), kv[0])):
                w, mm, cpu, mem = row_time(r)
                extra = []
                for k in ('pages', 'pages_per_s', 'papers_per_s', 'words'):
                    if r.get(k) is not None:
                        extra.append('%s %s' % (k.replace('_', '/').replace('/per/', '/'), r[k]))
                rows.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
                    key.split(':', 1)[-1] if key.startswith('paper-')
                    else key.replace(':', ' '), tool, w, mm, cpu, mem,
                    '%.1f' % r.get('load', 0) if r.get('ok') else '', ', '.join(extra)))
        if not rows:
            return
        L.append('## %s\n' % title)
        if note:
            L.append(note + '\n')
        L.append('| case | tool | median | min–max (runs) | CPU | peak MiB | load | |')
        L.append('|---|---|---:|---:|---:|---:|---:|---|')
        L.extend(rows)
        L.append('')
    summary(C, L)
    keys = sorted(C)
    table('(1) Sample papers to PDF, one fresh process each',
          [k for k in keys if k.startswith('paper-pdf:')],
          'typeset uses the `paper` style; the peers A4, 11 pt, a 360 pt measure.')
    table('(1) Sample papers to EPUB, one fresh process each',
          [k for k in keys if k.startswith('paper-epub:')])
    table('(2) The generated book to PDF and EPUB',
          [k for k in keys if k.startswith('book-')],
          'bench/gen_book.py; typeset with bench/bench-book.yaml (A4, 11/13.6 pt, '
          '360 pt measure, chapters on new pages, table of contents).')
    table('(3) Series', [k for k in keys if k.startswith(('series-', 'series2p-'))],
          'bench/gen_series.py. typeset: one process, PDF + EPUB of every paper '
          'plus the catalogue, `--force`; incremental: the same run without '
          '`--force` after one paper changed. Peers: one process per paper, two '
          'at a time (`xargs -P 2`), one format each.')
    tbs = [(k.split(':')[-1], C[k]) for k in ('micro:text_bench:samples',
                                                 'micro:text_bench:book300') if k in C]
    lb = C.get('micro:linebreak_bench')
    if tbs or lb:
        L.append('## (4) Text engine micro figures\n')
        names = {'samples': 'the four samples\' body paragraphs (all their scripts)',
                 'book300': 'the ~300-page book\'s body paragraphs (gen_book.py --pages 300)'}
        for key, tb in tbs:
            L.append('`text_bench` on %s: %s paragraphs × %s, 360 pt, one core, CPU time, '
                     'the shaped-word cache emptied before each pass (fonts and patterns loaded by a warm-up pass), '
                     'median of the runs: %s glyphs shaped/s (itemise + shape), %s '
                     'paragraphs/s (itemise + shape + hyphenate + break + build lines); '
                     'the whole engine takes %s× the time of HarfBuzz shaping the same '
                     'paragraphs once with the body face.\n' % (
                         names.get(key, key), tb.get('paragraphs'), tb.get('repeat'),
                         '%.2f M' % (tb['glyphs_per_s_med'] / 1e6)
                         if tb.get('glyphs_per_s_med') else '–',
                         '%.0f' % tb['paras_per_s_med'] if tb.get('paras_per_s_med') else '–',
                         '%.2f' % tb['engine_over_hb_med'] if tb.get('engine_over_hb_med') else '–'))
            L.append('```\n' + tb.get('output', '').strip() + '\n```\n')
        if lb:
            L.append('`linebreak_bench` (Knuth–Plass alone, synthetic paragraphs), '
                     'median paragraphs/s: ' + ', '.join(
                         '%s %.0f' % kv for kv in lb.get('paras_per_s_med', {}).items()) + '\n')
            L.append('```\n' + lb.get('output', '').strip() + '\n```\n')
    q = C.get('quality:book-200')
    if q:
        L.append('## Line quality on the 200-page book\n')
        L.append('From `pdftotext -bbox-layout` word boxes: full-width body lines with '
                 'an interword gap over 1.5× the normal space (the median gap on '
                 'paragraphs\' last lines), not counting gaps after sentence ends; '
                 'hyphenated line ends.\n')
        L.append('| tool | full lines | loose lines | loose % | normal space | hyphenated ends |')
        L.append('|---|---:|---:|---:|---:|---:|')
        for tool, r in sorted(q.items(), key=lambda kv: (kv[0] != 'typeset', kv[0])):
            L.append('| %s | %d | %d | %.2f %% | %.2f pt | %d |' % (
                tool, r['full_lines'], r['loose_lines'], r['loose_pct'],
                r['normal_space_pt'], r['hyphenated_ends']))
        L.append('')
    fails = [(k, t, r) for k, v in C.items() if isinstance(v, dict)
             for t, r in v.items() if isinstance(r, dict) and r.get('ok') is False
             and 'error' in r]
    if fails:
        L.append('## Failures\n')
        for k, t, r in fails:
            L.append('- %s, %s: exit %s: %s' % (k, t, r.get('rc'), ' / '.join(r['error'])))
        L.append('')
    text = '\n'.join(L)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return text


# ---------------------------------------------------------------- main

def build(a):
    """Release build of the committed tree (HEAD exported with git archive,
    so other people's uncommitted edits never enter a measurement), or of
    the working tree with --worktree.  Sets a.src to the source used.  With
    --no-build the build folder is used as it is: never exported to, never
    removed (it once removed a build it was pointed at, then measured no
    typeset at all)."""
    if a.no_build:
        a.src = ROOT
        return
    if a.worktree:
        a.src = ROOT
    else:
        head = subprocess.run(['git', '-C', ROOT, 'rev-parse', 'HEAD'],
                              capture_output=True, text=True, check=True).stdout.strip()
        a.src = a.build + '-src'
        stamp = os.path.join(a.src, '.bench-commit')
        old = open(stamp).read().strip() if os.path.exists(stamp) else ''
        if old != head:
            if os.path.isdir(a.src):
                shutil.rmtree(a.src)
            os.makedirs(a.src)
            arc = subprocess.run(['git', '-C', ROOT, 'archive', head],
                                 capture_output=True, check=True).stdout
            subprocess.run(['tar', '-x', '-C', a.src], input=arc, check=True)
            with open(stamp, 'w') as f:
                f.write(head + '\n')
            if os.path.isdir(a.build):
                shutil.rmtree(a.build)
    if not os.path.exists(os.path.join(a.build, 'build.ninja')):
        subprocess.run(['meson', 'setup', a.build, a.src, '--buildtype=release'],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run(['ninja', '-C', a.build, 'typeset/cli/typeset'], check=True,
                   stdout=subprocess.DEVNULL)
    for t in ('tests/text/text_bench', 'tests/linebreak/linebreak_bench'):
        if subprocess.run(['ninja', '-C', a.build, t], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode:
            log('bench: could not build %s (micro figures skipped)' % t)


def main():
    ap = argparse.ArgumentParser(description='typeset benchmarks (see bench/README.md)')
    ap.add_argument('--quick', action='store_true',
                    help='3 runs a case; skip book300, series200 and xelatex')
    ap.add_argument('--reps', type=int, default=0, help='timed runs a case')
    ap.add_argument('--cases', default='', help='comma list of ' + ','.join(ALL_CASES))
    ap.add_argument('--tools', default='', help='comma list of ' + ','.join(ALL_TOOLS))
    ap.add_argument('--build', default='/tmp/typeset-bench-build')
    ap.add_argument('--work', default='/tmp/typeset-bench-work')
    ap.add_argument('--typst', default='', help='path of the typst binary')
    ap.add_argument('--no-build', action='store_true')
    ap.add_argument('--worktree', action='store_true',
                    help='build the working tree, not the committed HEAD')
    ap.add_argument('--merge', action='store_true',
                    help='add to WORK/results.json instead of starting afresh')
    ap.add_argument('--slow-peers', action='store_true',
                    help='also run xelatex on the 50-paper series (minutes)')
    ap.add_argument('--out', default=os.path.join(BENCH, 'results.md'))
    a = ap.parse_args()
    cases = a.cases.split(',') if a.cases else \
        [c for c in ALL_CASES if not (a.quick and c in ('book300', 'series200'))]
    for c in cases:
        if c not in ALL_CASES:
            ap.error('unknown case %r' % c)
    build(a)
    b = Bench(a)
    b.res['date'] = time.strftime('%Y-%m-%d', time.gmtime())
    b.res['machine'] = machine()
    log('bench: %s; load %.1f' % (b.res['machine'], os.getloadavg()[0]))
    for c in cases:
        log('bench: case %s' % c)
        if c == 'paper':
            b.case_paper()
        elif c == 'book':
            b.case_book(200)
        elif c == 'book300':
            b.case_book(300, peers=False)
        elif c == 'series50':
            b.case_series(50)
        elif c == 'series50x2':
            b.case_series(50, two_page=True)
        elif c == 'series200':
            b.case_series(200)
        elif c == 'micro':
            b.case_micro()
        elif c == 'quality':
            b.case_quality()
    b.save()
    print(write_report(b.res, a.out))


if __name__ == '__main__':
    main()
