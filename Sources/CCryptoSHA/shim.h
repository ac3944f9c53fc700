#ifndef CCRYPTOSHA_SHIM_H
#define CCRYPTOSHA_SHIM_H
#include <openssl/evp.h>
#endif
