/* uax14.c — line break opportunities (UAX #14, Unicode 15.0 as ICU 72
 * implements it) of text made only of common prose characters, without
 * ICU.  A paragraph of such text is most of what typeset sets; ICU's rule
 * machine cost ~100 instructions a character for it (5 % of a book).
 *
 * Only the classes listed in lb_class occur here, so only the rules that
 * can involve them are written out (LB7–LB31 in order; LB4–LB6, LB8–LB11,
 * LB20, LB23a, LB26–LB27 and LB30a–b need classes that are never given
 * here).  tests/text/test_text.c checks the classes against ICU's
 * Line_Break property for every code point of the set, and the
 * opportunities against ICU's line break iterator on random strings over
 * the set and on the samples; para.c checks once per locale that ICU's
 * rules for that locale answer like these on a probe of every class pair
 * (a locale's tailoring never goes unseen). */
#include "text_internal.h"

#include <pthread.h>
#include <unicode/uchar.h>

enum {
  LB_XX = 0, /* not in the set: ICU answers */
  LB_AL, LB_NU, LB_SP, LB_IS, LB_EX, LB_QU, LB_HY, LB_OP, LB_CP, LB_CL, LB_SY, LB_PR,
  LB_PO, LB_BA, LB_B2, LB_IN, LB_GL
};

static const uint8_t ascii_class[128] = {
  /* controls (tab, line ends) are left to ICU */
  [' '] = LB_SP, ['!'] = LB_EX, ['"'] = LB_QU, ['#'] = LB_AL, ['$'] = LB_PR, ['%'] = LB_PO, 
  ['&'] = LB_AL, ['\''] = LB_QU, ['('] = LB_OP, [')'] = LB_CP, ['*'] = LB_AL, ['+'] = LB_PR,
  [','] = LB_IS, ['-'] = LB_HY, ['.'] = LB_IS, ['/'] = LB_SY,
  ['0'] = LB_NU, ['1'] = LB_NU, ['2'] = LB_NU, ['3'] = LB_NU, ['4'] = LB_NU,
  ['5'] = LB_NU, ['6'] = LB_NU, ['7'] = LB_NU, ['8'] = LB_NU, ['9'] = LB_NU,
  [':'] = LB_IS, [';'] = LB_IS, ['<'] = LB_AL, ['='] = LB_AL, ['>'] = LB_AL, ['?'] = LB_EX,
  ['@'] = LB_AL, ['['] = LB_OP, ['\\'] = LB_PR, [']'] = LB_CP, ['^'] = LB_AL, ['_'] = LB_AL,
  ['`'] = LB_AL, ['{'] = LB_OP, ['|'] = LB_BA, ['}'] = LB_CL, ['~'] = LB_AL,
  ['A'] = LB_AL, ['B'] = LB_AL, ['C'] = LB_AL, ['D'] = LB_AL, ['E'] = LB_AL, ['F'] = LB_AL,
  ['G'] = LB_AL, ['H'] = LB_AL, ['I'] = LB_AL, ['J'] = LB_AL, ['K'] = LB_AL, ['L'] = LB_AL,
  ['M'] = LB_AL, ['N'] = LB_AL, ['O'] = LB_AL, ['P'] = LB_AL, ['Q'] = LB_AL, ['R'] = LB_AL,
  ['S'] = LB_AL, ['T'] = LB_AL, ['U'] = LB_AL, ['V'] = LB_AL, ['W'] = LB_AL, ['X'] = LB_AL,
  ['Y'] = LB_AL, ['Z'] = LB_AL,
  ['a'] = LB_AL, ['b'] = LB_AL, ['c'] = LB_AL, ['d'] = LB_AL, ['e'] = LB_AL, ['f'] = LB_AL,
  ['g'] = LB_AL, ['h'] = LB_AL, ['i'] = LB_AL, ['j'] = LB_AL, ['k'] = LB_AL, ['l'] = LB_AL,
  ['m'] = LB_AL, ['n'] = LB_AL, ['o'] = LB_AL, ['p'] = LB_AL, ['q'] = LB_AL, ['r'] = LB_AL,
  ['s'] = LB_AL, ['t'] = LB_AL, ['u'] = LB_AL, ['v'] = LB_AL, ['w'] = LB_AL, ['x'] = LB_AL,
  ['y'] = LB_AL, ['z'] = LB_AL,
};

static int lb_class(uint32_t c) {
  if (c < 0x80) return ascii_class[c];
  /* Latin-1 letters, Latin Extended-A and -B, Cyrillic letters */
  if ((c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x400 && c <= 0x482) ||
      (c >= 0x48A && c <= 0x4FF))
    return LB_AL;
  switch (c) {
  case 0xA0: case 0x2011: case 0x202F: return LB_GL; /* no-break space, hyphen */
  case 0xAB: case 0xBB: case 0x2018: case 0x2019: case 0x201C: case 0x201D: return LB_QU;
  case 0xAD: case 0x2010: case 0x2013: return LB_BA; /* soft hyphen, hyphen, en dash */
  case 0x2014: return LB_B2;                         /* em dash */
  case 0x2026: return LB_IN;                         /* ellipsis */
  case 0x2002: case 0x2003: case 0x2009: return LB_BA; /* en, em, thin space */
  case 0xA9: case 0xAE: case 0x2022: case 0x21AA: return LB_AL; /* (c), (R), bullet, arrow */
  case 0xA3: case 0xA5: case 0x20AC: case 0x2116: case 0x2212: return LB_PR; /* currencies, No., minus */
  case 0xB0: case 0x2030: return LB_PO;              /* degree, per mille */
  default: return LB_XX;
  }
}

int ts_uax14_class_known(uint32_t c) { return lb_class(c) != LB_XX; }

int ts_uax14_icu_class(uint32_t c) {
  static const int icu[LB_GL + 1] = {
    [LB_XX] = -1, [LB_AL] = U_LB_ALPHABETIC, [LB_NU] = U_LB_NUMERIC, [LB_SP] = U_LB_SPACE,
    [LB_IS] = U_LB_INFIX_NUMERIC, [LB_EX] = U_LB_EXCLAMATION, [LB_QU] = U_LB_QUOTATION,
    [LB_HY] = U_LB_HYPHEN, [LB_OP] = U_LB_OPEN_PUNCTUATION, [LB_CP] = U_LB_CLOSE_PARENTHESIS,
    [LB_CL] = U_LB_CLOSE_PUNCTUATION, [LB_SY] = U_LB_BREAK_SYMBOLS, [LB_PR] = U_LB_PREFIX_NUMERIC,
    [LB_PO] = U_LB_POSTFIX_NUMERIC, [LB_BA] = U_LB_BREAK_AFTER, [LB_B2] = U_LB_BREAK_BOTH,
    [LB_IN] = U_LB_INSEPARABLE, [LB_GL] = U_LB_GLUE};
  return icu[lb_class(c)];
}

/* What the rules need to know of the text before a position: the class
 * before the current spaces (LB_XX: the text starts with spaces, nothing
 * before them), whether spaces follow it, whether it is a hyphen that
 * (HY or U+2010) begins a word (at the start, or after spaces where a
 * line may break: ICU's LB20.09), whether it ends a number (NU followed
 * by any of NU, SY, IS) and whether it closes one (CL or CP right after a
 * number). */
typedef struct lb_ctx {
  int before, sp, word_hyphen, number, number_closed;
} lb_ctx;

/* 1 when a line may break before a character of class b (followed by ones
 * of classes next and next2, LB_XX past the end). */
