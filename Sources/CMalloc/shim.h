#ifndef RAYBRIDGE_CMALLOC_SHIM_H
#define RAYBRIDGE_CMALLOC_SHIM_H
// glibc's mallopt() and M_ARENA_MAX are declared in <malloc.h>, which the Glibc module leaves out.
#include <malloc.h>
#endif
