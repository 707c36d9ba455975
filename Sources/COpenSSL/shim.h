/*
 * COpenSSL: the part of OpenSSL 3 (Debian's libssl-dev) that Swift needs.
 *
 * Many of OpenSSL's setters are C macros over SSL_ctrl/SSL_CTX_ctrl/BIO_ctrl (minimum protocol
 * version, SNI, the OCSP status request, BIO_pending), which Swift cannot call. Each one used
 * is wrapped here in a `static inline` function with typed arguments; plain functions are
 * imported directly.
 */
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/ocsp.h>

static inline int copenssl_ctx_set_min_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}
static inline long copenssl_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline long copenssl_mode_release_buffers(void) { return SSL_MODE_RELEASE_BUFFERS; }
static inline long copenssl_mode_partial_write(void) { return SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER; }

static inline int copenssl_set_sni(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
static inline int copenssl_request_ocsp_status(SSL *ssl) {
    return (int)SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp);
}
/* The stapled OCSP response's DER bytes; returns its length, or -1 when none was stapled. */
static inline long copenssl_stapled_ocsp(SSL *ssl, const unsigned char **der) {
    return SSL_get_tlsext_status_ocsp_resp(ssl, der);
}
/* Server side: staples `der` (ownership passes to OpenSSL, which frees it with OPENSSL_free). */
static inline int copenssl_staple_ocsp(SSL *ssl, unsigned char *der, long length) {
    return (int)SSL_set_tlsext_status_ocsp_resp(ssl, der, length);
}
typedef int (*copenssl_status_cb)(SSL *ssl, void *arg);
static inline int copenssl_ctx_set_status_cb(SSL_CTX *ctx, copenssl_status_cb cb) {
    return (int)SSL_CTX_set_tlsext_status_cb(ctx, cb);
}

static inline size_t copenssl_bio_pending(BIO *bio) { return BIO_ctrl_pending(bio); }
/* A memory BIO that reports "retry" (not EOF) when empty: it is fed as bytes arrive. */
static inline void copenssl_bio_set_retry_when_empty(BIO *bio) { (void)BIO_set_mem_eof_return(bio, -1); }

static inline int copenssl_x509_v_ok(void) { return X509_V_OK; }
static inline unsigned long copenssl_xn_flag_rfc2253(void) { return XN_FLAG_RFC2253; }

/* OCSP_resp_get0 gives the response's first single response, for the certificate status. */
static inline int copenssl_ocsp_response_status_successful(void) { return OCSP_RESPONSE_STATUS_SUCCESSFUL; }
static inline int copenssl_ocsp_cert_status_good(void) { return V_OCSP_CERTSTATUS_GOOD; }
static inline int copenssl_ocsp_cert_status_revoked(void) { return V_OCSP_CERTSTATUS_REVOKED; }

/* Pointer-typed helper so Swift need not spell OpenSSL's STACK_OF macros. */
static inline int copenssl_ssl_chain_count(STACK_OF(X509) *chain) { return chain ? sk_X509_num(chain) : 0; }
static inline X509 *copenssl_ssl_chain_at(STACK_OF(X509) *chain, int i) { return sk_X509_value(chain, i); }

#endif
