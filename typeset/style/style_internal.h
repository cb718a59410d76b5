/* style_internal.h — for the style stage's own tests, not part of the
 * interface. */
#ifndef TS_STYLE_INTERNAL_H
#define TS_STYLE_INTERNAL_H

#include "style/ts_style.h"

/* Like ts_style_load_string but starts from `onto` (copies its strings)
 * instead of the built-in default.  Lets a test check that
 * styles/default.yaml sets every field: applied onto a poisoned style it must
 * give the same dump as ts_style_default(). */
ts_status ts_style_load_string_onto(ts_ctx *ctx, const ts_style *onto, const char *yaml,
                                    size_t len, const char *file, ts_diag *d,
                                    ts_style **out);

/* The embedded styles/default.yaml. */
extern const char ts_style_default_yaml[];
extern const size_t ts_style_default_yaml_len;

#endif
