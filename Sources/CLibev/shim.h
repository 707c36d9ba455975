/*
 * CLibev: the part of libev that Swift needs.
 *
 * libev's watcher initialisers (ev_io_init, ev_timer_init, ev_async_init, ev_init, ...) and its
 * accessors (ev_is_active, ev_is_pending) are C macros, which Swift cannot call. Each one is
 * wrapped here in a `static inline` function with typed arguments. The plain functions
 * (ev_loop_new, ev_run, ev_io_start, ev_timer_again, ev_async_send, ...) are imported directly.
 *
 * Debian's libev-dev has no pkg-config file: module.modulemap links `ev` by name.
 */
#ifndef CLIBEV_SHIM_H
#define CLIBEV_SHIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <ev.h>

typedef void (*clibev_io_cb)(struct ev_loop *loop, ev_io *watcher, int revents);
typedef void (*clibev_timer_cb)(struct ev_loop *loop, ev_timer *watcher, int revents);
typedef void (*clibev_async_cb)(struct ev_loop *loop, ev_async *watcher, int revents);

/* Flags for a loop that ignores LIBEV_FLAGS and uses epoll on Linux. */
static inline unsigned int clibev_epoll_flags(void) {
    return EVFLAG_NOENV | EVBACKEND_EPOLL;
}

static inline int clibev_read(void) { return EV_READ; }
static inline int clibev_write(void) { return EV_WRITE; }

/* ev_init for an io watcher (ev_init is a macro). */
static inline void clibev_io_init_cb(ev_io *w, clibev_io_cb cb) { ev_init(w, cb); }
static inline void clibev_io_init(ev_io *w, clibev_io_cb cb, int fd, int events) {
    ev_io_init(w, cb, fd, events);
}
static inline void clibev_io_set(ev_io *w, int fd, int events) { ev_io_set(w, fd, events); }
/* Only while the watcher is stopped: libev invokes pending watchers of higher priority first. */
static inline void clibev_io_set_priority(ev_io *w, int priority) { ev_set_priority(w, priority); }

static inline void clibev_timer_init(ev_timer *w, clibev_timer_cb cb, ev_tstamp after, ev_tstamp repeat) {
    ev_timer_init(w, cb, after, repeat);
}
static inline void clibev_timer_set(ev_timer *w, ev_tstamp after, ev_tstamp repeat) {
    ev_timer_set(w, after, repeat);
}

static inline void clibev_async_init(ev_async *w, clibev_async_cb cb) { ev_async_init(w, cb); }

static inline int clibev_io_is_active(const ev_io *w) { return ev_is_active(w); }
static inline int clibev_timer_is_active(const ev_timer *w) { return ev_is_active(w); }
static inline int clibev_io_is_pending(const ev_io *w) { return ev_is_pending(w); }
static inline int clibev_timer_is_pending(const ev_timer *w) { return ev_is_pending(w); }

/* The user data pointer of a watcher (a field, set through a macro-free helper for symmetry). */
static inline void clibev_io_set_data(ev_io *w, void *data) { w->data = data; }
static inline void *clibev_io_data(const ev_io *w) { return w->data; }
static inline void clibev_timer_set_data(ev_timer *w, void *data) { w->data = data; }
static inline void *clibev_timer_data(const ev_timer *w) { return w->data; }
static inline void clibev_async_set_data(ev_async *w, void *data) { w->data = data; }
static inline void *clibev_async_data(const ev_async *w) { return w->data; }

/* Names the calling thread (at most 15 bytes); pthread_setname_np needs _GNU_SOURCE. */
static inline int clibev_set_current_thread_name(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

#endif
