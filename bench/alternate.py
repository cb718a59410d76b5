#!/usr/bin/env python3
"""alternate.py -- two typeset binaries timed alternately on the same inputs.

    python3 bench/alternate.py OLD_BINARY NEW_BINARY [--runs 9]

On a machine whose speed drifts (other work, a hypervisor taking time), the
figures of two bench.py runs made at different times do not compare; run
one after the other on every repetition, two builds see the same machine.
Cases: the ~200-page book to PDF (two cores, then one with taskset), three
sample papers to PDF (the seed's Valdai paper among them) and one to EPUB,
each a fresh process; with --series N also an N-paper series
(gen_series.py) to PDF + EPUB at -j2 and -j1 (--force, warm cache folder).  Each binary
keeps its own cache folder (TYPESET_CACHE_DIR), so that builds with
different cache formats do not rewrite each other's files.  Prints the
median wall time of each and the ratio, and the median page faults
(minor + major, from wait4) of each process: on a virtual machine where a
fault costs 10-20 us they are much of a fresh process's time.  Python's standard library only.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('old')
    ap.add_argument('new')
    ap.add_argument('--runs', type=int, default=9)
    ap.add_argument('--series', type=int, default=0, metavar='N',
                    help='also time an N-paper series (0: none)')
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix='typeset-alt-')
    try:
        book = os.path.join(work, 'book.md')
        subprocess.run([sys.executable, os.path.join(HERE, 'gen_book.py'), '--pages', '200',
                        '-o', book], check=True, stdout=subprocess.DEVNULL)
        sample = lambda n: os.path.join(ROOT, 'samples', n)
        out = lambda ext: os.path.join(work, 'out.' + ext)
        book_args = ['-q', '-s', os.path.join(HERE, 'bench-book.yaml'), book, '-o', out('pdf')]
        cases = [
            ('book -> PDF', [], book_args),
            ('book -> PDF, one core', ['taskset', '-c', '0'], book_args),
            ('Valdai paper -> PDF', [], ['-q', sample('not-to-disappear-one-by-one.md'), '-o',
                                          out('pdf')]),
            ('grain-corridors -> PDF', [], ['-q', sample('grain-corridors.md'), '-o', out('pdf')]),
            ('multilingual -> PDF', [], ['-q', sample('multilingual.md'), '-o', out('pdf')]),
            ('grain-corridors -> EPUB', [], ['-q', sample('grain-corridors.md'), '-o', out('epub')]),
        ]
        if a.series > 0:
            sdir = os.path.join(work, 'series')
            subprocess.run([sys.executable, os.path.join(HERE, 'gen_series.py'), '-n',
                            str(a.series), '-o', sdir], check=True, stdout=subprocess.DEVNULL)
            man = os.path.join(sdir, 'series.yaml')
            for j in ('2', '1'):
                cases.append(('%d-paper series -j%s' % (a.series, j), [],
                              ['series', man, '-j', j, '--force', '-q', '--out', '{OUT}']))
        if not shutil.which('taskset'):
            cases = [c for c in cases if not c[1]]
        env = dict(os.environ, TYPESET_DATA_DIR=ROOT)
        envs = {}
        for tag in ('old', 'new'):
            envs[tag] = dict(env, TYPESET_CACHE_DIR=os.path.join(work, 'cache-' + tag))
            os.makedirs(envs[tag]['TYPESET_CACHE_DIR'])
        for name, pre, args in cases:
            times = {'old': [], 'new': []}
            faults = {'old': [], 'new': []}
            for i in range(a.runs + 1):  # the first round warms the caches
                for tag, binary in (('old', a.old), ('new', a.new)):
                    targs = [x.replace('{OUT}', os.path.join(work, 'series-out-' + tag))
                             for x in args]
                    t = time.perf_counter()
                    p = subprocess.Popen(pre + [binary] + targs, env=envs[tag])
                    _, status, ru = os.wait4(p.pid, 0)
                    el = time.perf_counter() - t
                    p.returncode = os.waitstatus_to_exitcode(status)
                    if p.returncode:
                        raise SystemExit('%s: exit status %d' % (binary, p.returncode))
                    if i:
                        times[tag].append(el)
                        faults[tag].append(ru.ru_minflt + ru.ru_majflt)
            mo, mn = statistics.median(times['old']), statistics.median(times['new'])
            fo, fn = statistics.median(faults['old']), statistics.median(faults['new'])
            print('%-26s old %7.1f ms   new %7.1f ms   %.2fx   page faults %6d -> %6d' %
                  (name, mo * 1e3, mn * 1e3, mo / mn, fo, fn), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
