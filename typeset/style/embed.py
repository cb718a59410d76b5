#!/usr/bin/env python3
"""Turns a text file (styles/default.yaml) into a C translation unit holding
it as a string, so the compiled-in default style and the file are one source.
Usage: embed.py INPUT OUTPUT SYMBOL"""
import sys


def main():
    src, dst, sym = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(src, 'rb') as f:
        data = f.read()
    out = ['/* generated from %s by embed.py: do not edit */\n' % src.split('/')[-1],
           '#include <stddef.h>\n',
           'const char %s[] =\n' % sym]
    line = []
    for b in data:
        if b == 0x22 or b == 0x5c:
            line.append('\\' + chr(b))
        elif 0x20 <= b < 0x7f and b != 0x3f:  # '?' escaped: no trigraphs
            line.append(chr(b))
        else:
            line.append('\\%03o' % b)
        if b == 0x0a:
            out.append('  "' + ''.join(line) + '"\n')
            line = []
    if line:
        out.append('  "' + ''.join(line) + '"\n')
    if not data:
        out.append('  ""\n')
    out.append(';\n')
    out.append('const size_t %s_len = %d;\n' % (sym, len(data)))
    with open(dst, 'w', encoding='ascii') as f:
        f.write(''.join(out))


if __name__ == '__main__':
    main()
