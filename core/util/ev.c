/*
 * ev.c - epoll event loop with a timer heap, signalfd and a posted-work
 * queue woken by eventfd
 *
 * Work posted from the loop's own thread needs no wake-up: it runs at the
 * end of the current round (or the next round waits for nothing).  Work
 * posted from other threads writes the eventfd once until the loop has
 * read it, however many posts come meanwhile.
 */
#include "build-config.h"
#include "ev.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <glib.h>

struct ev_io {
  ev_loop *loop;
  int fd;
  unsigned events;
  bool registered;
  bool dead;
  ev_io_cb *cb;
  void *data;
};

struct ev_timer {
  ev_loop *loop;
  uint64_t due;
  uint64_t seq; /* ties broken by creation order */
  size_t heap_index;
  ev_timer_cb *cb;
  void *data;
};

struct posted {
  ev_func *fn;
  void *data;
};

struct sigwatch {
  int signo;
  ev_signal_cb *cb;
  void *data;
};

struct ev_loop {
  int epfd;
  int wakefd;
  int sigfd;
  sigset_t sigmask;
  bool running;
  uint64_t now;
  uint64_t timer_seq;
  GPtrArray *heap; /* of ev_timer*, min-heap by (due, seq) */
  GPtrArray *dead; /* ev_io freed during dispatch */
  GMutex post_lock;
  GArray *posted; /* of struct posted */
  GArray *spare;  /* the drained array, for reuse */
  bool wake_pending; /* the eventfd is written and not yet read */
  gpointer owner;    /* the GThread running the loop, or NULL */
  GArray *sigwatches;
  ev_io *wake_io;
  ev_io *sig_io;
};

uint64_t ev_monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t ev_now_ms(ev_loop *loop) { return loop->now; }

/* ---------------------------------------------------------- timer heap */

static bool timer_before(const ev_timer *a, const ev_timer *b) {
  return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_swap(GPtrArray *heap, size_t i, size_t j) {
  ev_timer *a = heap->pdata[i], *b = heap->pdata[j];
  heap->pdata[i] = b;
  heap->pdata[j] = a;
  b->heap_index = i;
  a->heap_index = j;
}

static void heap_up(GPtrArray *heap, size_t i) {
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!timer_before(heap->pdata[i], heap->pdata[parent]))
      break;
    heap_swap(heap, i, parent);
    i = parent;
  }
}

static void heap_down(GPtrArray *heap, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap->len && timer_before(heap->pdata[l], heap->pdata[m]))
      m = l;
    if (r < heap->len && timer_before(heap->pdata[r], heap->pdata[m]))
      m = r;
    if (m == i)
      break;
    heap_swap(heap, i, m);
    i = m;
  }
}

static void heap_remove(GPtrArray *heap, size_t i) {
  size_t last = heap->len - 1;
  if (i != last) {
    heap_swap(heap, i, last);
    g_ptr_array_set_size(heap, last);
    heap_down(heap, i);
    heap_up(heap, i);
  } else {
    g_ptr_array_set_size(heap, last);
  }
}

static void heap_insert(ev_loop *loop, ev_timer *t) {
  t->seq = loop->timer_seq++;
  t->heap_index = loop->heap->len;
  g_ptr_array_add(loop->heap, t);
  heap_up(loop->heap, t->heap_index);
}

ev_timer *ev_timer_new(ev_loop *loop, uint64_t ms, ev_timer_cb *cb,
                       void *data) {
  ev_timer *t = g_new0(ev_timer, 1);
  t->loop = loop;
  t->cb = cb;
  t->data = data;
  t->due = ev_monotonic_ms() + ms;
  heap_insert(loop, t);
  return t;
}

void ev_timer_reset(ev_timer *t, uint64_t ms) {
  if (t->heap_index != SIZE_MAX)
    heap_remove(t->loop->heap, t->heap_index);
  t->due = ev_monotonic_ms() + ms;
  heap_insert(t->loop, t);
}

void ev_timer_free(ev_timer **timerp) {
  ev_timer *t = *timerp;
  if (t == NULL)
    return;
  *timerp = NULL;
  if (t->heap_index != SIZE_MAX)
    heap_remove(t->loop->heap, t->heap_index);
  g_free(t);
}

/* run_timers - fire every due timer; a fired timer is out of the heap and
 * is freed by the loop unless the callback re-armed it */
static void run_timers(ev_loop *loop) {
  while (loop->heap->len > 0) {
    ev_timer *t = loop->heap->pdata[0];
    if (t->due > loop->now)
      break;
    heap_remove(loop->heap, 0);
    t->heap_index = SIZE_MAX;
    /* the callback owns the timer now: it may free or reset it */
    t->cb(t, t->data);
  }
}

