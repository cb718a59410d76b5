# Writes a 600x300 bar chart PNG with the standard library only (zlib, struct).
import zlib, struct
W, H = 600, 300
BG = (255, 255, 255); AX = (60, 60, 60); GRID = (215, 215, 215)
BAR = (31, 90, 140); BAR2 = (196, 112, 38)
img = [[BG for _ in range(W)] for _ in range(H)]
def rect(x0, y0, x1, y1, c):
    for y in range(max(0, y0), min(H, y1)):
        row = img[y]
        for x in range(max(0, x0), min(W, x1)):
            row[x] = c
FONT = {  # 5x7 digits
 '0': ["01110","10001","10011","10101","11001","10001","01110"],
 '1': ["00100","01100","00100","00100","00100","00100","01110"],
 '2': ["01110","10001","00001","00010","00100","01000","11111"],
 '3': ["11110","00001","00001","01110","00001","00001","11110"],
 '4': ["00010","00110","01010","10010","11111","00010","00010"],
 '5': ["11111","10000","11110","00001","00001","10001","01110"],
 '6': ["00110","01000","10000","11110","10001","10001","01110"],
 '7': ["11111","00001","00010","00100","01000","01000","01000"],
 '8': ["01110","10001","10001","01110","10001","10001","01110"],
 '9': ["01110","10001","10001","01111","00001","00010","01100"],
}
def text(s, x, y, c, scale=2):
    for ch in s:
        g = FONT[ch]
        for r, bits in enumerate(g):
            for k, b in enumerate(bits):
                if b == '1':
                    rect(x + k*scale, y + r*scale, x + (k+1)*scale, y + (r+1)*scale, c)
        x += 6*scale
def twidth(s, scale=2): return len(s)*6*scale - scale
# plot area
L, R, T, B = 60, 580, 20, 250
vmax = 50
for v in range(0, vmax+1, 10):
    y = B - (B-T)*v//vmax
    rect(L, y, R, y+1, GRID if v else AX)
    text(str(v), L - 8 - twidth(str(v)), y - 7, AX)
rect(L, T, L+1, B+1, AX)
values = [(40, 34), (18, 21), (9, 12), (6, 10), (4, 7)]  # illustrative: year A, year B
n = len(values); slot = (R-L)//n; bw = 30
for i, (a, b) in enumerate(values):
    cx = L + slot*i + slot//2
    for j, (v, col) in enumerate(((a, BAR), (b, BAR2))):
        x0 = cx - bw - 2 + j*(bw+4)
        y0 = B - (B-T)*v//vmax
        rect(x0, y0, x0+bw, B, col)
        text(str(v), x0 + (bw - twidth(str(v)))//2, y0 - 18, AX)
    lab = str(i+1)
    text(lab, cx - twidth(lab, 3)//2, B + 14, AX, 3)
raw = b''.join(b'\x00' + bytes(c for px in row for c in px) for row in img)
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', W, H, 8, 2, 0, 0, 0)) \
    + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
import os
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'grain-corridor-volumes.png'), 'wb').write(png)
