#!/usr/bin/env python3
"""md2typst.py -- a tiny converter from pandoc's JSON AST to Typst markup.

    pandoc paper.md -t json | python3 bench/md2typst.py [--book] > paper.typ

Debian 12's pandoc (2.17) has no Typst writer, so bench.py uses this to give
Typst the same text as the other peers.  It covers what the sample papers
and the generated book use: headings, paragraphs, block quotes, bullet and
numbered lists, pipe tables, figures, emphasis, strong, code, links,
quotes and footnotes.  The page matches bench/bench-book.yaml and the peers'
settings in bench.py: A4, 11 pt, a 360 pt measure, justified and hyphenated
English.  --book puts level-1 headings on a new page and prints a table of
contents, as the typeset book style does.  Anything else is dropped.
"""
import json
import re
import sys

SPECIAL = set('\\*_`$#[]<>@=-+/~"\'')


def esc(s):
    out = []
    for ch in s:
        out.append('\\' + ch if ch in SPECIAL else ch)
    t = ''.join(out)
    return re.sub(r'^(\d+)\.', r'\1\\.', t)


def string(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def inlines(xs):
    out = []
    for x in xs:
        t, c = x['t'], x.get('c')
        if t == 'Str':
            out.append(esc(c))
        elif t in ('Space', 'SoftBreak'):
            out.append(' ')
        elif t == 'LineBreak':
            out.append(' \\\n')
        elif t == 'Emph':
            out.append('#emph[' + inlines(c) + ']')
        elif t == 'Strong':
            out.append('#strong[' + inlines(c) + ']')
        elif t == 'Strikeout':
            out.append('#strike[' + inlines(c) + ']')
        elif t == 'Superscript':
            out.append('#super[' + inlines(c) + ']')
        elif t == 'Subscript':
            out.append('#sub[' + inlines(c) + ']')
        elif t == 'SmallCaps':
            out.append('#smallcaps[' + inlines(c) + ']')
        elif t == 'Code':
            out.append('#raw(' + string(c[1]) + ')')
        elif t == 'Quoted':
            q = ('\u201c', '\u201d') if c[0]['t'] == 'DoubleQuote' \
                else ('\u2018', '\u2019')
            out.append(q[0] + inlines(c[1]) + q[1])
        elif t == 'Link':
            url = c[2][0]
            if url.startswith('#'):
                out.append(inlines(c[1]))
            else:
                out.append('#link(' + string(url) + ')[' + inlines(c[1]) + ']')
        elif t == 'Note':
            out.append('#footnote[' + blocks(c) + ']')
        elif t == 'Span':
            out.append(inlines(c[1]))
        elif t == 'Image':
            out.append('#box(image(' + string(c[2][0]) + ', width: 100%))')
        elif t == 'Math':
            out.append('#raw(' + string(c[1]) + ')')
        elif t in ('RawInline', 'Cite'):
            pass
    return ''.join(out)


def cell_blocks(bs):
    return blocks(bs).strip()


def table(c):
    _, _, colspecs, head, bodies, _ = c
    n = len(colspecs)
    amap = {'AlignLeft': 'left', 'AlignRight': 'right',
            'AlignCenter': 'center', 'AlignDefault': 'left'}
    aligns = ', '.join(amap[s[0]['t']] for s in colspecs)
    cells = []

    def rows(rs, strong):
        for r in rs:
            for cell in r[1]:
                content = cell_blocks(cell[4])
                cells.append('[' + ('#strong[' + content + ']' if strong
                                    else content) + ']')
    rows(head[1], True)
    for body in bodies:
        rows(body[2], True)
        rows(body[3], False)
    return ('#table(columns: %d, align: (%s,), stroke: none,\n  %s)\n\n'
            % (n, aligns, ',\n  '.join(cells)))


def blocks(bs):
    out = []
    for b in bs:
        t, c = b['t'], b.get('c')
        if t in ('Para', 'Plain'):
            if len(c) == 1 and c[0]['t'] == 'Image':
                img = c[0]['c']
                cap = inlines(img[1])
                out.append('#figure(image(%s, width: 80%%), caption: [%s])\n\n'
                           % (string(img[2][0]), cap))
            else:
                out.append(inlines(c) + '\n\n')
        elif t == 'Header':
            out.append('=' * c[0] + ' ' + inlines(c[2]) + '\n\n')
        elif t == 'BlockQuote':
            out.append('#pad(x: 1.5em)[' + blocks(c).strip() + ']\n\n')
        elif t == 'BulletList':
            items = ', '.join('[' + blocks(i).strip() + ']' for i in c)
            out.append('#list(' + items + ')\n\n')
        elif t == 'OrderedList':
            start = c[0][0]
            items = ', '.join('[' + blocks(i).strip() + ']' for i in c[1])
            out.append('#enum(start: %d, %s)\n\n' % (start, items))
        elif t == 'CodeBlock':
            out.append('#raw(block: true, ' + string(c[1]) + ')\n\n')
        elif t == 'Table':
            out.append(table(c))
        elif t == 'HorizontalRule':
            out.append('#line(length: 100%)\n\n')
        elif t == 'Div':
            out.append(blocks(c[1]))
        elif t == 'LineBlock':
            out.append(' \\\n'.join(inlines(l) for l in c) + '\n\n')
    return ''.join(out)


def meta_inlines(m):
    if m is None:
        return ''
    if m['t'] == 'MetaInlines':
        return inlines(m['c'])
    if m['t'] == 'MetaString':
        return esc(m['c'])
    if m['t'] == 'MetaBlocks':
        return blocks(m['c']).strip()
    if m['t'] == 'MetaMap':
        return meta_inlines(m['c'].get('name'))
    if m['t'] == 'MetaList':
        return ', '.join(meta_inlines(x) for x in m['c'])
    return ''


PREAMBLE = '''#set page(paper: "a4", margin: (x: 117.64pt, top: 110pt, bottom: 136.9pt),
  numbering: "1")
#set text(size: 11pt, lang: "en", hyphenate: true)
#set par(justify: true, leading: 0.6em, first-line-indent: 1em)
#show table: set par(justify: false)
'''


def main():
    book = '--book' in sys.argv[1:]
    doc = json.load(sys.stdin)
    meta = doc.get('meta', {})
    out = [PREAMBLE]
    if book:
        out.append('#show heading.where(level: 1): it => { pagebreak(weak: true); it }\n')
    title = meta_inlines(meta.get('title'))
    if title:
        out.append('#align(center, text(17pt)[%s])\n\n' % title)
    sub = meta_inlines(meta.get('subtitle'))
    if sub:
        out.append('#align(center, text(13pt)[%s])\n\n' % sub)
    author = meta_inlines(meta.get('author'))
    if author:
        out.append('#align(center)[%s]\n\n' % author)
    abstract = meta_inlines(meta.get('abstract'))
    if abstract:
        out.append('#pad(x: 2em)[#strong[Abstract.] %s]\n\n' % abstract)
    if book:
        out.append('#outline()\n\n')
    out.append(blocks(doc['blocks']))
    sys.stdout.write(''.join(out))


if __name__ == '__main__':
    main()
