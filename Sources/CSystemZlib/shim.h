#ifndef RAYBRIDGE_CSYSTEMZLIB_SHIM_H
#define RAYBRIDGE_CSYSTEMZLIB_SHIM_H
// Debian's zlib1g-dev: crc32() for S3's x-amz-checksum-crc32, deflate for gzip log objects and
// the working_dir zip.
#include <zlib.h>

// deflateInit2 is a macro; Swift cannot call it.
static inline int raybridge_deflate_init_gzip(z_stream *stream, int level) {
    // 15 window bits + 16: a gzip header and trailer; 8: zlib's default memory level.
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

// -15 window bits: raw deflate, no header or trailer, as a zip entry holds it.
static inline int raybridge_deflate_init_raw(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}
#endif