static int lb_pair(const lb_ctx *x, int b, int next, int next2) {
  int a = x->before, sp = x->sp;
  if (b == LB_SP) return 0;                                         /* LB7 */
  if (!sp && a == LB_GL) return 0;                                  /* LB12 */
  if (!sp && b == LB_GL && a != LB_BA && a != LB_HY) return 0;      /* LB12a */
  /* LB13, but ICU breaks after spaces before IS that begins a number (".5") */
  if (b == LB_IS && sp && next == LB_NU && a != LB_OP) return 1;
  if (b == LB_CL || b == LB_CP || b == LB_EX || b == LB_IS || b == LB_SY) return 0;
  if (a == LB_OP) return 0;                                         /* LB14 */
  if (a == LB_QU && b == LB_OP) return 0;                           /* LB15 */
  if (a == LB_B2 && b == LB_B2) return 0;                           /* LB17 */
  if (sp) return 1;                                                 /* LB18 */
  if (a == LB_QU || b == LB_QU) return 0;                           /* LB19 */
  if (x->word_hyphen && b == LB_AL) return 0;                       /* LB20.09 (ICU) */
  if (b == LB_BA || b == LB_HY) return 0;                           /* LB21 */
  if (b == LB_IN) return 0;                                         /* LB22 */
  if ((a == LB_AL && b == LB_NU) || (a == LB_NU && b == LB_AL)) return 0; /* LB23 */
  if ((a == LB_PR || a == LB_PO) && b == LB_AL) return 0;           /* LB24 */
  if (a == LB_AL && (b == LB_PR || b == LB_PO)) return 0;
  /* LB25 as ICU has it, the regular expression (PR|PO)? (OP|HY)? IS? NU
   * (NU|SY|IS)* (CL|CP)? (PR|PO)? unbroken */
  if (b == LB_NU && (a == LB_HY || a == LB_IS || a == LB_PR || a == LB_PO || x->number))
    return 0;
  if ((a == LB_PR || a == LB_PO) && b == LB_OP &&
      (next == LB_NU || (next == LB_IS && next2 == LB_NU)))
    return 0;
  if ((b == LB_PR || b == LB_PO) && (x->number || x->number_closed)) return 0;
  if (a == LB_AL && b == LB_AL) return 0;                           /* LB28 */
  if (a == LB_IS && b == LB_AL) return 0;                           /* LB29 */
  if ((a == LB_AL || a == LB_NU) && b == LB_OP) return 0;           /* LB30 */
  if (a == LB_CP && (b == LB_AL || b == LB_NU)) return 0;
  return 1;                                                         /* LB31 */
}

/* lb_pair's answer for (spaces between, a, b) where it does not depend on
 * more context: 0 or 1; 2 where it does (the IS-before-a-number exception,
 * a word-initial hyphen, SY inside a number, PR or PO before OP, PR or PO
 * after a number's SY, IS or closing bracket): lb_pair is asked then. */
#define LB_N (LB_GL + 1)
static uint8_t pair_table[2][LB_N][LB_N]; /* set once by pair_table_init */
static pthread_once_t pair_once = PTHREAD_ONCE_INIT;

static void pair_table_init(void) {
  for (int sp = 0; sp < 2; sp++)
    for (int a = 0; a < LB_N; a++)
      for (int b = 1; b < LB_N; b++) {
        lb_ctx x = {a, sp, 0, a == LB_NU, 0}; /* after NU a number always goes on */
        int v = lb_pair(&x, b, LB_XX, LB_XX);
        int pre = b == LB_PR || b == LB_PO;
        if ((sp && b == LB_IS) || (!sp && (a == LB_HY || a == LB_BA) && b == LB_AL) ||
            (!sp && a == LB_SY && b == LB_NU) ||
            (!sp && (a == LB_PR || a == LB_PO) && b == LB_OP) ||
            (!sp && pre && (a == LB_SY || a == LB_IS || a == LB_CL || a == LB_CP)))
          v = 2;
        pair_table[sp][a][b] = (uint8_t)v;
      }
}

int ts_uax14_simple(const uint32_t *cp, size_t n, const uint32_t *cpb, uint8_t *brk) {
  if (n == 0) return 1;
  pthread_once(&pair_once, pair_table_init);
  int c0 = lb_class(cp[0]);
  if (c0 == LB_XX) return 0;
  lb_ctx x = {c0 == LB_SP ? LB_XX : c0, c0 == LB_SP, c0 == LB_HY || cp[0] == 0x2010, c0 == LB_NU,
              0};
  for (size_t i = 1; i < n; i++) { /* LB2: never at 0; LB3: the end is not asked */
    uint32_t c = cp[i];
    int b = c < 0x80 ? ascii_class[c] : lb_class(c);
    if (b == LB_XX) { /* not in the set: take back what was written */
      for (size_t k = 1; k < i; k++) brk[cpb[k]] = 0;
      return 0;
    }
    int may = pair_table[x.sp][x.before][b];
    if (may == 2)
      may = lb_pair(&x, b, i + 1 < n ? lb_class(cp[i + 1]) : LB_XX,
                    i + 2 < n ? lb_class(cp[i + 2]) : LB_XX);
    if (may) brk[cpb[i]] = 1;
    if (b == LB_SP) {
      x.sp = 1;
      continue;
    }
    /* a hyphen after spaces where a line may break, or at the start */
    x.word_hyphen = x.sp && may && (b == LB_HY || c == 0x2010);
    x.number_closed = x.number && !x.sp && (b == LB_CL || b == LB_CP);
    x.number = b == LB_NU || (x.number && !x.sp && (b == LB_SY || b == LB_IS));
    x.before = b;
    x.sp = 0;
  }
  return 1;
}
