/* Tests for typeset/fonts: loading TrueType, OpenType/CFF and CID-keyed CFF
 * collections, refusing non-fonts, fontconfig look-ups with real family
 * matching, fontsets with script fallbacks, the memo of fontconfig's
 * answers. */
#include "fonts/ts_fonts.h"
#include "../cache_files.h"

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LIB "/usr/share/fonts/opentype/linux-libertine/"
#define DEJAVU "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
#define DEJAVU_SANS "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define CJK "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
#define NOTO_MONO "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf"

START_TEST(load_truetype)
{
  const char *why = NULL;
  ts_face *f = ts_face_load(DEJAVU, 0, &why);
  ck_assert_msg(f != NULL, "%s", why ? why : "");
  ck_assert_str_eq(f->family, "DejaVu Serif");
  ck_assert_str_eq(f->psname, "DejaVuSerif");
  ck_assert_int_eq(f->is_cff, 0);
  ck_assert_int_eq(f->is_cid, 0);
  ck_assert_uint_eq(f->upem, 2048);
  ck_assert_int_eq(f->weight, 400);
  ck_assert(ts_face_has(f, 'A'));
  ck_assert(ts_face_has(f, 0x0416)); /* Cyrillic Zhe */
  ck_assert(!ts_face_has(f, 0x4E2D)); /* no CJK */
  ck_assert_int_gt(f->ascender, 0);
  ck_assert_int_lt(f->descender, 0);
  ck_assert_int_gt(f->x_height, 0);
  ck_assert_int_gt(f->cap_height, f->x_height);
  hb_codepoint_t g = 0;
  ck_assert(ts_hb_open(NULL));
  ck_assert(hb_font_get_nominal_glyph(ts_face_font(f), 'M', &g));
  ck_assert_int_gt(ts_face_advance(f, g), 0);
  ck_assert(hb_font_is_immutable(ts_face_font(f)));
  ts_face_destroy(f);
}
END_TEST

START_TEST(load_otf_cff)
{
  const char *why = NULL;
  ts_face *f = ts_face_load(LIB "LinLibertine_R.otf", 0, &why);
  ck_assert_msg(f != NULL, "%s", why ? why : "");
  ck_assert_str_eq(f->family, "Linux Libertine O");
  ck_assert_int_eq(f->is_cff, 1);
  ck_assert_int_eq(f->is_cid, 0);
  ck_assert_ptr_null(f->gid_to_cid);
  ck_assert_uint_eq(f->upem, 1000);
  ck_assert_int_eq(f->serif, 1);
  ck_assert_int_eq(f->has_smcp, 1);
  ck_assert_uint_eq(f->hyphen_cp, 0x2010);
  ts_face_destroy(f);

  f = ts_face_load(LIB "LinLibertine_RB.otf", 0, &why);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(f->weight, 700);
  ts_face_destroy(f);
  f = ts_face_load(LIB "LinLibertine_RI.otf", 0, &why);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(f->italic, 1);
  ck_assert_int_lt(f->italic_angle, 0);
  ts_face_destroy(f);
}
END_TEST

