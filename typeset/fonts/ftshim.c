/* ftshim.c — the FreeType functions the static fontconfig calls, forwarded
 * to FreeType opened on first use (ft_api.h).
 *
 * Built into the executable only when it links fontconfig's archive
 * (typeset/cli/meson.build): fontconfig reads a font with FreeType when it
 * scans a font folder its own caches do not cover, which a run whose
 * answers the fonts memo holds never does.  Every one of these calls
 * starts from FT_Init_FreeType (the others take its library or a face made
 * from it), so that one opens FreeType, and fails as FreeType does when it
 * cannot be opened: fontconfig then skips the font.  Not exported: no
 * shared object the executable links refers to these names, so a FreeType
 * that HarfBuzz loads keeps its own. */
#define TS_FT_API_IMPL /* the real names here, the table's pointers called */
#include "fonts/ft_api.h"

FT_Error FT_Init_FreeType(FT_Library *alibrary) {
  if (!ts_ft_open(NULL)) {
    *alibrary = NULL;
    return FT_Err_Cannot_Open_Resource;
  }
  return ts_ft.f.FT_Init_FreeType(alibrary);
}

FT_Error FT_Done_FreeType(FT_Library library) { return ts_ft.f.FT_Done_FreeType(library); }

FT_Error FT_New_Face(FT_Library library, const char *filepathname, FT_Long face_index,
                     FT_Face *aface) {
  return ts_ft.f.FT_New_Face(library, filepathname, face_index, aface);
}

FT_Error FT_Done_Face(FT_Face face) { return ts_ft.f.FT_Done_Face(face); }

FT_Error FT_Done_MM_Var(FT_Library library, FT_MM_Var *amaster) {
  return ts_ft.f.FT_Done_MM_Var(library, amaster);
}

FT_Error FT_Get_Advance(FT_Face face, FT_UInt gindex, FT_Int32 load_flags, FT_Fixed *padvance) {
  return ts_ft.f.FT_Get_Advance(face, gindex, load_flags, padvance);
}

FT_Error FT_Get_BDF_Property(FT_Face face, const char *prop_name, BDF_PropertyRec *aproperty) {
  return ts_ft.f.FT_Get_BDF_Property(face, prop_name, aproperty);
}

FT_UInt FT_Get_Char_Index(FT_Face face, FT_ULong charcode) {
  return ts_ft.f.FT_Get_Char_Index(face, charcode);
}

FT_ULong FT_Get_First_Char(FT_Face face, FT_UInt *agindex) {
  return ts_ft.f.FT_Get_First_Char(face, agindex);
}

FT_Error FT_Get_MM_Var(FT_Face face, FT_MM_Var **amaster) {
  return ts_ft.f.FT_Get_MM_Var(face, amaster);
}

FT_ULong FT_Get_Next_Char(FT_Face face, FT_ULong char_code, FT_UInt *agindex) {
  return ts_ft.f.FT_Get_Next_Char(face, char_code, agindex);
}

FT_Error FT_Get_PS_Font_Info(FT_Face face, PS_FontInfo afont_info) {
  return ts_ft.f.FT_Get_PS_Font_Info(face, afont_info);
}

const char *FT_Get_Postscript_Name(FT_Face face) { return ts_ft.f.FT_Get_Postscript_Name(face); }

FT_Error FT_Get_Sfnt_Name(FT_Face face, FT_UInt idx, FT_SfntName *aname) {
  return ts_ft.f.FT_Get_Sfnt_Name(face, idx, aname);
}

FT_UInt FT_Get_Sfnt_Name_Count(FT_Face face) { return ts_ft.f.FT_Get_Sfnt_Name_Count(face); }

void *FT_Get_Sfnt_Table(FT_Face face, FT_Sfnt_Tag tag) {
  return ts_ft.f.FT_Get_Sfnt_Table(face, tag);
}

const char *FT_Get_X11_Font_Format(FT_Face face) { return ts_ft.f.FT_Get_X11_Font_Format(face); }

FT_Error FT_Load_Glyph(FT_Face face, FT_UInt glyph_index, FT_Int32 load_flags) {
  return ts_ft.f.FT_Load_Glyph(face, glyph_index, load_flags);
}

FT_Error FT_Load_Sfnt_Table(FT_Face face, FT_ULong tag, FT_Long offset, FT_Byte *buffer,
                            FT_ULong *length) {
  return ts_ft.f.FT_Load_Sfnt_Table(face, tag, offset, buffer, length);
}

FT_Error FT_Select_Charmap(FT_Face face, FT_Encoding encoding) {
  return ts_ft.f.FT_Select_Charmap(face, encoding);
}

FT_Error FT_Select_Size(FT_Face face, FT_Int strike_index) {
  return ts_ft.f.FT_Select_Size(face, strike_index);
}

FT_Error FT_Set_Var_Design_Coordinates(FT_Face face, FT_UInt num_coords, FT_Fixed *coords) {
  return ts_ft.f.FT_Set_Var_Design_Coordinates(face, num_coords, coords);
}