static int next_timeout(ev_loop *loop, int max_ms) {
  if (loop->heap->len == 0)
    return max_ms;
  ev_timer *t = loop->heap->pdata[0];
  uint64_t now = ev_monotonic_ms();
  int ms = t->due <= now ? 0 : (int)MIN(t->due - now, (uint64_t)INT_MAX);
  return max_ms < 0 ? ms : MIN(ms, max_ms);
}

/* ------------------------------------------------------------- io */

static uint32_t to_epoll(unsigned events) {
  uint32_t e = 0;
  if (events & EV_READ)
    e |= EPOLLIN | EPOLLRDHUP;
  if (events & EV_WRITE)
    e |= EPOLLOUT;
  return e;
}

ev_io *ev_io_new(ev_loop *loop, int fd, unsigned events, ev_io_cb *cb,
                 void *data) {
  ev_io *io = g_new0(ev_io, 1);
  io->loop = loop;
  io->fd = fd;
  io->cb = cb;
  io->data = data;
  ev_io_set(io, events);
  return io;
}

/* An fd that waits for nothing is taken out of the epoll set: epoll
 * reports an error or hang-up (a peer's reset) whatever the events asked
 * for, so a registered fd waiting for nothing would wake the loop again
 * and again until it waits for something. */
void ev_io_set(ev_io *io, unsigned events) {
  struct epoll_event ev = {.events = to_epoll(events), .data.ptr = io};
  events &= EV_READ | EV_WRITE;
  if (io->registered && events == io->events)
    return;
  io->events = events;
  if (events == 0) {
    if (io->registered)
      (void)epoll_ctl(io->loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->registered = false;
  } else if (!io->registered) {
    if (epoll_ctl(io->loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
      log_panic("epoll_ctl(ADD, %d): %s", io->fd, g_strerror(errno));
    io->registered = true;
  } else if (epoll_ctl(io->loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0) {
    log_panic("epoll_ctl(MOD, %d): %s", io->fd, g_strerror(errno));
  }
}

unsigned ev_io_events(const ev_io *io) { return io->events; }
int ev_io_fd(const ev_io *io) { return io->fd; }

void ev_io_free(ev_io **iop) {
  ev_io *io = *iop;
  if (io == NULL)
    return;
  *iop = NULL;
  if (io->registered)
    (void)epoll_ctl(io->loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
  /* events for it may still be in this round's batch: free afterwards */
  io->dead = true;
  g_ptr_array_add(io->loop->dead, io);
}

/* ---------------------------------------------------------- posting */

/* run_posted - the work posted until now (not what it posts itself) */
static void run_posted(ev_loop *loop) {
  g_mutex_lock(&loop->post_lock);
  GArray *work = loop->posted;
  if (work->len == 0) {
    g_mutex_unlock(&loop->post_lock);
    return;
  }
  loop->posted = loop->spare != NULL
                     ? loop->spare
                     : g_array_new(FALSE, FALSE, sizeof(struct posted));
  loop->spare = NULL;
  g_mutex_unlock(&loop->post_lock);
  for (guint i = 0; i < work->len; i++) {
    struct posted *p = &g_array_index(work, struct posted, i);
    p->fn(p->data);
  }
  g_array_set_size(work, 0);
  g_mutex_lock(&loop->post_lock);
  if (loop->spare == NULL)
    loop->spare = work;
  else
    g_array_free(work, TRUE);
  g_mutex_unlock(&loop->post_lock);
}

static bool have_posted(ev_loop *loop) {
  g_mutex_lock(&loop->post_lock);
  bool have = loop->posted->len > 0;
  g_mutex_unlock(&loop->post_lock);
  return have;
}

static void on_wake(ev_io *io, unsigned events, void *data) {
  ev_loop *loop = data;
  uint64_t n;

  if (read(loop->wakefd, &n, sizeof(n)) < 0 && errno != EAGAIN)
    log_warning("eventfd read: %s", g_strerror(errno));
  g_mutex_lock(&loop->post_lock);
  loop->wake_pending = false;
  g_mutex_unlock(&loop->post_lock);
  run_posted(loop);
}

void ev_post(ev_loop *loop, ev_func *fn, void *data) {
  struct posted p = {fn, data};
  uint64_t one = 1;
  bool wake = false;

  g_mutex_lock(&loop->post_lock);
  g_array_append_val(loop->posted, p);
  if (g_atomic_pointer_get(&loop->owner) != (gpointer)g_thread_self() &&
      !loop->wake_pending) {
    loop->wake_pending = true;
    wake = true;
  }
  g_mutex_unlock(&loop->post_lock);
  if (wake && write(loop->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
    log_warning("eventfd write: %s", g_strerror(errno));
}

/* ---------------------------------------------------------- signals */

static void on_signal(ev_io *io, unsigned events, void *data) {
  ev_loop *loop = data;
  struct signalfd_siginfo si;

  while (read(loop->sigfd, &si, sizeof(si)) == sizeof(si)) {
    for (guint i = 0; i < loop->sigwatches->len; i++) {
      struct sigwatch *w = &g_array_index(loop->sigwatches, struct sigwatch, i);
      if ((uint32_t)w->signo == si.ssi_signo)
        w->cb(w->signo, w->data);
    }
  }
}

bool ev_signal(ev_loop *loop, int signo, ev_signal_cb *cb, void *data) {
  struct sigwatch w = {signo, cb, data};

  sigaddset(&loop->sigmask, signo);
  if (sigprocmask(SIG_BLOCK, &loop->sigmask, NULL) < 0)
    return false;
  loop->sigfd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (loop->sigfd < 0)
    return false;
  if (loop->sig_io == NULL)
    loop->sig_io = ev_io_new(loop, loop->sigfd, EV_READ, on_signal, loop);
  g_array_append_val(loop->sigwatches, w);
  return true;
}

/* ------------------------------------------------------------- loop */

ev_loop *ev_loop_new(void) {
  ev_loop *loop = g_new0(ev_loop, 1);

  loop->epfd = epoll_create1(EPOLL_CLOEXEC);
  loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->epfd < 0 || loop->wakefd < 0) {
    if (loop->epfd >= 0)
      close(loop->epfd);
    if (loop->wakefd >= 0)
      close(loop->wakefd);
    g_free(loop);
    return NULL;
  }
  loop->sigfd = -1;
  sigemptyset(&loop->sigmask);
  loop->heap = g_ptr_array_new();
  loop->dead = g_ptr_array_new_with_free_func(g_free);
  loop->posted = g_array_new(FALSE, FALSE, sizeof(struct posted));
  loop->sigwatches = g_array_new(FALSE, FALSE, sizeof(struct sigwatch));
  g_mutex_init(&loop->post_lock);
  loop->now = ev_monotonic_ms();
  loop->wake_io = ev_io_new(loop, loop->wakefd, EV_READ, on_wake, loop);
  return loop;
}

void ev_loop_free(ev_loop **loopp) {
  ev_loop *loop = *loopp;
  if (loop == NULL)
    return;
  *loopp = NULL;
  ev_io_free(&loop->wake_io);
  ev_io_free(&loop->sig_io);
  while (loop->heap->len > 0) {
    ev_timer *t = loop->heap->pdata[0];
    ev_timer_free(&t);
  }
  g_ptr_array_free(loop->heap, TRUE);
  g_ptr_array_free(loop->dead, TRUE);
  g_array_free(loop->posted, TRUE);
  if (loop->spare != NULL)
    g_array_free(loop->spare, TRUE);
  g_array_free(loop->sigwatches, TRUE);
  g_mutex_clear(&loop->post_lock);
  close(loop->epfd);
  close(loop->wakefd);
  if (loop->sigfd >= 0)
    close(loop->sigfd);
  g_free(loop);
}

void ev_loop_run_once(ev_loop *loop, int timeout_ms) {
  struct epoll_event events[256];
  g_atomic_pointer_set(&loop->owner, g_thread_self());
  int n = epoll_wait(loop->epfd, events, G_N_ELEMENTS(events),
                     have_posted(loop) ? 0 : next_timeout(loop, timeout_ms));

  if (n < 0 && errno != EINTR)
    log_panic("epoll_wait: %s", g_strerror(errno));
  loop->now = ev_monotonic_ms();
  for (int i = 0; i < n; i++) {
    ev_io *io = events[i].data.ptr;
    unsigned ev = 0;
    if (io->dead)
      continue;
    if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
      ev |= EV_READ;
    if (events[i].events & EPOLLOUT)
      ev |= EV_WRITE;
    if (events[i].events & (EPOLLERR | EPOLLHUP))
      ev |= EV_ERROR;
    io->cb(io, ev, io->data);
  }
  run_timers(loop);
  run_posted(loop);
  g_ptr_array_set_size(loop->dead, 0);
}

void ev_loop_run(ev_loop *loop) {
  loop->running = true;
  while (loop->running)
    ev_loop_run_once(loop, -1);
}

void ev_loop_stop(ev_loop *loop) { loop->running = false; }
