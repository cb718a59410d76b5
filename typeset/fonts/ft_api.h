/* ft_api.h — FreeType, opened when a face is first read or a cover first
 * drawn (ft_api.c).
 *
 * Linking FreeType made every process load it with libpng, zlib and
 * Brotli at start-up (~0.5 ms of a fresh process here), yet what typeset
 * asks FreeType of a face (names, metrics, the CID map) is kept by the face
 * cache (face.c) and a cover drawn before by the cover cache, so an EPUB
 * from the caches needs none of it.  FreeType is now opened with dlopen by
 * ts_ft_open (TS_FT_SONAME, meson.build) and called through the table below
 * (core: ts_lazylib).  Include this instead of FreeType's headers (it
 * includes those typeset and fontconfig use, before redefining the names),
 * and call ts_ft_open before any FT_ function.  The names below are every
 * FreeType function typeset calls and those the static fontconfig calls,
 * which ftshim.c forwards here in an executable that links fontconfig
 * statically (typeset/cli/meson.build). */
#ifndef TS_FT_API_H
#define TS_FT_API_H

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_ADVANCES_H
#include FT_BDF_H
#include FT_CID_H
#include FT_FONT_FORMATS_H
#include FT_MULTIPLE_MASTERS_H
#include FT_OUTLINE_H
#include FT_SFNT_NAMES_H
#include FT_TRUETYPE_TABLES_H
#include FT_TYPE1_TABLES_H

#include "core/ts_core.h"

#define TS_FT_FUNCS(X) \
  X(FT_Done_Face) \
  X(FT_Done_FreeType) \
  X(FT_Done_MM_Var) \
  X(FT_Get_Advance) \
  X(FT_Get_BDF_Property) \
  X(FT_Get_CID_From_Glyph_Index) \
  X(FT_Get_CID_Is_Internally_CID_Keyed) \
  X(FT_Get_Char_Index) \
  X(FT_Get_First_Char) \
  X(FT_Get_MM_Var) \
  X(FT_Get_Next_Char) \
  X(FT_Get_PS_Font_Info) \
  X(FT_Get_Postscript_Name) \
  X(FT_Get_Sfnt_Name) \
  X(FT_Get_Sfnt_Name_Count) \
  X(FT_Get_Sfnt_Table) \
  X(FT_Get_X11_Font_Format) \
  X(FT_Init_FreeType) \
  X(FT_Load_Glyph) \
  X(FT_Load_Sfnt_Table) \
  X(FT_New_Face) \
  X(FT_New_Memory_Face) \
  X(FT_Outline_Translate) \
  X(FT_Render_Glyph) \
  X(FT_Select_Charmap) \
  X(FT_Select_Size) \
  X(FT_Set_Char_Size) \
  X(FT_Set_Var_Design_Coordinates)

typedef TS_LAZY_TABLE(TS_FT_FUNCS) ts_ft_api;
extern ts_ft_api ts_ft;

/* 1 when FreeType is open (on the first call; thread-safe, and without a
 * lock once open), else 0 and *why (when given) says why. */
int ts_ft_open(const char **why);

#ifndef TS_FT_API_IMPL
#define FT_Done_Face (ts_ft.f.FT_Done_Face)
#define FT_Done_FreeType (ts_ft.f.FT_Done_FreeType)
#define FT_Done_MM_Var (ts_ft.f.FT_Done_MM_Var)
#define FT_Get_Advance (ts_ft.f.FT_Get_Advance)
#define FT_Get_BDF_Property (ts_ft.f.FT_Get_BDF_Property)
#define FT_Get_CID_From_Glyph_Index (ts_ft.f.FT_Get_CID_From_Glyph_Index)
#define FT_Get_CID_Is_Internally_CID_Keyed (ts_ft.f.FT_Get_CID_Is_Internally_CID_Keyed)
#define FT_Get_Char_Index (ts_ft.f.FT_Get_Char_Index)
#define FT_Get_First_Char (ts_ft.f.FT_Get_First_Char)
#define FT_Get_MM_Var (ts_ft.f.FT_Get_MM_Var)
#define FT_Get_Next_Char (ts_ft.f.FT_Get_Next_Char)
#define FT_Get_PS_Font_Info (ts_ft.f.FT_Get_PS_Font_Info)
#define FT_Get_Postscript_Name (ts_ft.f.FT_Get_Postscript_Name)
#define FT_Get_Sfnt_Name (ts_ft.f.FT_Get_Sfnt_Name)
#define FT_Get_Sfnt_Name_Count (ts_ft.f.FT_Get_Sfnt_Name_Count)
#define FT_Get_Sfnt_Table (ts_ft.f.FT_Get_Sfnt_Table)
#define FT_Get_X11_Font_Format (ts_ft.f.FT_Get_X11_Font_Format)
#define FT_Init_FreeType (ts_ft.f.FT_Init_FreeType)
#define FT_Load_Glyph (ts_ft.f.FT_Load_Glyph)
#define FT_Load_Sfnt_Table (ts_ft.f.FT_Load_Sfnt_Table)
#define FT_New_Face (ts_ft.f.FT_New_Face)
#define FT_New_Memory_Face (ts_ft.f.FT_New_Memory_Face)
#define FT_Outline_Translate (ts_ft.f.FT_Outline_Translate)
#define FT_Render_Glyph (ts_ft.f.FT_Render_Glyph)
#define FT_Select_Charmap (ts_ft.f.FT_Select_Charmap)
#define FT_Select_Size (ts_ft.f.FT_Select_Size)
#define FT_Set_Char_Size (ts_ft.f.FT_Set_Char_Size)
#define FT_Set_Var_Design_Coordinates (ts_ft.f.FT_Set_Var_Design_Coordinates)
#endif

#endif
