#!/bin/sh
# scripts/static-analysis.sh [--no-tidy] [FILE.c ...]
#
# 1. cppcheck over typeset/: checks warning, performance, portability with the
#    POSIX library model, C11.  False positives are suppressed only in
#    scripts/cppcheck-suppressions.xml (by id, file and symbol, each with its
#    reason) or inline with `// cppcheck-suppress id  reason`.
#
# 2. clang-tidy (14) over every .c file of typeset/ (or the FILEs given) and
#    the typeset/ headers they include, with the checks chosen in .clang-tidy
#    (each family left out is listed there with why).  A false positive is
#    silenced where it is, with `// NOLINT(check) reason`.  Findings in files
#    whose owners have not fixed them yet are listed, with a count and a
#    reason, in scripts/clang-tidy-known.txt: a file may have at most that
#    many findings of that check; one more fails.  The compile commands come
#    from a clang configuration of the project in $TIDY_BUILD (default
#    build-tidy; configured here when missing, never built).  Costs about
#    200 s of CPU (3.5 min on one core, under 2 min on two).
#
# Exit 1 on any finding not accounted for.
#
# Environment: CPPCHECK (default cppcheck), CLANG_TIDY (default clang-tidy),
# JOBS (default: number of cores), TIDY_BUILD.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${JOBS:-$(nproc 2>/dev/null || echo 1)}
status=0
tidy=1
case "${1:-}" in
  --no-tidy) tidy=0; shift ;;
  --tidy) shift ;; # the old spelling: clang-tidy now always runs
esac

echo "static-analysis: cppcheck $(${CPPCHECK:-cppcheck} --version | sed 's/Cppcheck //')"
# --library=posix: glob, realpath, pthread semantics.  -D: the only macros the
# build defines (TS_DEBUG off and on are both real configurations: check both
# by letting cppcheck try configurations of the remaining #ifdefs).
if ! ${CPPCHECK:-cppcheck} --enable=warning,performance,portability \
    --std=c11 --library=posix --inline-suppr \
    --suppress-xml=scripts/cppcheck-suppressions.xml \
    --error-exitcode=1 --quiet -j "$jobs" \
    -I typeset -D_GNU_SOURCE -DTS_DATA_DIR='"."' \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
    typeset/; then
  echo "static-analysis: cppcheck found problems (fix them, or suppress a false positive with its reason)" >&2
  status=1
fi

if [ $tidy -eq 1 ]; then
  build=${TIDY_BUILD:-build-tidy}
  if [ ! -f "$build/compile_commands.json" ]; then
    CC=clang meson setup "$build" "$root" >/dev/null
  fi
  echo "static-analysis: $(${CLANG_TIDY:-clang-tidy} --version | grep -i version | head -n 1 | sed 's/^ *//') ($jobs jobs)"
  out=$(mktemp -d)
  start=$(date +%s)
  if [ $# -gt 0 ]; then
    printf '%s\n' "$@"
  else
    find typeset -name '*.c' | sort
  fi | CLANG_TIDY=${CLANG_TIDY:-clang-tidy} xargs -P "$jobs" -I{} sh -c \
    '$CLANG_TIDY -p "$1" --quiet "$2" >"$3/$(echo "$2" | tr / _).txt" 2>"$3/$(echo "$2" | tr / _).err" || true' \
    sh "$build" {} "$out"
  # clang-tidy exits non-zero on a compile error too: those are findings
  # (clang-diagnostic-error), so the outputs are what counts, not the status.
  cat "$out"/*.txt 2>/dev/null >"$out/all" || true
  if grep -l -E 'Stack dump|PLEASE submit a bug report|Error while processing' "$out"/*.err 2>/dev/null; then
    echo "static-analysis: clang-tidy failed on the files above (see its messages: $out)" >&2
    status=1
  fi
  if ! python3 - "$out/all" scripts/clang-tidy-known.txt "$root" "$build" "$#" <<'EOF'
import os, re, sys
found, known_path, root, build = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
build = os.path.join(root, build)
partial = sys.argv[5] != '0'   # only some files checked: no notes about the others

def project_path(p):
    # clang-tidy names a file as the compile command did: absolute, relative
    # to the source root (the files we pass) or to the build folder (headers)
    cands = [p] if os.path.isabs(p) else [os.path.join(build, p), os.path.join(root, p)]
    if not os.path.isabs(p) and not p.startswith('..'):
        cands.reverse()
    for c in cands:
        if os.path.exists(c):
            return os.path.relpath(os.path.realpath(c), os.path.realpath(root))
    return os.path.normpath(p)

pat = re.compile(r'^(\S+?):(\d+):(\d+): (warning|error): (.*) \[([\w.,-]+)\]$')
findings = {}   # (path, line, col, check) -> message; headers show up once per includer
for line in open(found, errors='replace'):
    m = pat.match(line.rstrip('\n'))
    if not m:
        continue
    path = project_path(m.group(1))
    findings[(path, int(m.group(2)), int(m.group(3)), m.group(6))] = m.group(5)
known = {}      # (path, check) -> allowed count
for line in open(known_path):
    line = line.split('#', 1)[0].split()
    if len(line) >= 3:
        known[(line[0], line[1])] = int(line[2])
count = {}
for (path, ln, col, check) in findings:
    count[(path, check)] = count.get((path, check), 0) + 1
bad = 0
for (path, ln, col, check), msg in sorted(findings.items()):
    key = (path, check)
    if count[key] > known.get(key, 0):
        print('%s:%d:%d: %s [%s]' % (path, ln, col, msg, check))
        bad += 1
n_known = sum(min(c, known.get(k, 0)) for k, c in count.items())
for key in sorted(known):
    if not partial and count.get(key, 0) < known[key]:
        print('static-analysis: note: %s has %d %s finding(s), the known list allows %d: '
              'lower its entry in scripts/clang-tidy-known.txt'
              % (key[0], count.get(key, 0), key[1], known[key]))
if n_known:
    print('static-analysis: clang-tidy: %d known finding(s) in files listed in '
          'scripts/clang-tidy-known.txt' % n_known)
sys.exit(1 if bad else 0)
EOF
  then
    echo "static-analysis: clang-tidy found problems (fix them, or silence a false positive with NOLINT(check) and its reason)" >&2
    status=1
  fi
  echo "static-analysis: clang-tidy took $(( $(date +%s) - start )) s"
  [ $status -eq 0 ] && rm -rf "$out"
fi
[ $status -eq 0 ] && echo "static-analysis: clean"
exit $status
