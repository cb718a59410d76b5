#!/usr/bin/env python3
"""Cross-check ts_linebreak against TeX itself.

Random paragraphs of rules (boxes), glue, penalties and discretionaries are set
by plain TeX (\\tracingparagraphs=1) and by ts_linebreak (through the lb_items
driver); the pass, the number of lines, the total demerits of the chosen
breaks and every line's natural width must agree.  Cases where ts_linebreak
needs its own fallback (pass 4, which deliberately differs from TeX's final
pass) are counted and skipped.

    ninja -C BUILD tests/linebreak/lb_items
    tests/linebreak/tex_compare.py BUILD/tests/linebreak/lb_items [cases] [seed]
    tests/linebreak/tex_compare.py --record FILE.json LB_ITEMS [cases] [seed]
    tests/linebreak/tex_compare.py --replay FILE.json LB_ITEMS

Needs `tex` (plain TeX) on PATH, except with --replay: --record keeps the
cases and what TeX made of them (pass, lines, total demerits, line widths,
parsed from TeX's own log) in a JSON file, and --replay compares
ts_linebreak with that record, so machines without TeX (CI) still check
against TeX's breaks.  `meson test` runs the replay of
tex_breaks.json always, and the live comparison where `tex` is installed.
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile


def gen_case(rng):
    """Returns (items, params).  Lengths are integers (exact in sp)."""
    items = []
    nwords = rng.randint(4, 30)
    pretol = rng.choice([-1, 100])
    for w in range(nwords):
        if w:
            k = rng.randrange(16)
            if k == 0:
                items.append(("P", 0, rng.choice([-100, 0, 100, 300]), 0))
            elif k == 1:
                items.append(("P", 0, 10000, 0))
            items.append(("G", rng.randint(8, 12), rng.randint(3, 8), rng.randint(1, 3)))
        parts = rng.choice([1, 1, 2, 3])
        for p in range(parts):
            if p:
                # TeX's first pass also tries explicit discretionaries; ours
                # skips those that insert a hyphen, so use width 0 then
                hw = 0 if pretol >= 0 or rng.randrange(4) == 0 else rng.randint(3, 5)
                items.append(("P", hw, 50, 1))
            items.append(("B", rng.randint(8, 45)))
        if w + 1 < nwords and rng.randrange(15) == 0:
            items.append(("G", 0, "fil", 0))
            items.append(("P", 0, -10000, 0))
    items += [("P", 0, 10000, 0), ("G", 0, "fil", 0), ("P", 0, -10000, 0)]
    rest = rng.randint(100, 260)
    first = rest - rng.randint(10, 40) if rng.randrange(3) == 0 else rest
    params = {
        "mode": rng.choice("jjjr"),
        "pretol": pretol,
        "tol": rng.choice([200, 400, 1000, 3000]),
        "es": rng.choice([0, 0, 15]),
        "loose": rng.choice([0, 0, 0, 1, -1]),
        "first": first,
        "nfirst": rng.randint(1, 2),
        "rest": rest,
    }
    return items, params


def rag_stretch(items):
    g = [it[1] for it in items if it[0] == "G" and it[2] != "fil" and it[1] > 0]
    return 9.0 * sum(g) / len(g) if g else None


def tex_para(k, items, prm):
    ragged = prm["mode"] == "r"
    out = ["\\immediate\\write16{CASE %d}" % k]
    out.append("\\pretolerance=%d \\tolerance=%d \\emergencystretch=%dpt"
               % (prm["pretol"], prm["tol"], prm["es"]))
    if ragged:
        v = rag_stretch(items)
        out.append("\\rightskip=0pt plus %.6fpt" % v)
    else:
        out.append("\\rightskip=0pt")
    shape = " ".join(["0pt %dpt" % prm["first"]] * prm["nfirst"] + ["0pt %dpt" % prm["rest"]])
    body = []
    for it in items[:-3]:  # TeX's \par appends \penalty10000 \parfillskip
        if it[0] == "B":
            body.append("\\vrule width %dpt height 1pt depth 0pt" % it[1])
        elif it[0] == "G":
            if it[2] == "fil":
                body.append("\\hskip 0pt plus 1fil")
            elif ragged:
                body.append("\\hskip %dpt" % it[1])
            else:
                body.append("\\hskip %dpt plus %dpt minus %dpt" % (it[1], it[2], it[3]))
        else:
            if it[3]:
                pre = "\\vrule width %dpt height 1pt depth 0pt" % it[1] if it[1] else ""
                body.append("\\discretionary{%s}{}{}" % pre)
            else:
                body.append("\\penalty%d" % it[2])
    # \vbox resets \looseness and \parshape (normal_paragraph): set them inside
    out.append("\\setbox0=\\vbox{\\looseness=%d \\parshape %d %s \\noindent %s\\par"
               % (prm["loose"], prm["nfirst"] + 1, shape, "".join(body)))
    # (\write sees \prevgraf as 0, TeX §1370: copy it first)
    out.append("\\count255=\\prevgraf \\immediate\\write16{LINES \\the\\count255}\\peel}")
    return "\n".join(out)


PREAMBLE = r"""
\catcode`\@=11
\tracingparagraphs=1 \tracingonline=0 \hbadness=10000 \hfuzz=\maxdimen
\linepenalty=10 \hyphenpenalty=50 \exhyphenpenalty=50 \adjdemerits=10000
\doublehyphendemerits=10000 \finalhyphendemerits=5000
\parindent=0pt \leftskip=0pt \parfillskip=0pt plus 1fil
\def\peel{\unskip\unpenalty\unskip\unpenalty\setbox1=\lastbox
  \ifvoid1 \else \setbox2=\hbox{\unhcopy1}\immediate\write16{W \the\wd2}%
  \expandafter\peel\fi}
"""


def parse_tex(log):
    cases = {}
    parts = re.split(r"^CASE (\d+)\s*$", log, flags=re.M)
    for i in range(1, len(parts), 2):
        k = int(parts[i])
        text = parts[i + 1]
        passes = re.findall(r"@(firstpass|secondpass|emergencypass)", text)
        # with \pretolerance<0 TeX announces no pass until @emergencypass
        tex_pass = {"firstpass": 1, "secondpass": 2, "emergencypass": 3}[passes[-1]] if passes else 2
        m = re.search(r"^LINES (\d+)", text, flags=re.M)
        lines = int(m.group(1))
        widths = [float(w) for w in re.findall(r"^W (-?[0-9.]+)pt", text, flags=re.M)][::-1]
        # the nodes of the last pass; a node reached by a break with d=* got
        # TeX's artificial_demerits (§854: in the final pass the only active
        # node left breaks at a forced break with d=0, even when feasible;
        # ts_linebreak counts the line's real demerits there)
        last = text[text.rfind("@" + passes[-1]):] if passes else text
        nodes = {}
        pending_art, after_node = set(), False
        for ln in last.split("\n"):
            mm = re.match(r"@@(\d+): line (\d+)\.(\d)(-?) t=(-?\d+) -> @@(\d+)", ln)
            if mm:
                q, prev = int(mm.group(1)), int(mm.group(6))
                nodes[q] = (int(mm.group(2)), int(mm.group(5)), prev, prev in pending_art)
                after_node = True
                continue
            mv = re.match(r"@\S* via @@(\d+) b=\S+ p=\S+ d=(\S+)", ln)
            if mv:
                if after_node:
                    pending_art, after_node = set(), False
                if mv.group(2) == "*":
                    pending_art.add(int(mv.group(1)))
        par = last.find("@\\par via")
        fin = [int(mm.group(1)) for mm in
               re.finditer(r"@@(\d+): line", last[par:])] if par >= 0 else []
        best = None
        for q in fin:
            if nodes[q][0] == lines and (best is None or nodes[q][1] < nodes[best][1]):
                best = q
        chain_art = []  # 0-based numbers of the lines TeX set with d=*
        q = best
        while q in nodes:
            if nodes[q][3]:
                chain_art.append(nodes[q][0] - 1)
            q = nodes[q][2]
        cases[k] = (tex_pass, lines, nodes[best][1] if best is not None else None, widths,
                    chain_art)
    return cases


def run_tex(cases):
    with tempfile.TemporaryDirectory() as d:
        src = PREAMBLE + "\n".join(tex_para(k, it, p) for k, (it, p) in enumerate(cases)) + "\n\\end\n"
        with open(os.path.join(d, "c.tex"), "w") as f:
            f.write(src)
        subprocess.run(["tex", "-interaction=batchmode", "c.tex"], cwd=d,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(d, "c.log"), encoding="latin-1") as f:
            log = f.read()
    # TeX wraps long log lines at 79 characters; our markers are short.
    return parse_tex(log)


def main():
    args = sys.argv[1:]
    mode, record = None, None
    if args and args[0] in ("--record", "--replay"):
        if len(args) < 3:
            print(__doc__)
            return 2
        mode, record = args[0], args[1]
        args = args[2:]
    if not args:
        print(__doc__)
        return 2
    tool = args[0]
    if mode == "--replay":
        with open(record, encoding="utf-8") as f:
            rec = json.load(f)
        cases = [([tuple(it) for it in c["items"]], c["params"]) for c in rec["cases"]]
        tex = {k: (c["tex"][0], c["tex"][1], c["tex"][2], c["tex"][3], c["tex"][4])
               for k, c in enumerate(rec["cases"])}
        ncases = len(cases)
        if ncases < 100 or any(t[1] < 1 for t in tex.values()):
            print("record %s: too few cases or empty results" % record)
            return 1
    else:
        ncases = int(args[1]) if len(args) > 1 else 300
        seed = int(args[2]) if len(args) > 2 else 1
        rng = random.Random(seed)
        cases = [gen_case(rng) for _ in range(ncases)]
        tex = run_tex(cases)
        if len(tex) != ncases:
            print("TeX set %d of %d cases" % (len(tex), ncases))
            return 1
        if mode == "--record":
            rec = {"made_by": "plain TeX (%s) through tests/linebreak/tex_compare.py --record, "
                              "seed %d" % (subprocess.run(["tex", "--version"], capture_output=True,
                                                          text=True).stdout.split("\n")[0], seed),
                   "cases": [{"items": items, "params": p, "tex": list(tex[k])}
                             for k, (items, p) in enumerate(cases)]}
            with open(record, "w", encoding="utf-8") as f:
                json.dump(rec, f, separators=(",", ":"))
                f.write("\n")
    agree = skipped = artificial = 0
    bad = []
    for k, (items, p) in enumerate(cases):
        inp = "".join(
            "B %d\n" % it[1] if it[0] == "B" else
            "G %d %s %d\n" % (it[1], it[2], it[3]) if it[0] == "G" else
            "P %d %d %d\n" % (it[1], it[2], it[3]) for it in items)
        r = subprocess.run([tool, p["mode"], str(p["pretol"]), str(p["tol"]), str(p["es"]),
                            str(p["loose"]), str(p["first"]), str(p["nfirst"]), str(p["rest"])],
                           input=inp, capture_output=True, text=True, check=True)
        head = r.stdout.split("\n")[0].split()
        ours = (int(head[1]), int(head[3]), int(head[5]))
        rows = [x.split() for x in r.stdout.split("\n")[1:] if x.startswith("W ")]
        widths = [float(x[1]) for x in rows]
        dem = [float(x[3]) for x in rows]
        if ours[0] == 4:
            skipped += 1
            continue
        t = tex[k]
        total = t[2]
        if total is not None and t[4]:
            total += sum(dem[i] for i in t[4] if 0 <= i < len(dem))
            artificial += 1
        ok = (t[0] == ours[0] and t[1] == ours[1] and total == ours[2]
              and len(t[3]) == len(widths)
              and all(abs(a - b) < 1e-4 for a, b in zip(t[3], widths)))
        if ok:
            agree += 1
        else:
            bad.append((k, p, t, ours, widths))
    for k, p, t, ours, widths in bad[:10]:
        print("case %d %s\n  TeX  pass %d lines %d total %s widths %s\n  ours pass %d lines %d total %d widths %s"
              % (k, p, t[0], t[1], t[2], t[3], ours[0], ours[1], ours[2], widths))
    print("cases %d: agree %d (%d with TeX's artificial d=* on a feasible last break), "
          "differ %d, skipped (our fallback pass 4) %d"
          % (ncases, agree, artificial, len(bad), skipped))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
