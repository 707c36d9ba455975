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
/* Tests: at most TLS 1.2, where a staple travels in its own CertificateStatus message. */
static inline int copenssl_ctx_set_max_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
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
/* The `arg` the status callback receives on every handshake of the context's sessions. */
static inline int copenssl_ctx_set_status_arg(SSL_CTX *ctx, void *arg) {
    return (int)SSL_CTX_set_tlsext_status_arg(ctx, arg);
}
/* OPENSSL_malloc: memory OpenSSL may free (a staple handed to copenssl_staple_ocsp). */
static inline void *copenssl_malloc(size_t size) { return OPENSSL_malloc(size); }
static inline void copenssl_free(void *pointer) { OPENSSL_free(pointer); }

static inline size_t copenssl_bio_pending(BIO *bio) { return BIO_ctrl_pending(bio); }
/* A memory BIO that reports "retry" (not EOF) when empty: it is fed as bytes arrive. */
static inline void copenssl_bio_set_retry_when_empty(BIO *bio) { (void)BIO_set_mem_eof_return(bio, -1); }

static inline int copenssl_x509_v_ok(void) { return X509_V_OK; }
static inline unsigned long copenssl_xn_flag_rfc2253(void) { return XN_FLAG_RFC2253; }

/* OCSP's response and certificate status codes (macros in ocsp.h). */
static inline int copenssl_ocsp_response_status_successful(void) { return OCSP_RESPONSE_STATUS_SUCCESSFUL; }
static inline int copenssl_ocsp_cert_status_good(void) { return V_OCSP_CERTSTATUS_GOOD; }
static inline int copenssl_ocsp_cert_status_revoked(void) { return V_OCSP_CERTSTATUS_REVOKED; }

/* The digest an OCSP CertID was hashed with (its hashAlgorithm), or NULL when unknown. */
static inline const EVP_MD *copenssl_digest_by_object(const ASN1_OBJECT *object) {
    return EVP_get_digestbyobj(object);
}
/*
 * Must-Staple (RFC 7633): 1 when the certificate's TLS Feature extension
 * (1.3.6.1.5.5.7.1.24, SEQUENCE OF INTEGER) lists status_request (5), 0 when it does not or
 * the certificate has no such extension, -1 when the extension is present but unreadable.
 * A function rather than Swift because TLS_FEATURE is a STACK_OF(ASN1_INTEGER) macro type.
 */
static inline int copenssl_requires_ocsp_staple(X509 *certificate) {
    if (X509_get_ext_by_NID(certificate, NID_tlsfeature, -1) < 0) return 0;
    TLS_FEATURE *features = X509_get_ext_d2i(certificate, NID_tlsfeature, NULL, NULL);
    if (features == NULL) return -1;
    int found = 0;
    for (int i = 0; i < sk_ASN1_INTEGER_num(features); i++) {
        if (ASN1_INTEGER_get(sk_ASN1_INTEGER_value(features, i)) == TLSEXT_TYPE_status_request) found = 1;
    }
    TLS_FEATURE_free(features);
    return found;
}

/* Pointer-typed helper so Swift need not spell OpenSSL's STACK_OF macros. */
static inline int copenssl_ssl_chain_count(STACK_OF(X509) *chain) { return chain ? sk_X509_num(chain) : 0; }
static inline X509 *copenssl_ssl_chain_at(STACK_OF(X509) *chain, int i) { return sk_X509_value(chain, i); }

#endif
