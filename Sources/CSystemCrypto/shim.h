#ifndef RAYBRIDGE_CSYSTEMCRYPTO_SHIM_H
#define RAYBRIDGE_CSYSTEMCRYPTO_SHIM_H
// Debian's libssl-dev (libcrypto of OpenSSL 3): SHA-256 and HMAC-SHA-256, through the EVP
// interface (the SHA256_* one is deprecated in OpenSSL 3).
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif
