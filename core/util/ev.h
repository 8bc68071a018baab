/*
 * ev.h - a small event loop: file descriptors (epoll), timers, signals and
 * work posted from other threads
 *
 * One loop per thread.  Sized for tens of thousands of mostly idle
 * connections: waiting costs O(ready events), not O(connections), and a
 * watcher or timer costs a few dozen bytes.  Needs libc and GLib.
 */
#ifndef CURSUS_EV_H
#define CURSUS_EV_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ev_loop ev_loop;
typedef struct ev_io ev_io;
typedef struct ev_timer ev_timer;

enum ev_events {
  EV_READ = 1u << 0,
  EV_WRITE = 1u << 1,
  EV_ERROR = 1u << 2, /* reported only */
};

typedef void ev_io_cb(ev_io *io, unsigned events, void *data);
typedef void ev_timer_cb(ev_timer *timer, void *data);
typedef void ev_func(void *data);
typedef void ev_signal_cb(int signo, void *data);

/* ev_loop_new - a loop; NULL when epoll/eventfd cannot be created */
ev_loop *ev_loop_new(void);
void ev_loop_free(ev_loop **loop);
/* ev_loop_run - run until ev_loop_stop */
void ev_loop_run(ev_loop *loop);
/* ev_loop_run_once - wait at most TIMEOUT_MS (-1 forever) and dispatch */
void ev_loop_run_once(ev_loop *loop, int timeout_ms);
void ev_loop_stop(ev_loop *loop);
/* ev_now_ms - the loop's cached monotonic time in milliseconds */
uint64_t ev_now_ms(ev_loop *loop);
/* ev_monotonic_ms - the current monotonic time */
uint64_t ev_monotonic_ms(void);

/* ev_io_new - watch FD for EVENTS */
ev_io *ev_io_new(ev_loop *loop, int fd, unsigned events, ev_io_cb *cb,
                 void *data);
/* ev_io_set - change the events watched (0 = none, keeps the watcher) */
void ev_io_set(ev_io *io, unsigned events);
unsigned ev_io_events(const ev_io *io);
int ev_io_fd(const ev_io *io);
/* ev_io_free - stop watching; safe inside the watcher's own callback */
void ev_io_free(ev_io **io);

/* ev_timer_new - call CB once after MS milliseconds.  Once fired the timer
 * is inactive: the callback frees it or re-arms it with ev_timer_reset. */
ev_timer *ev_timer_new(ev_loop *loop, uint64_t ms, ev_timer_cb *cb,
                       void *data);
/* ev_timer_reset - restart TIMER to fire MS from now */
void ev_timer_reset(ev_timer *timer, uint64_t ms);
void ev_timer_free(ev_timer **timer);

/* ev_post - run FN(DATA) on LOOP's thread soon; callable from any thread */
void ev_post(ev_loop *loop, ev_func *fn, void *data);

/* ev_signal - deliver SIGNO on the loop thread (blocks it for the process;
 * call before starting threads) */
bool ev_signal(ev_loop *loop, int signo, ev_signal_cb *cb, void *data);

#endif
