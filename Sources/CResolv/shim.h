// glibc's stub resolver (libresolv) for SRV and TXT lookups. resolv.h names its functions
// through macros (res_nsearch is __res_nsearch) and reads messages through macros
// (ns_msg_count, ns_rr_ttl, ...), none of which Swift imports: these wrappers are the functions
// Swift calls.
#ifndef CRESOLV_SHIM_H
#define CRESOLV_SHIM_H

#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>

/// One query with a resolver state of its own (res_ninit per call: thread-safe, and
/// /etc/resolv.conf is read afresh), the search list not applied to a name ending in a dot.
/// res_nsearch sends over UDP and retries over TCP when the answer is truncated.
/// Returns the answer's length, or -1 with *herrno_out (HOST_NOT_FOUND for NXDOMAIN, NO_DATA
/// for an empty answer, TRY_AGAIN for SERVFAIL or no answer in time, NO_RECOVERY for
/// REFUSED, FORMERR or NOTIMP, NETDB_INTERNAL) and *errno_out set.
static inline int cresolv_search(const char *name, int type, unsigned char *answer, int answer_size,
                                 int *herrno_out, int *errno_out) {
    struct __res_state state;
    memset(&state, 0, sizeof state);
    if (res_ninit(&state) != 0) {
        *herrno_out = NETDB_INTERNAL;
        *errno_out = errno;
        res_nclose(&state);
        return -1;
    }
    errno = 0;
    int length = res_nsearch(&state, name, ns_c_in, type, answer, answer_size);
    *herrno_out = state.res_h_errno;
    *errno_out = errno;
    res_nclose(&state);
    return length;
}

static inline int cresolv_initparse(const unsigned char *answer, int length, ns_msg *msg) {
    return ns_initparse(answer, length, msg);
}

static inline int cresolv_answer_count(const ns_msg *msg) { return ns_msg_count(*msg, ns_s_an); }

static inline int cresolv_answer(ns_msg *msg, int index, ns_rr *rr) { return ns_parserr(msg, ns_s_an, index, rr); }

static inline int cresolv_rr_type(const ns_rr *rr) { return ns_rr_type(*rr); }
static inline int cresolv_rr_class(const ns_rr *rr) { return ns_rr_class(*rr); }
static inline unsigned int cresolv_rr_ttl(const ns_rr *rr) { return ns_rr_ttl(*rr); }
static inline const unsigned char *cresolv_rr_rdata(const ns_rr *rr) { return ns_rr_rdata(*rr); }
static inline int cresolv_rr_rdlen(const ns_rr *rr) { return ns_rr_rdlen(*rr); }

/// Expands the (possibly compressed) domain name at `source`, inside the message, into
/// `destination`; returns the bytes the name took at `source`, or -1.
static inline int cresolv_expand_name(const ns_msg *msg, const unsigned char *source, char *destination, int size) {
    return dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), source, destination, size);
}

#endif
