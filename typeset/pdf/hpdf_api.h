/* hpdf_api.h — libharu, opened when the first PDF is written (hpdf_api.c).
 *
 * Every process used to load libharu at start-up, an EPUB-only run too
 * (~0.3 ms and 15 page faults of a fresh process here).  It is now opened
 * with dlopen by ts_hpdf_open (TS_HPDF_SONAME, the soname of the library
 * the build found, meson.build) and called through the table below
 * (core: ts_lazylib); include this after <hpdf.h>, and call ts_hpdf_open
 * before any HPDF_ function.  The names below are every libharu function
 * typeset calls: a new one is added here, or the build fails (the object
 * would name it and the executable does not link libharu). */
#ifndef TS_HPDF_API_H
#define TS_HPDF_API_H

#include <hpdf.h>

#include "core/ts_core.h"

#define TS_HPDF_FUNCS(X) \
  X(HPDF_AddPage) \
  X(HPDF_AddPageLabel) \
  X(HPDF_Array_Add) \
  X(HPDF_Array_AddName) \
  X(HPDF_Array_AddNumber) \
  X(HPDF_Array_AddReal) \
  X(HPDF_Array_Clear) \
  X(HPDF_Array_Items) \
  X(HPDF_Array_New) \
  X(HPDF_Binary_New) \
  X(HPDF_CallbackReader_New) \
  X(HPDF_CallbackWriter_New) \
  X(HPDF_CreateOutline) \
  X(HPDF_DictStream_New) \
  X(HPDF_Dict_Add) \
  X(HPDF_Dict_AddBoolean) \
  X(HPDF_Dict_AddName) \
  X(HPDF_Dict_AddNumber) \
  X(HPDF_Dict_New) \
  X(HPDF_Free) \
  X(HPDF_GetError) \
  X(HPDF_GetVersion) \
  X(HPDF_Image_AddSMask) \
  X(HPDF_LinkAnnot_SetBorderStyle) \
  X(HPDF_LoadJpegImageFromFile) \
  X(HPDF_LoadPngImageFromFile) \
  X(HPDF_LoadRawImageFromMem) \
  X(HPDF_MemStream_GetBufCount) \
  X(HPDF_MemStream_GetBufPtr) \
  X(HPDF_NewEx) \
  X(HPDF_Null_New) \
  X(HPDF_Obj_Free) \
  X(HPDF_Outline_SetDestination) \
  X(HPDF_Outline_SetOpened) \
  X(HPDF_Page_CreateDestination) \
  X(HPDF_Page_CreateLinkAnnot) \
  X(HPDF_Page_CreateURILinkAnnot) \
  X(HPDF_Page_GetGMode) \
  X(HPDF_Page_GetLocalFontName) \
  X(HPDF_Page_GetXObjectName) \
  X(HPDF_Page_SetHeight) \
  X(HPDF_Page_SetWidth) \
  X(HPDF_SaveToStream) \
  X(HPDF_SetCompressionMode) \
  X(HPDF_SetError) \
  X(HPDF_SetInfoAttr) \
  X(HPDF_SetPageMode) \
  X(HPDF_Stream_Free) \
  X(HPDF_Stream_Write) \
  X(HPDF_Stream_WriteStr) \
  X(HPDF_String_New) \
  X(HPDF_Xref_Add) \
  X(HPDF_Xref_GetEntry)

typedef TS_LAZY_TABLE(TS_HPDF_FUNCS) ts_hpdf_api;
extern ts_hpdf_api ts_hpdf;

/* 1 when libharu is open (on the first call; thread-safe), else 0 and *why
 * (when given) says why. */
int ts_hpdf_open(const char **why);

