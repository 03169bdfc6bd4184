// The fallback: a weak definition that scripts/stamp-build's generated stamp.c (not in git)
// replaces at link time. Without a stamp, `weightkit --version` says the commit was not recorded.
#include "build_info.h"
#include <stddef.h>

__attribute__((weak)) const char *wk_build_commit(void) { return NULL; }