START_TEST(load_cid_ttc)
{
  const char *why = NULL;
  /* Noto Serif CJK: faces JP, KR, SC, TC, HK in one collection */
  int found_sc = 0;
  for (unsigned i = 0; i < 5; i++) {
    ts_face *f = ts_face_load(CJK, i, &why);
    ck_assert_msg(f != NULL, "face %u: %s", i, why ? why : "");
    ck_assert_int_eq(f->is_cff, 1);
    ck_assert_int_eq(f->is_cid, 1);
    ck_assert_ptr_nonnull(f->gid_to_cid);
    ck_assert(ts_face_has(f, 0x4E2D));
    ck_assert(ts_face_has(f, 0x3002));
    if (!strcmp(f->family, "Noto Serif CJK SC")) found_sc = 1;
    /* CIDs of a CID-keyed CFF are not glyph ids in general, and .notdef is CID 0 */
    ck_assert_uint_eq(f->gid_to_cid[0], 0);
    unsigned differ = 0;
    for (unsigned g = 0; g < f->num_glyphs; g++) differ += f->gid_to_cid[g] != g;
    if (i == 0) ck_assert_uint_gt(f->num_glyphs, 60000);
    (void)differ;
    ts_face_destroy(f);
  }
  ck_assert(found_sc);
  ck_assert_ptr_null(ts_face_load(CJK, 99, &why));
  ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(refuse_non_font)
{
  const char *why = NULL;
  char path[] = "/tmp/ts_notfont_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  const char junk[] = "This is not a font, just some text.\n";
  ck_assert_int_eq(write(fd, junk, sizeof junk - 1), (int)sizeof junk - 1);
  close(fd);
  ts_face *f = ts_face_load(path, 0, &why);
  ck_assert_ptr_null(f);
  ck_assert_ptr_nonnull(why);
  ck_assert_msg(strstr(why, "not a font") != NULL, "%s", why);
  unlink(path);
  why = NULL;
  ck_assert_ptr_null(ts_face_load("/nonexistent/font.ttf", 0, &why));
  ck_assert_ptr_nonnull(why);
  /* a file that starts like a font but is truncated */
  char p2[] = "/tmp/ts_badfont_XXXXXX";
  fd = mkstemp(p2);
  ck_assert_int_ge(fd, 0);
  const unsigned char hdr[12] = {0, 1, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0};
  ck_assert_int_eq(write(fd, hdr, sizeof hdr), (int)sizeof hdr);
  close(fd);
  why = NULL;
  ck_assert_ptr_null(ts_face_load(p2, 0, &why));
  ck_assert_ptr_nonnull(why);
  unlink(p2);
}
END_TEST

START_TEST(find_family)
{
  ts_ctx *ctx = ts_ctx_create();
  ck_assert_ptr_nonnull(ctx);
  const ts_face *r = ts_fonts_find(ctx, "Linux Libertine O", 400, 0);
  ck_assert_ptr_nonnull(r);
  ck_assert_str_eq(r->family, "Linux Libertine O");
  ck_assert_int_eq(r->weight, 400);
  ck_assert_int_eq(r->italic, 0);
  const ts_face *b = ts_fonts_find(ctx, "linux libertine o", 700, 0); /* case-insensitive */
  ck_assert_ptr_nonnull(b);
  ck_assert_int_eq(b->weight, 700);
  ck_assert(strstr(b->path, "LinLibertine_RB.otf") != NULL);
  const ts_face *i = ts_fonts_find(ctx, "Linux Libertine O", 400, 1);
  ck_assert_ptr_nonnull(i);
  ck_assert_int_eq(i->italic, 1);
  const ts_face *bi = ts_fonts_find(ctx, "Linux Libertine O", 700, 1);
  ck_assert(strstr(bi->path, "LinLibertine_RBI.otf") != NULL);
  const ts_face *hb = ts_fonts_find(ctx, "Linux Biolinum O", 700, 0);
  ck_assert_ptr_nonnull(hb);
  ck_assert_int_eq(hb->weight, 700);
  ck_assert_int_eq(hb->serif, 0);
  /* loaded once: same pointer */
  ck_assert_ptr_eq(ts_fonts_find(ctx, "Linux Libertine O", 400, 0), r);
  /* fontconfig substitutes some font for anything: we must refuse that */
  ck_assert_ptr_null(ts_fonts_find(ctx, "No Such Family Anywhere", 400, 0));
  ck_assert_ptr_null(ts_fonts_find(ctx, "Linux Libertine", 400, 0));
  /* CJK in a TTC: the SC face of the collection */
  const ts_face *sc = ts_fonts_find(ctx, "Noto Serif CJK SC", 400, 0);
  ck_assert_ptr_nonnull(sc);
  ck_assert_str_eq(sc->family, "Noto Serif CJK SC");
  ck_assert_int_eq(sc->is_cid, 1);
  const ts_face *pt = ts_fonts_find(ctx, "PT Serif", 400, 0);
  ck_assert_ptr_nonnull(pt);
  ts_ctx_destroy(ctx);
}
END_TEST

START_TEST(fontset_fallbacks)
{
  ts_ctx *ctx = ts_ctx_create();
  ts_diag d;
  ts_diag_init(&d, NULL);
  /* PT Serif covers Latin and Cyrillic only, so every other script falls back */
  ts_font_role role = {{"PT Serif", "No Such Family"}, 2, NULL};
  ts_fontset fs;
  ck_assert_int_eq(ts_fonts_fontset(ctx, &role, 400, 0, NULL, &d, &fs), TS_OK);
  ck_assert_int_ge(fs.n, 6);
  ck_assert_str_eq(fs.faces[0]->family, "PT Serif");
  ck_assert_uint_eq(d.n_warnings, 1); /* the missing family, once */
  ck_assert_str_eq(ts_fontset_pick(&fs, 'a')->family, "PT Serif");
  ck_assert_str_eq(ts_fontset_pick(&fs, 0x0416)->family, "PT Serif");
  ck_assert_str_eq(ts_fontset_pick(&fs, 0x0628)->family, "Noto Naskh Arabic");
  ck_assert_str_eq(ts_fontset_pick(&fs, 0x05D0)->family, "Noto Serif Hebrew");
  ck_assert_str_eq(ts_fontset_pick(&fs, 0x0915)->family, "Noto Serif Devanagari");
  ck_assert_str_eq(ts_fontset_pick(&fs, 0x4E2D)->family, "Noto Serif CJK SC");
  ck_assert_str_eq(ts_fontset_pick(&fs, 0x2689)->family, "DejaVu Sans"); /* black circle with two white dots */
  /* nothing covers a private-use code point: the first face */
  ck_assert_ptr_eq(ts_fontset_pick(&fs, 0xF0000), fs.faces[0]);
  /* the role's later families load only when a character needs them:
   * Libertine lacks U+048A (Cyrillic short I with tail), PT Serif has it.
   * The style's strings may be gone by then (the fontset outlives the
   * document whose style asked for it: ASan checks no copy is kept) */
  char *fam1 = strdup("Linux Libertine O"), *fam2 = strdup("PT Serif");
  ck_assert(fam1 && fam2);
  ts_font_role two = {{fam1, fam2}, 2, NULL};
  ts_fontset f2;
  ck_assert_int_eq(ts_fonts_fontset(ctx, &two, 400, 0, NULL, &d, &f2), TS_OK);
  memset(fam2, 'x', strlen(fam2));
  free(fam1);
  free(fam2);
  ck_assert_str_eq(f2.faces[0]->family, "Linux Libertine O");
  ck_assert_ptr_null(f2.faces[1]); /* not loaded */
  ck_assert_str_eq(ts_fontset_pick(&f2, 'a')->family, "Linux Libertine O");
  ck_assert_str_eq(ts_fontset_pick(&f2, 0x0416)->family, "Linux Libertine O");
  ck_assert_str_eq(ts_fontset_pick(&f2, 0x048A)->family, "PT Serif");
  ck_assert_str_eq(ts_fontset_face(&f2, 1)->family, "PT Serif");
  /* a second fontset warns no more */
  ck_assert_int_eq(ts_fonts_fontset(ctx, &role, 700, 0, NULL, &d, &fs), TS_OK);
  ck_assert_uint_eq(d.n_warnings, 1);
  ck_assert_int_eq(fs.faces[0]->weight, 700);
  /* sans role: sans fallbacks */
  ts_font_role head = {{"Linux Biolinum O"}, 1, NULL};
  ck_assert_int_eq(ts_fonts_fontset(ctx, &head, 700, 0, NULL, &d, &fs), TS_OK);
  ck_assert_str_eq(ts_fontset_pick(&fs, 0x0628)->family, "Noto Sans Arabic");
  ck_assert_str_eq(ts_fontset_pick(&fs, 0x4E2D)->family, "Noto Sans CJK SC");
  const char *const *fam, *const *pkg;
  size_t n = ts_fonts_fallbacks(ctx, TS_ROLE_MONO, &fam, &pkg);
  ck_assert_uint_ge(n, 5);
  ck_assert_str_eq(fam[0], "DejaVu Sans Mono");
  ck_assert_str_eq(pkg[0], "fonts-dejavu-core");
  ts_ctx_destroy(ctx);
}
END_TEST

/* A style's folder is searched (its own font files, not its subfolders,
 * never anything but regular files): with fontconfig limited to an empty
 * configuration (no system fonts), a family is found only once the folder
 * holding its file is given, and a family missing before is found after. */
/* ts_face_has answers U+0000..U+00FF from a bitmap and the rest from the
 * cmap's set: both agree with the set everywhere, on faces with full,
 * partial and no Latin-1 coverage. */
/* Whether f's cmap maps cp, as HarfBuzz reads the font. */
static int cmap_has(const ts_face *f, uint32_t cp) {
  hb_codepoint_t g;
  ck_assert(ts_hb_open(NULL)); /* before the call reads the table's pointer */
  hb_font_t *font = ts_face_font(f);
  return hb_font_get_nominal_glyph(font, cp, &g) != 0;
}

START_TEST(face_has_matches_cmap)
{
  ts_ctx *ctx = ts_ctx_create();
  static const char *const fams[] = {"Linux Libertine O", "DejaVu Sans Mono", "Noto Serif CJK SC",
                                     "Noto Naskh Arabic"};
  int checked = 0;
  for (size_t k = 0; k < sizeof fams / sizeof *fams; k++) {
    const ts_face *f = ts_fonts_find(ctx, fams[k], 400, 0);
    ck_assert_msg(f != NULL, "%s installed", fams[k]);
    int in_latin1 = 0;
    for (uint32_t cp = 0; cp < 0x3000; cp++) {
      ck_assert_int_eq(ts_face_has(f, cp), cmap_has(f, cp));
      in_latin1 += cp < 256 && ts_face_has(f, cp);
    }
    ck_assert_int_eq(ts_face_has(f, 0x4E2D), cmap_has(f, 0x4E2D));
    ck_assert_int_gt(in_latin1, 0);
    checked++;
  }
  ck_assert_int_eq(ts_face_has(NULL, 'a'), 0);
  ck_assert_int_eq(checked, 4);
  ts_ctx_destroy(ctx);
}
END_TEST

START_TEST(style_folder_fonts)
{
  char dir[] = "/tmp/ts_fontdir_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char conf[600], font[600], cache[600];
  snprintf(conf, sizeof conf, "%s/fonts.conf", dir);
  snprintf(font, sizeof font, "%s/copy.ttf", dir);
  snprintf(cache, sizeof cache, "%s/cache", dir);
  FILE *fp = fopen(conf, "w");
  ck_assert_ptr_nonnull(fp);
  fprintf(fp, "<?xml version=\"1.0\"?>\n<fontconfig><cachedir>%s</cachedir></fontconfig>\n", cache);
  fclose(fp);
  size_t len = 0;
  char *data = ts_file_read(DEJAVU, &len, 0);
  ck_assert_ptr_nonnull(data);
  fp = fopen(font, "wb");
  ck_assert_ptr_nonnull(fp);
  ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
  fclose(fp);
  free(data);

  /* what the folder's walk must not touch: a FIFO named like a font (an
   * open() of it blocks for ever) and a subfolder's font */
  char fifo[600], sub[600], subfont[700];
  snprintf(fifo, sizeof fifo, "%s/pipe.ttf", dir);
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  snprintf(sub, sizeof sub, "%s/sub", dir);
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  snprintf(subfont, sizeof subfont, "%s/sans.ttf", sub);
  data = ts_file_read(DEJAVU_SANS, &len, 0);
  ck_assert_ptr_nonnull(data);
  fp = fopen(subfont, "wb");
  ck_assert_ptr_nonnull(fp);
  ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
  fclose(fp);
  free(data);

  setenv("FONTCONFIG_FILE", conf, 1);
  ts_ctx *ctx = ts_ctx_create();
  ck_assert_ptr_null(ts_fonts_find(ctx, "DejaVu Serif", 400, 0)); /* creates the cache */
  unsetenv("FONTCONFIG_FILE");
  ts_diag d;
  ts_diag_init(&d, NULL);
  ts_font_role role = {{"DejaVu Serif"}, 1, NULL};
  ts_fontset fs;
  ck_assert_int_eq(ts_fonts_fontset(ctx, &role, 400, 0, dir, &d, &fs), TS_OK);
  ck_assert_int_ge(fs.n, 1);
  ck_assert_str_eq(fs.faces[0]->family, "DejaVu Serif");
  ck_assert(strncmp(fs.faces[0]->path, dir, strlen(dir)) == 0);
  ck_assert_ptr_eq(ts_fonts_find(ctx, "DejaVu Serif", 400, 0), fs.faces[0]);
  ck_assert_ptr_null(ts_fonts_find(ctx, "DejaVu Sans", 400, 0)); /* subfolders are not read */
  /* the fallbacks are missing here: not warned about while no character
   * needs them, and then named by their package */
  ck_assert_uint_eq(d.n_warnings, 0);
  char pkg[64];
  ck_assert_int_eq(ts_fonts_provider(ctx, TS_ROLE_BODY, 0x4E2D, pkg, sizeof pkg), 1);
  ck_assert_str_eq(pkg, "fonts-noto-cjk");
  ck_assert_int_eq(ts_fonts_provider(ctx, TS_ROLE_BODY, 0x0627, pkg, sizeof pkg), 1);
  ck_assert_str_eq(pkg, "fonts-noto-core");
  ck_assert_int_eq(ts_fonts_provider(ctx, TS_ROLE_BODY, 0x2192, pkg, sizeof pkg), 1); /* → */
  ck_assert_str_eq(pkg, "fonts-dejavu-core");
  /* Thai has no fallback: no package to name (not the symbols' one) */
  ck_assert_int_eq(ts_fonts_provider(ctx, TS_ROLE_BODY, 0x0E01, pkg, sizeof pkg), 0);
  /* Latin's body fallback (DejaVu Serif) is there: nothing to install */
  ck_assert_int_eq(ts_fonts_provider(ctx, TS_ROLE_BODY, 'A', pkg, sizeof pkg), 0);
  ck_assert_str_eq(pkg, "");
  /* a family of the role itself that is missing: told once a run, and again
   * to another run taking the memoised set */
  ts_font_role two = {{"DejaVu Serif", "Nonexistent Serif Zz"}, 2, NULL};
  ck_assert_int_eq(ts_fonts_fontset(ctx, &two, 400, 0, dir, &d, &fs), TS_OK);
  ck_assert_uint_eq(d.n_warnings, 1);
  ck_assert_int_eq(ts_fonts_fontset(ctx, &two, 400, 0, dir, &d, &fs), TS_OK);
  ck_assert_uint_eq(d.n_warnings, 1);
  ts_diag d2;
  ts_diag_init(&d2, NULL);
  ck_assert_uint_ne(d2.run, d.run);
  ck_assert_int_eq(ts_fonts_fontset(ctx, &two, 400, 0, dir, &d2, &fs), TS_OK);
  ck_assert_uint_eq(d2.n_warnings, 1);
  ts_ctx_destroy(ctx);
  unlink(font);
  unlink(conf);
  /* fontconfig's cache files */
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A face described by the face cache whose file changes before it is
 * shaped: its HarfBuzz objects are the empty ones, and the run is told to
 * fail (ts_face_check_readable) rather than set text without glyphs. */
static char cache_dir[256];
START_TEST(face_file_changed)
{
  char dir[300], copy[340];
  snprintf(dir, sizeof dir, "%s/changed", cache_dir);
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  snprintf(copy, sizeof copy, "%s/font.ttf", dir);
  char cmd[800];
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", DEJAVU, copy);
  ck_assert_int_eq(system(cmd), 0);
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", dir, 1), 0);
  const char *why = NULL;
  ts_face *made = ts_face_load(copy, 0, &why);
  ck_assert_ptr_nonnull(made);
  ck_assert_ptr_nonnull(made->lazy_font); /* read from the file */
  ts_face *lean = ts_face_load(copy, 0, &why);
  ck_assert_ptr_nonnull(lean);
  ck_assert_ptr_null(lean->lazy_font); /* from the cache */
  ck_assert_uint_gt(lean->num_glyphs, 0);
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", DEJAVU_SANS, copy); /* other glyphs */
  ck_assert_int_eq(system(cmd), 0);
  char path[400];
  ck_assert_int_eq(ts_face_unreadable(path, sizeof path), 0);
  hb_font_t *font = ts_face_font(lean);
  ck_assert_ptr_nonnull(font);
  ck_assert_uint_eq(hb_face_get_glyph_count(hb_font_get_face(font)), 0);
  hb_codepoint_t g;
  ck_assert(!hb_font_get_nominal_glyph(font, 'A', &g)); /* no glyphs */
  ck_assert_int_eq(ts_face_unreadable(path, sizeof path), 1);
  ck_assert_str_eq(path, copy);
  ts_diag d;
  ts_diag_init(&d, NULL);
  ck_assert_int_eq(ts_face_check_readable(&d), TS_ERR_FONT);
  ck_assert_int_eq(d.n_errors, 1);
  /* the face read before the change keeps its objects */
  ck_assert_int_gt(ts_face_advance(made, 36), 0);
  ts_face_destroy(lean);
  ts_face_destroy(made);
  ck_assert_int_eq(unsetenv("TYPESET_CACHE_DIR"), 0);
}
END_TEST

/* The cache folder of this run of the suite (main makes it): cache_dir, above. */

static void same_face(const ts_face *a, const ts_face *b) {
  ck_assert_str_eq(a->family, b->family);
  ck_assert_str_eq(a->style, b->style);
  ck_assert_str_eq(a->psname, b->psname);
  const int av[] = {a->weight, a->italic, a->ascender, a->descender, a->line_gap, a->cap_height,
                    a->x_height, a->bbox[0], a->bbox[1], a->bbox[2], a->bbox[3],
                    a->italic_angle, a->fixed_pitch, a->serif, a->symbolic, a->is_cff,
                    a->is_cid, a->has_smcp, a->has_sups, a->has_subs, (int)a->hyphen_cp,
                    (int)a->upem, (int)a->num_glyphs, a->no_embed};
  const int bv[] = {b->weight, b->italic, b->ascender, b->descender, b->line_gap, b->cap_height,
                    b->x_height, b->bbox[0], b->bbox[1], b->bbox[2], b->bbox[3],
                    b->italic_angle, b->fixed_pitch, b->serif, b->symbolic, b->is_cff,
                    b->is_cid, b->has_smcp, b->has_sups, b->has_subs, (int)b->hyphen_cp,
                    (int)b->upem, (int)b->num_glyphs, b->no_embed};
  for (size_t i = 0; i < sizeof av / sizeof av[0]; i++)
    ck_assert_msg(av[i] == bv[i], "%s: field %zu: %d != %d", a->path, i, av[i], bv[i]);
  ck_assert_msg(ts_cpset_equal(&a->unicodes, &b->unicodes), "%s: other characters", a->path);
  /* the set is the cmap's, as HarfBuzz collects it */
  ck_assert(ts_hb_open(NULL));
  hb_set_t *u = hb_set_create();
  hb_face_collect_unicodes(ts_face_hbface(a), u);
  size_t n = 0;
  for (hb_codepoint_t lo = HB_SET_VALUE_INVALID, hi = HB_SET_VALUE_INVALID;
       hb_set_next_range(u, &lo, &hi); n++) {
    ck_assert_uint_lt(n, b->unicodes.n);
    ck_assert_uint_eq(b->unicodes.r[n].lo, lo);
    ck_assert_uint_eq(b->unicodes.r[n].hi, hi);
  }
  ck_assert_uint_eq(n, b->unicodes.n);
  hb_set_destroy(u);
  for (int i = 0; i < 4; i++) ck_assert(a->latin1[i] == b->latin1[i]);
  ck_assert_int_eq(a->symbolic, b->symbolic);
  ck_assert_int_eq(a->gid_to_cid != NULL, b->gid_to_cid != NULL);
  if (a->gid_to_cid)
    ck_assert(memcmp(a->gid_to_cid, b->gid_to_cid, a->num_glyphs * sizeof *a->gid_to_cid) == 0);
}

/* What FreeType and HarfBuzz read of a face is kept in the cache folder: a later load
 * takes it from there (the file read, not made again) and gets the very
 * same face; a damaged file is a miss and is made again. */
START_TEST(face_info_cache)
{
  static const struct { const char *path; unsigned index; } fonts[] = {
    {DEJAVU, 0}, {LIB "LinLibertine_R.otf", 0}, {LIB "LinLibertine_RI.otf", 0},
    {LIB "LinBiolinum_RB.otf", 0}, {CJK, 0}, {CJK, 2}, {NOTO_MONO, 0}};
  const size_t nf = sizeof fonts / sizeof fonts[0];
  char dir[300];
  snprintf(dir, sizeof dir, "%s/faces", cache_dir);
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  ts_face *ft[7], *made[7], *read[7];
  const char *why = NULL;
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", "off", 1), 0);
  for (size_t i = 0; i < nf; i++) {
    ft[i] = ts_face_load(fonts[i].path, fonts[i].index, &why);
    ck_assert_ptr_nonnull(ft[i]);
  }
  /* what the cache must carry includes set features and CFF outlines */
  ck_assert(ft[1]->is_cff && ft[1]->has_smcp && ft[1]->has_sups && !ft[1]->has_subs);
  ck_assert(!ft[6]->is_cff && ft[6]->has_smcp && ft[6]->has_sups && ft[6]->has_subs);
  ck_assert_uint_eq(ts_test_cache_files(dir, "face-", NULL, 0, NULL), 0);
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", dir, 1), 0);
  for (size_t i = 0; i < nf; i++) {
    made[i] = ts_face_load(fonts[i].path, fonts[i].index, &why);
    ck_assert_ptr_nonnull(made[i]);
    same_face(ft[i], made[i]);
  }
  char names[8][64];
  ck_assert_uint_eq(ts_test_cache_files(dir, "face-", names, 8, NULL), nf);
  struct stat before[7], after;
  char p[600];
  for (size_t i = 0; i < nf; i++) {
    snprintf(p, sizeof p, "%.299s/%.63s", dir, names[i]);
    ck_assert_int_eq(stat(p, &before[i]), 0);
  }
  ts_test_cache_age(dir, "face-");
  for (size_t i = 0; i < nf; i++) {
    read[i] = ts_face_load(fonts[i].path, fonts[i].index, &why);
    ck_assert_ptr_nonnull(read[i]);
    /* from the cache: the font file is opened only when the face is shaped */
    ck_assert_msg(read[i]->lazy_font == NULL, "%s: HarfBuzz objects made at load", fonts[i].path);
    same_face(ft[i], read[i]);
    for (uint32_t g = 0; g < 40 && g < ft[i]->num_glyphs; g++)
      ck_assert_int_eq(ts_face_advance(read[i], g), ts_face_advance(ft[i], g));
    ck_assert_ptr_nonnull(read[i]->lazy_font);
    ck_assert_int_eq(hb_face_get_glyph_count(ts_face_hbface(read[i])), ft[i]->num_glyphs);
    ts_face_destroy(read[i]);
  }
  char unread[8];
  ck_assert_int_eq(ts_face_unreadable(unread, sizeof unread), 0);
  time_t oldest;
  ck_assert_uint_eq(ts_test_cache_files(dir, "face-", NULL, 0, &oldest), nf);
  ck_assert_msg(oldest > 978307200, "a face file was not read");
  for (size_t i = 0; i < nf; i++) {
    snprintf(p, sizeof p, "%.299s/%.63s", dir, names[i]);
    ck_assert_int_eq(stat(p, &after), 0);
    ck_assert_msg(after.st_ino == before[i].st_ino, "%s was made again, not read", names[i]);
  }
  /* damaged files: misses, the same faces, the files made again */
  for (size_t i = 0; i < nf; i++) {
    snprintf(p, sizeof p, "%.299s/%.63s", dir, names[i]);
    if (i % 2) ts_test_flip_byte(p);
    else ck_assert_int_eq(truncate(p, before[i].st_size / 2), 0);
  }
  for (size_t i = 0; i < nf; i++) {
    read[i] = ts_face_load(fonts[i].path, fonts[i].index, &why);
    ck_assert_ptr_nonnull(read[i]);
    same_face(ft[i], read[i]);
    ts_face_destroy(read[i]);
  }
  for (size_t i = 0; i < nf; i++) {
    snprintf(p, sizeof p, "%.299s/%.63s", dir, names[i]);
    ck_assert_int_eq(stat(p, &after), 0);
    ck_assert_int_eq(after.st_size, before[i].st_size);
    ck_assert_msg(after.st_ino != before[i].st_ino, "%s was not made again", names[i]);
  }
  for (size_t i = 0; i < nf; i++) {
    ts_face_destroy(ft[i]);
    ts_face_destroy(made[i]);
  }
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", cache_dir, 1), 0);
}
END_TEST

/* A fresh context's look-up of family at 400 upright: its face's file into
 * path ("" when none); returns whether fontconfig had to be set up.  The
 * context is destroyed, which writes the memo when it may be. */
static int fresh_lookup(const char *family, char *path, size_t n)
{
  ts_ctx *ctx = ts_ctx_create();
  ck_assert_ptr_nonnull(ctx);
  const ts_face *f = ts_fonts_find(ctx, family, 400, 0);
  snprintf(path, n, "%s", f ? f->path : "");
  int used = ts_fonts_fontconfig_used(ctx);
  ts_ctx_destroy(ctx);
  return used;
}

/* Sets path's times to `secs` seconds before now. */
static void set_age(const char *path, int secs)
{
  struct timespec t[2];
  ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &t[0]), 0);
  t[0].tv_sec -= secs;
  t[0].tv_nsec = 0;
  t[1] = t[0];
  ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* Writes DejaVu Serif renamed "NAME Serif" to path (name: six ASCII
 * letters, as many as "DejaVu", so the name table stays whole). */
static void write_renamed_font(const char *path, const char *name)
{
  size_t len = 0;
  char *data = ts_file_read(DEJAVU, &len, 0);
  ck_assert_ptr_nonnull(data);
  static const char from[] = "\0D\0e\0j\0a\0V\0u";
  char to[12];
  ck_assert_uint_eq(strlen(name), 6);
  for (int k = 0; k < 6; k++) to[2 * k] = 0, to[2 * k + 1] = name[k];
  size_t renamed = 0;
  for (size_t i = 0; i + 12 <= len; i++) {
    if (!memcmp(data + i, "DejaVu", 6)) memcpy(data + i, name, 6), renamed++;
    else if (!memcmp(data + i, from, 12)) memcpy(data + i, to, 12), renamed++;
  }
  ck_assert_uint_ge(renamed, 2);
  FILE *fp = fopen(path, "wb");
  ck_assert_ptr_nonnull(fp);
  ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
  ck_assert_int_eq(fclose(fp), 0);
  free(data);
}

/* fontconfig's answers are kept between processes and hold only while the
 * font folders they were read from have not changed: a font installed in
 * ~/.fonts, or removed, is seen by the next process; a memo damaged, or
 * made while a folder was changing, is no memo; the user's own
 * configuration is never memoised. */
START_TEST(answers_memo)
{
  char home[] = "/tmp/ts-fonts-home-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(home));
  char cache[300], fonts[300], font[400], path[600], names[2][64];
  snprintf(cache, sizeof cache, "%s/cache", home);
  snprintf(fonts, sizeof fonts, "%s/.fonts", home);
  snprintf(font, sizeof font, "%s/zz.ttf", fonts);
  ck_assert_int_eq(mkdir(cache, 0700), 0);
  ck_assert_int_eq(setenv("HOME", home, 1), 0);
  ck_assert_int_eq(unsetenv("XDG_DATA_HOME"), 0);
  ck_assert_int_eq(unsetenv("TYPESET_FONTCONFIG"), 0);
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", cache, 1), 0);

  /* no memo yet: fontconfig answers, and the memo is written */
  ck_assert_int_eq(fresh_lookup("Zzmemo Serif", path, sizeof path), 1);
  ck_assert_str_eq(path, "");
  ck_assert_uint_eq(ts_test_cache_files(cache, "fcanswers-", names, 2, NULL), 1);
  /* the memo answers, fontconfig untouched; a new question is asked of
   * fontconfig and joins the memo */
  ck_assert_int_eq(fresh_lookup("Zzmemo Serif", path, sizeof path), 0);
  ck_assert_str_eq(path, "");
  ck_assert_int_eq(fresh_lookup("Linux Libertine O", path, sizeof path), 1);
  ck_assert_str_eq(path, LIB "LinLibertine_R.otf");
  ck_assert_int_eq(fresh_lookup("Linux Libertine O", path, sizeof path), 0);
  ck_assert_str_eq(path, LIB "LinLibertine_R.otf");
  ck_assert_int_eq(fresh_lookup("Zzmemo Serif", path, sizeof path), 0);

  /* a font of that family installed */
  ck_assert_int_eq(mkdir(fonts, 0700), 0);
  write_renamed_font(font, "Zzmemo");
  set_age(font, 100);
  set_age(fonts, 100);
  ck_assert_int_eq(fresh_lookup("Zzmemo Serif", path, sizeof path), 1);
  ck_assert_str_eq(path, font);
  ck_assert_int_eq(fresh_lookup("Zzmemo Serif", path, sizeof path), 0);
  ck_assert_str_eq(path, font);
  /* the answers read before the change are all gone (any family could have
   * gained a face) */
  ck_assert_int_eq(fresh_lookup("Linux Libertine O", path, sizeof path), 1);
  ck_assert_str_eq(path, LIB "LinLibertine_R.otf");
  ck_assert_int_eq(fresh_lookup("Linux Libertine O", path, sizeof path), 0);

  /* removed: seen at once; while the folder's change is that recent the
   * answers are not kept (fontconfig might have read the folder before it),
   * once it is older they are */
  ck_assert_int_eq(unlink(font), 0);
  ck_assert_int_eq(fresh_lookup("Zzmemo Serif", path, sizeof path), 1);
  ck_assert_str_eq(path, "");
  ck_assert_int_eq(fresh_lookup("Zzmemo Serif", path, sizeof path), 1);
  set_age(fonts, 50);
  ck_assert_int_eq(fresh_lookup("Zzmemo Serif", path, sizeof path), 1);
  ck_assert_str_eq(path, "");
  ck_assert_int_eq(fresh_lookup("Zzmemo Serif", path, sizeof path), 0);
  ck_assert_str_eq(path, "");

  /* a damaged memo is a miss, answered by fontconfig and written again */
  ck_assert_uint_eq(ts_test_cache_files(cache, "fcanswers-", names, 2, NULL), 1);
  char memo[400];
  snprintf(memo, sizeof memo, "%s/%.63s", cache, names[0]);
  ts_test_flip_byte(memo);
  ck_assert_int_eq(fresh_lookup("Linux Libertine O", path, sizeof path), 1);
  ck_assert_str_eq(path, LIB "LinLibertine_R.otf");
  ck_assert_int_eq(fresh_lookup("Linux Libertine O", path, sizeof path), 0);

  /* the fonts changing while a process runs: what it took from the memo is
   * not written back under the folders' new stamps */
  ts_ctx *ctx = ts_ctx_create();
  ck_assert_ptr_nonnull(ctx);
  ck_assert_ptr_nonnull(ts_fonts_find(ctx, "Linux Libertine O", 400, 0));
  ck_assert_int_eq(ts_fonts_fontconfig_used(ctx), 0);
  write_renamed_font(font, "Zzmemo");
  set_age(font, 20);
  set_age(fonts, 20);
  const ts_face *z = ts_fonts_find(ctx, "Zzmemo Serif", 400, 0);
  ck_assert_ptr_nonnull(z);
  ck_assert_str_eq(z->path, font);
  ck_assert_int_eq(ts_fonts_fontconfig_used(ctx), 1);
  ts_ctx_destroy(ctx);
  ck_assert_int_eq(fresh_lookup("Zzmemo Serif", path, sizeof path), 0);
  ck_assert_str_eq(path, font);
  ck_assert_int_eq(fresh_lookup("Linux Libertine O", path, sizeof path), 1);

  /* a style's folder: without fonts it needs no fontconfig; with fonts, no
   * answer given after it joined is kept (it is the style's, not the
   * machine's) */
  char style[300], sfont[400];
  snprintf(style, sizeof style, "%s/style", home);
  snprintf(sfont, sizeof sfont, "%s/st.ttf", style);
  ck_assert_int_eq(mkdir(style, 0700), 0);
  ts_diag d;
  ts_diag_init(&d, NULL);
  ts_font_role role = {{"Linux Libertine O"}, 1, NULL};
  ts_fontset fs;
  for (int i = 0; i < 2; i++) { /* the first asks about the fallbacks */
    ctx = ts_ctx_create();
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(ts_fonts_fontset(ctx, &role, 400, 0, style, &d, &fs), TS_OK);
    ck_assert_str_eq(fs.faces[0]->path, LIB "LinLibertine_R.otf");
    if (i) ck_assert_int_eq(ts_fonts_fontconfig_used(ctx), 0);
    ts_ctx_destroy(ctx);
  }
  write_renamed_font(sfont, "Zzstyl");
  ctx = ts_ctx_create();
  ck_assert_ptr_nonnull(ctx);
  ck_assert_int_eq(ts_fonts_check_dir(ctx, style, &d), TS_OK);
  ck_assert_int_eq(ts_fonts_fontconfig_used(ctx), 1);
  z = ts_fonts_find(ctx, "Zzstyl Serif", 400, 0);
  ck_assert_ptr_nonnull(z);
  ck_assert_str_eq(z->path, sfont);
  ts_ctx_destroy(ctx);
  ck_assert_int_eq(fresh_lookup("Zzstyl Serif", path, sizeof path), 1);
  ck_assert_str_eq(path, "");

  /* the system's whole configuration, or the user's: never memoised */
  ck_assert_int_eq(setenv("TYPESET_FONTCONFIG", "system", 1), 0);
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(fresh_lookup("Linux Libertine O", path, sizeof path), 1);
    ck_assert_str_eq(path, LIB "LinLibertine_R.otf");
  }
  ck_assert_int_eq(unsetenv("TYPESET_FONTCONFIG"), 0);
  /* nor with the cache folder off */
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", "off", 1), 0);
  ck_assert_int_eq(fresh_lookup("Linux Libertine O", path, sizeof path), 1);

  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", cache_dir, 1), 0);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", home);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("fonts");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, load_truetype);
  tcase_add_test(tc, load_otf_cff);
  tcase_add_test(tc, load_cid_ttc);
  tcase_add_test(tc, refuse_non_font);
  tcase_add_test(tc, find_family);
  tcase_add_test(tc, fontset_fallbacks);
  tcase_add_test(tc, style_folder_fonts);
  tcase_add_test(tc, face_has_matches_cmap);
  tcase_add_test(tc, face_info_cache);
  tcase_add_test(tc, face_file_changed);
  tcase_add_test(tc, answers_memo);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  /* the suite calls HarfBuzz itself, through typeset's table of it (fonts/hb_api.h) */
  if (!ts_hb_open(NULL)) return 1;
  /* the files this suite's faces keep go to a folder of its own */
  snprintf(cache_dir, sizeof cache_dir, "/tmp/ts-fonts-cache-XXXXXX");
  if (!mkdtemp(cache_dir)) return EXIT_FAILURE;
  setenv("TYPESET_CACHE_DIR", cache_dir, 1);
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_dir);
  if (system(cmd) != 0) failed++;
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