#ifndef TS_HPDF_API_IMPL
#define HPDF_AddPage (ts_hpdf.f.HPDF_AddPage)
#define HPDF_AddPageLabel (ts_hpdf.f.HPDF_AddPageLabel)
#define HPDF_Array_Add (ts_hpdf.f.HPDF_Array_Add)
#define HPDF_Array_AddName (ts_hpdf.f.HPDF_Array_AddName)
#define HPDF_Array_AddNumber (ts_hpdf.f.HPDF_Array_AddNumber)
#define HPDF_Array_AddReal (ts_hpdf.f.HPDF_Array_AddReal)
#define HPDF_Array_Clear (ts_hpdf.f.HPDF_Array_Clear)
#define HPDF_Array_Items (ts_hpdf.f.HPDF_Array_Items)
#define HPDF_Array_New (ts_hpdf.f.HPDF_Array_New)
#define HPDF_Binary_New (ts_hpdf.f.HPDF_Binary_New)
#define HPDF_CallbackReader_New (ts_hpdf.f.HPDF_CallbackReader_New)
#define HPDF_CallbackWriter_New (ts_hpdf.f.HPDF_CallbackWriter_New)
#define HPDF_CreateOutline (ts_hpdf.f.HPDF_CreateOutline)
#define HPDF_DictStream_New (ts_hpdf.f.HPDF_DictStream_New)
#define HPDF_Dict_Add (ts_hpdf.f.HPDF_Dict_Add)
#define HPDF_Dict_AddBoolean (ts_hpdf.f.HPDF_Dict_AddBoolean)
#define HPDF_Dict_AddName (ts_hpdf.f.HPDF_Dict_AddName)
#define HPDF_Dict_AddNumber (ts_hpdf.f.HPDF_Dict_AddNumber)
#define HPDF_Dict_New (ts_hpdf.f.HPDF_Dict_New)
#define HPDF_Free (ts_hpdf.f.HPDF_Free)
#define HPDF_GetError (ts_hpdf.f.HPDF_GetError)
#define HPDF_GetVersion (ts_hpdf.f.HPDF_GetVersion)
#define HPDF_Image_AddSMask (ts_hpdf.f.HPDF_Image_AddSMask)
#define HPDF_LinkAnnot_SetBorderStyle (ts_hpdf.f.HPDF_LinkAnnot_SetBorderStyle)
#define HPDF_LoadJpegImageFromFile (ts_hpdf.f.HPDF_LoadJpegImageFromFile)
#define HPDF_LoadPngImageFromFile (ts_hpdf.f.HPDF_LoadPngImageFromFile)
#define HPDF_LoadRawImageFromMem (ts_hpdf.f.HPDF_LoadRawImageFromMem)
#define HPDF_MemStream_GetBufCount (ts_hpdf.f.HPDF_MemStream_GetBufCount)
#define HPDF_MemStream_GetBufPtr (ts_hpdf.f.HPDF_MemStream_GetBufPtr)
#define HPDF_NewEx (ts_hpdf.f.HPDF_NewEx)
#define HPDF_Null_New (ts_hpdf.f.HPDF_Null_New)
#define HPDF_Obj_Free (ts_hpdf.f.HPDF_Obj_Free)
#define HPDF_Outline_SetDestination (ts_hpdf.f.HPDF_Outline_SetDestination)
#define HPDF_Outline_SetOpened (ts_hpdf.f.HPDF_Outline_SetOpened)
#define HPDF_Page_CreateDestination (ts_hpdf.f.HPDF_Page_CreateDestination)
#define HPDF_Page_CreateLinkAnnot (ts_hpdf.f.HPDF_Page_CreateLinkAnnot)
#define HPDF_Page_CreateURILinkAnnot (ts_hpdf.f.HPDF_Page_CreateURILinkAnnot)
#define HPDF_Page_GetGMode (ts_hpdf.f.HPDF_Page_GetGMode)
#define HPDF_Page_GetLocalFontName (ts_hpdf.f.HPDF_Page_GetLocalFontName)
#define HPDF_Page_GetXObjectName (ts_hpdf.f.HPDF_Page_GetXObjectName)
#define HPDF_Page_SetHeight (ts_hpdf.f.HPDF_Page_SetHeight)
#define HPDF_Page_SetWidth (ts_hpdf.f.HPDF_Page_SetWidth)
#define HPDF_SaveToStream (ts_hpdf.f.HPDF_SaveToStream)
#define HPDF_SetCompressionMode (ts_hpdf.f.HPDF_SetCompressionMode)
#define HPDF_SetError (ts_hpdf.f.HPDF_SetError)
#define HPDF_SetInfoAttr (ts_hpdf.f.HPDF_SetInfoAttr)
#define HPDF_SetPageMode (ts_hpdf.f.HPDF_SetPageMode)
#define HPDF_Stream_Free (ts_hpdf.f.HPDF_Stream_Free)
#define HPDF_Stream_Write (ts_hpdf.f.HPDF_Stream_Write)
#define HPDF_Stream_WriteStr (ts_hpdf.f.HPDF_Stream_WriteStr)
#define HPDF_String_New (ts_hpdf.f.HPDF_String_New)
#define HPDF_Xref_Add (ts_hpdf.f.HPDF_Xref_Add)
#define HPDF_Xref_GetEntry (ts_hpdf.f.HPDF_Xref_GetEntry)
#endif

#endif
