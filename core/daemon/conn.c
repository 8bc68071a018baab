/*
 * conn.c - client connections in a worker process
 *
 * Layers, from the socket up: TLS (GnuTLS), DEFLATE (zlib, once a
 * protocol asks for COMPRESS), then line or byte input for the module.
 */
#include "build-config.h"
#include "conn.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <glib.h>
#include <zlib.h>

/* Read buffer shared by all connections of the loop thread. */
#define READ_CHUNK (64 * 1024)
/* Stop reading while this much output waits (a client not reading). */
#define OUTPUT_HIGH_WATER (1024 * 1024)
#define DEFAULT_LINE_LIMIT 1000
/* Our DEFLATE window and memory level: about 32 KiB of zlib state per
 * compressed session instead of 256 KiB; the inflater takes any window
 * the peer uses. */
#define DEFLATE_WINDOW_BITS 12
#define DEFLATE_MEM_LEVEL 5

struct tls_ctx {
  gnutls_certificate_credentials_t creds;
  gnutls_priority_t priority;
};

typedef struct iobuf {
  char *data;
  size_t len, off, alloc;
} iobuf;

struct cursus_conn {
  ev_loop *loop;
  ev_io *io;
  ev_timer *timer;
  int fd;
  int refs;
  module *mod;
  const cursus_protocol_ops *proto;
  void *session;
  cursus_conn_info info;
  char remote_ip[INET6_ADDRSTRLEN], local_ip[INET6_ADDRSTRLEN];
  char *log_context;
  conn_params params;

  iobuf in, out;
  int mode;
  size_t line_limit;
  bool discarding; /* skipping the rest of an over-long line */
  unsigned timeout_ms;
  uint64_t last_input;

  tls_ctx *tls;
  gnutls_session_t tls_session;
  bool tls_handshaking;
  bool tls_start_pending;
  bool tls_active;

  z_stream *zout;     /* compressing output, or NULL */
  z_stream *zin;      /* inflating input, or NULL */
  bool zout_dirty;    /* output went in since the last sync point */
  bool zin_fresh;     /* just started: convert input buffered before */

  bool suspended;
  bool input_parked; /* input came while suspended: read event dropped */
  bool resume_posted;
  bool flush_posted;
  bool close_pending;
  bool closed;
  bool in_callback;
  bool output_blocked; /* EV_WRITE armed */
  bool session_open;
  GList link; /* in all_conns */
};

static GQueue all_conns = G_QUEUE_INIT;
static _Thread_local char *read_buf;
static _Thread_local char *inflate_buf;

static void conn_process_input(cursus_conn *c);
static void conn_flush(cursus_conn *c);
static void conn_finish(cursus_conn *c);
static void conn_update_io(cursus_conn *c);

/* ---------------------------------------------------------------- TLS */

tls_ctx *conn_tls_load(const char *cert, const char *key,
                       const char *priority, char **error_r) {
  if (cert == NULL || key == NULL || *cert == '\0' || *key == '\0')
    return NULL;
  tls_ctx *t = g_new0(tls_ctx, 1);
  int rc = gnutls_certificate_allocate_credentials(&t->creds);
  if (rc == 0)
    rc = gnutls_certificate_set_x509_key_file(t->creds, cert, key,
                                              GNUTLS_X509_FMT_PEM);
  if (rc < 0) {
    *error_r = g_strdup_printf("TLS certificate %s / key %s: %s", cert, key,
                               gnutls_strerror(rc));
    gnutls_certificate_free_credentials(t->creds);
    g_free(t);
    return NULL;
  }
  const char *err_pos = NULL;
  rc = gnutls_priority_init(&t->priority, priority, &err_pos);
  if (rc < 0) {
    *error_r = g_strdup_printf("TLS priority \"%s\": %s at \"%s\"", priority,
                               gnutls_strerror(rc), err_pos ? err_pos : "");
    gnutls_certificate_free_credentials(t->creds);
    g_free(t);
    return NULL;
  }
  return t;
}

void conn_tls_free(tls_ctx **tp) {
  tls_ctx *t = *tp;
  if (t == NULL)
    return;
  *tp = NULL;
  gnutls_priority_deinit(t->priority);
  gnutls_certificate_free_credentials(t->creds);
  g_free(t);
}

static bool tls_begin(cursus_conn *c) {
  if (gnutls_init(&c->tls_session, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0)
    return false;
  gnutls_priority_set(c->tls_session, c->tls->priority);
  gnutls_credentials_set(c->tls_session, GNUTLS_CRD_CERTIFICATE, c->tls->creds);
  gnutls_certificate_server_set_request(c->tls_session, GNUTLS_CERT_IGNORE);
  gnutls_transport_set_int(c->tls_session, c->fd);
  gnutls_handshake_set_timeout(c->tls_session, 0);
  c->tls_handshaking = true;
  return true;
}

/* tls_step - advance the handshake; true when it is still going on or
 * done, false on failure */
static bool tls_step(cursus_conn *c) {
  int rc = gnutls_handshake(c->tls_session);
  if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
    conn_update_io(c);
    return true;
  }
  c->tls_handshaking = false;
  if (rc < 0) {
    log_info("TLS handshake failed: %s", gnutls_strerror(rc));
    return false;
  }
  c->tls_active = true;
  c->info.tls = 1;
  char *desc = gnutls_session_get_desc(c->tls_session);
  c->info.tls_cipher = g_intern_string(desc != NULL ? desc : "TLS");
  gnutls_free(desc);
  return true;
}

/* ------------------------------------------------------------ buffers */

static void iobuf_append(iobuf *b, const void *data, size_t len) {
  if (b->off > 0 && b->off == b->len) {
    b->off = b->len = 0;
  }
  if (b->len + len > b->alloc) {
    if (b->off > 0) {
      memmove(b->data, b->data + b->off, b->len - b->off);
      b->len -= b->off;
      b->off = 0;
    }
    if (b->len + len > b->alloc) {
      size_t want = MAX(b->alloc * 2, b->len + len);
      b->data = g_realloc(b->data, MAX(want, 512));
      b->alloc = MAX(want, 512);
    }
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
}

static size_t iobuf_pending(const iobuf *b) { return b->len - b->off; }

static void iobuf_release(iobuf *b) {
  g_free(b->data);
  memset(b, 0, sizeof(*b));
}

/* --------------------------------------------------------- callbacks */

static void conn_ref(cursus_conn *c) { g_atomic_int_inc(&c->refs); }

static void conn_unref(cursus_conn *c) {
  if (!g_atomic_int_dec_and_test(&c->refs))
    return;
  g_free(c->log_context);
  g_free(c);
}

/* enter / leave - around every call into the module */
static void enter(cursus_conn *c) {
  c->in_callback = true;
  log_set_context(c->log_context);
}

static void leave(cursus_conn *c) {
  c->in_callback = false;
  log_set_context(NULL);
}

static void conn_event(cursus_conn *c, unsigned events) {
  if (c->closed || !c->session_open)
    return;
  enter(c);
  c->proto->on_event(c->session, events);
  leave(c);
}

/* conn_update_io - the events to wait for */
static void conn_update_io(cursus_conn *c) {
  unsigned ev = 0;
  if (c->closed)
    return;
  if (c->tls_handshaking) {
    ev = gnutls_record_get_direction(c->tls_session) ? EV_WRITE : EV_READ;
  } else {
    /* output waiting for a flush already posted needs no write event:
     * the socket is almost always writable then */
    if (iobuf_pending(&c->out) > 0 && (c->output_blocked || !c->flush_posted))
      ev |= EV_WRITE;
    bool room = !c->close_pending && iobuf_pending(&c->out) < OUTPUT_HIGH_WATER;
    if (room && !c->suspended)
      ev |= EV_READ;
    /* a suspended session keeps its read event until input comes (most
     * resume first): on_io drops it then */
    else if (room && !c->input_parked && (ev_io_events(c->io) & EV_READ))
      ev |= EV_READ;
  }
  ev_io_set(c->io, ev);
}

/* ------------------------------------------------------------ DEFLATE */

static void compress_free(cursus_conn *c) {
  if (c->zout != NULL) {
    deflateEnd(c->zout);
    g_free(c->zout);
    c->zout = NULL;
  }
  if (c->zin != NULL) {
    inflateEnd(c->zin);
    g_free(c->zin);
    c->zin = NULL;
  }
}

/* deflate_into_out - compress DATA (or only flush, LEN 0 with FLUSH) into
 * the output buffer */
static bool deflate_into_out(cursus_conn *c, const void *data, size_t len,
                             int flush) {
  unsigned char chunk[16384];
  c->zout->next_in = (Bytef *)data;
  c->zout->avail_in = (uInt)len;
  do {
    c->zout->next_out = chunk;
    c->zout->avail_out = sizeof(chunk);
    int rc = deflate(c->zout, flush);
    if (rc == Z_STREAM_ERROR)
      return false;
    size_t have = sizeof(chunk) - c->zout->avail_out;
    if (have > 0)
      iobuf_append(&c->out, chunk, have);
  } while (c->zout->avail_out == 0 || c->zout->avail_in > 0);
  return true;
}

/* conn_finish - end the connection: session_close, then free */
static void conn_finish(cursus_conn *c) {
  if (c->closed)
    return;
  c->closed = true;
  if (c->session_open) {
    enter(c);
    c->proto->session_close(c->session);
    leave(c);
    c->session_open = false;
  }
  ev_io_free(&c->io);
  ev_timer_free(&c->timer);
  if (c->tls_session != NULL) {
    gnutls_deinit(c->tls_session);
    c->tls_session = NULL;
  }
  close(c->fd);
  compress_free(c);
  iobuf_release(&c->in);
  iobuf_release(&c->out);
  g_queue_unlink(&all_conns, &c->link);
  if (c->params.closed != NULL)
    c->params.closed(c->params.closed_data);
  conn_unref(c);
}

/* conn_flush - write what we can; arm EV_WRITE for the rest */
static void conn_flush(cursus_conn *c) {
  bool was_blocked = c->output_blocked;
  if (c->zout != NULL && c->zout_dirty) {
    c->zout_dirty = false;
    if (!deflate_into_out(c, NULL, 0, Z_SYNC_FLUSH)) {
      conn_finish(c);
      return;
    }
  }
  while (iobuf_pending(&c->out) > 0) {
    ssize_t n;
    size_t len = iobuf_pending(&c->out);
    if (c->tls_active) {
      n = gnutls_record_send(c->tls_session, c->out.data + c->out.off, len);
      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        break;
      if (n < 0) {
        conn_finish(c);
        return;
      }
    } else {
      n = send(c->fd, c->out.data + c->out.off, len, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        break;
      if (n < 0) {
        conn_finish(c);
        return;
      }
    }
    c->out.off += (size_t)n;
  }
  c->output_blocked = iobuf_pending(&c->out) > 0;
  if (!c->output_blocked) {
    iobuf_release(&c->out);
    if (c->tls_start_pending) {
      c->tls_start_pending = false;
      if (!tls_begin(c) || !tls_step(c)) {
        conn_event(c, CURSUS_EVENT_TLS_FAIL);
        if (!c->closed)
          conn_finish(c);
        return;
      }
      if (!c->tls_handshaking)
        conn_event(c, CURSUS_EVENT_TLS_DONE);
    } else if (c->close_pending) {
      conn_finish(c);
      return;
    } else if (was_blocked) {
      conn_event(c, CURSUS_EVENT_DRAINED);
      if (c->closed)
        return;
    }
  }
  conn_update_io(c);
}

/* deliver_lines - hand complete lines of DATA to the module; returns the
 * number of bytes consumed */
static size_t deliver_input(cursus_conn *c, const char *data, size_t len) {
  size_t pos = 0;
  while (pos < len && !c->suspended && !c->closed && !c->close_pending &&
         !c->tls_start_pending && !c->zin_fresh) {
    if (c->mode == CURSUS_INPUT_BYTES) {
      enter(c);
      size_t used = c->proto->on_bytes(c->session, data + pos, len - pos);
      leave(c);
      if (used == 0 && c->mode == CURSUS_INPUT_BYTES)
        break; /* the module wants more */
      pos += MIN(used, len - pos);
      continue;
    }
    const char *start = data + pos;
    const char *nl = memchr(start, '\n', len - pos);
    size_t avail = nl != NULL ? (size_t)(nl - start) : len - pos;
    if (c->discarding) {
      if (nl == NULL)
        return len; /* still inside the over-long line */
      c->discarding = false;
      pos += avail + 1;
      continue;
    }
    if (nl == NULL) {
      if (avail > c->line_limit) {
        /* over-long: report the start now, discard up to the line end */
        c->discarding = true;
        enter(c);
        c->proto->on_line(c->session, start, c->line_limit,
                          CURSUS_LINE_TOO_LONG);
        leave(c);
        return len;
      }
      break; /* incomplete line: wait for more */
    }
    size_t linelen = avail;
    unsigned flags = 0;
    if (linelen > 0 && start[linelen - 1] == '\r')
      linelen--;
    else
      flags |= CURSUS_LINE_BARE_LF;
    if (linelen > c->line_limit) {
      linelen = c->line_limit;
      flags |= CURSUS_LINE_TOO_LONG;
    }
    pos += avail + 1;
    enter(c);
    c->proto->on_line(c->session, start, linelen, flags);
    leave(c);
  }
  return pos;
}

/* input_done - after the module had input: drop what came before a TLS
 * handshake (it must not count as protected), inflate what came after
 * COMPRESS */
static void feed_compressed(cursus_conn *c, const char *data, size_t len);

static void input_done(cursus_conn *c) {
  if (c->closed)
    return;
  if (c->tls_start_pending) {
    iobuf_release(&c->in);
    return;
  }
  if (c->zin_fresh) {
    c->zin_fresh = false;
    iobuf raw = c->in;
    memset(&c->in, 0, sizeof(c->in));
    if (raw.len > raw.off)
      feed_compressed(c, raw.data + raw.off, raw.len - raw.off);
    iobuf_release(&raw);
  }
}

/* conn_process_input - run buffered input through the module */
static void conn_process_input(cursus_conn *c) {
  if (iobuf_pending(&c->in) == 0)
    return;
  size_t used = deliver_input(c, c->in.data + c->in.off, iobuf_pending(&c->in));
  if (c->closed)
    return;
  if (c->tls_start_pending) {
    /* sent in clear before the handshake: never used (RFC 3207 5) */
    iobuf_release(&c->in);
    return;
  }
  c->in.off += used;
  if (iobuf_pending(&c->in) == 0)
    iobuf_release(&c->in);
  input_done(c);
}

/* conn_input - plain input octets: to the module, the rest buffered */
static void conn_input(cursus_conn *c, const char *data, size_t len) {
  if (iobuf_pending(&c->in) > 0) {
    iobuf_append(&c->in, data, len);
    conn_process_input(c);
    return;
  }
  size_t used = deliver_input(c, data, len);
  if (!c->closed && used < len)
    iobuf_append(&c->in, data + used, len - used);
  input_done(c);
}

static void feed_compressed(cursus_conn *c, const char *data, size_t len) {
  if (inflate_buf == NULL)
    inflate_buf = g_malloc(READ_CHUNK);
  c->zin->next_in = (Bytef *)data;
  c->zin->avail_in = (uInt)len;
  while (!c->closed) {
    c->zin->next_out = (Bytef *)inflate_buf;
    c->zin->avail_out = READ_CHUNK;
    int rc = inflate(c->zin, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      log_info("compressed input is damaged (%s): closing",
               c->zin->msg != NULL ? c->zin->msg : "inflate failed");
      conn_finish(c);
      return;
    }
    size_t have = READ_CHUNK - c->zin->avail_out;
    if (have == 0)
      break;
    /* the module may suspend: what it does not take stays in c->in,
     * already inflated, so buffered input is always plain */
    uInt left = c->zin->avail_in;
    const Bytef *next = c->zin->next_in;
    conn_input(c, inflate_buf, have);
    if (c->closed || c->zin == NULL)
      return;
    c->zin->next_in = (Bytef *)next;
    c->zin->avail_in = left;
    if (left == 0 && c->zin->avail_out != 0)
      break;
  }
}

static ssize_t conn_read(cursus_conn *c, char *buf, size_t len) {
  if (c->tls_active) {
    ssize_t n = gnutls_record_recv(c->tls_session, buf, len);
    if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
      errno = EAGAIN;
      return -1;
    }
    if (n < 0) {
      errno = EIO;
      return -1;
    }
    return n;
  }
  return recv(c->fd, buf, len, 0);
}

static void on_readable(cursus_conn *c) {
  if (read_buf == NULL)
    read_buf = g_malloc(READ_CHUNK);
  for (int rounds = 0; rounds < 16; rounds++) {
    if (c->suspended || c->closed || c->close_pending || c->tls_start_pending)
      break;
    ssize_t n = conn_read(c, read_buf, READ_CHUNK);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      conn_finish(c);
      return;
    }
    if (n < 0)
      break;
    c->last_input = ev_now_ms(c->loop);
    if (c->zin != NULL)
      feed_compressed(c, read_buf, (size_t)n);
    else
      conn_input(c, read_buf, (size_t)n);
    if (c->closed)
      return;
    if ((size_t)n < READ_CHUNK &&
        !(c->tls_active && gnutls_record_check_pending(c->tls_session) > 0))
      break;
  }
  conn_flush(c);
}

/* implicit_tls_open - the handshake of a TLS_PORT connection is done:
 * the session starts now */
static void implicit_tls_open(cursus_conn *c) {
  const char *err = NULL;
  enter(c);
  int rc = c->proto->session_open(c->mod->ctx, c, &c->session, &err);
  leave(c);
  if (rc != CURSUS_OK) {
    log_warning("session refused to start: %s", err ? err : "?");
    conn_finish(c);
  } else {
    c->session_open = true;
    conn_flush(c);
  }
}

static void on_io(ev_io *io, unsigned events, void *data) {
  cursus_conn *c = data;
  conn_ref(c);
  if (c->tls_handshaking) {
    if (!tls_step(c)) {
      if (c->session_open)
        conn_event(c, CURSUS_EVENT_TLS_FAIL);
      conn_finish(c);
    } else if (!c->tls_handshaking) {
      if (!c->session_open) {
        implicit_tls_open(c);
      } else {
        conn_event(c, CURSUS_EVENT_TLS_DONE);
        if (!c->closed) {
          conn_process_input(c);
          if (!c->closed)
            conn_flush(c);
        }
      }
    }
    conn_unref(c);
    return;
  }
  if ((events & EV_WRITE) && !c->closed)
    conn_flush(c);
  if ((events & (EV_READ | EV_ERROR)) && !c->closed && c->suspended &&
      !c->tls_start_pending) {
    /* input while suspended: stop watching until resumed */
    c->input_parked = true;
    conn_update_io(c);
  } else if ((events & (EV_READ | EV_ERROR)) && !c->closed) {
    on_readable(c);
  }
  conn_unref(c);
}

static void on_io_cb(ev_io *io, unsigned events, void *data) {
  on_io(io, events, data);
}

static void on_timer(ev_timer *t, void *data) {
  cursus_conn *c = data;
  uint64_t now = ev_monotonic_ms();
  if (c->timeout_ms == 0)
    return; /* inactive: freed with the connection */
  uint64_t due = c->last_input + c->timeout_ms;
  if (now < due) {
    ev_timer_reset(t, due - now);
    return;
  }
  conn_ref(c);
  c->last_input = now; /* a module that ignores the event gets a new round */
  ev_timer_reset(t, c->timeout_ms);
  conn_event(c, CURSUS_EVENT_TIMEOUT);
  if (!c->closed)
    conn_flush(c);
  conn_unref(c);
}

/* ------------------------------------------------------- conn ops */

static void flush_posted(void *data) {
  cursus_conn *c = data;
  c->flush_posted = false;
  if (!c->closed)
    conn_flush(c);
  conn_unref(c);
}

/* schedule_flush - flush soon, from the loop; never re-enter the module
 * from inside one of its own calls made outside a callback */
static void schedule_flush(cursus_conn *c) {
  if (c->in_callback || c->flush_posted || c->closed)
    return;
  c->flush_posted = true;
  conn_ref(c);
  ev_post(c->loop, flush_posted, c);
}

static void c_close(cursus_conn *c);

static void c_write(cursus_conn *c, const void *data, size_t len) {
  if (c->closed || len == 0)
    return;
  if (c->zout != NULL) {
    if (!deflate_into_out(c, data, len, Z_NO_FLUSH)) {
      c_close(c);
      return;
    }
    c->zout_dirty = true;
  } else {
    iobuf_append(&c->out, data, len);
  }
  schedule_flush(c);
}

static void c_printf(cursus_conn *c, const char *fmt, ...) {
  char small[512];
  va_list args;
  va_start(args, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, args);
  va_end(args);
  if (n < 0)
    return;
  if ((size_t)n < sizeof(small)) {
    c_write(c, small, (size_t)n);
    return;
  }
  va_start(args, fmt);
  char *big = g_strdup_vprintf(fmt, args);
  va_end(args);
  c_write(c, big, strlen(big));
  g_free(big);
}

static size_t c_pending_output(cursus_conn *c) { return iobuf_pending(&c->out); }

static void c_set_input_mode(cursus_conn *c, int mode) { c->mode = mode; }

static void c_set_line_limit(cursus_conn *c, size_t max) {
  c->line_limit = MAX(max, 16);
}

static void c_set_timeout(cursus_conn *c, unsigned ms) {
  c->timeout_ms = ms;
  c->last_input = ev_now_ms(c->loop);
  if (ms > 0 && c->timer == NULL)
    c->timer = ev_timer_new(c->loop, ms, on_timer, c);
}

static void c_suspend(cursus_conn *c) {
  c->suspended = true;
}

static void resume_posted(void *data) {
  cursus_conn *c = data;
  c->resume_posted = false;
  if (!c->closed && !c->suspended) {
    conn_event(c, CURSUS_EVENT_RESUMED);
    if (!c->closed)
      conn_process_input(c);
    if (!c->closed)
      conn_flush(c);
  }
  conn_unref(c);
}

static void c_resume(cursus_conn *c) {
  if (c->closed || !c->suspended)
    return;
  c->suspended = false;
  c->input_parked = false;
  conn_update_io(c);
  if (!c->resume_posted) {
    c->resume_posted = true;
    conn_ref(c);
    ev_post(c->loop, resume_posted, c);
  }
}

static int c_start_tls(cursus_conn *c, const char **error_r) {
  if (c->tls == NULL) {
    *error_r = "no TLS certificate is configured";
    return CURSUS_PERMFAIL;
  }
  if (c->tls_active || c->tls_handshaking) {
    *error_r = "TLS is already active";
    return CURSUS_PERMFAIL;
  }
  /* input received before the handshake is dropped once the module
   * returns (input_done): it must never count as protected */
  c->tls_start_pending = true;
  schedule_flush(c);
  return CURSUS_OK;
}

static int c_tls_available(cursus_conn *c) { return c->tls != NULL; }

static void c_close(cursus_conn *c) {
  c->close_pending = true;
  schedule_flush(c);
}

static const cursus_conn_info *c_info(cursus_conn *c) { return &c->info; }

static void c_set_log_context(cursus_conn *c, const char *context) {
  g_free(c->log_context);
  c->log_context = g_strdup(context);
  if (c->in_callback)
    log_set_context(c->log_context);
}

static void notify_posted(void *data) {
  cursus_conn *c = data;
  if (!c->closed) {
    conn_event(c, CURSUS_EVENT_NOTIFY);
    if (!c->closed)
      conn_flush(c);
  }
  conn_unref(c);
}

static void c_notify(cursus_conn *c) {
  conn_ref(c);
  ev_post(c->loop, notify_posted, c);
}

static const char *c_service_option(cursus_conn *c, const char *option) {
  if (c->params.service_option == NULL)
    return NULL;
  return c->params.service_option(option, c->params.service_option_data);
}

static int c_start_compress(cursus_conn *c, const char **error_r) {
  if (c->zout != NULL) {
    *error_r = "compression is already active";
    return CURSUS_PERMFAIL;
  }
  if (!c->in_callback) {
    /* octets after the command line must be known to be compressed */
    *error_r = "compression must start from an input callback";
    return CURSUS_PERMFAIL;
  }
  z_stream *out = g_new0(z_stream, 1), *in = g_new0(z_stream, 1);
  if (deflateInit2(out, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                   -DEFLATE_WINDOW_BITS, DEFLATE_MEM_LEVEL,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    g_free(out);
    g_free(in);
    *error_r = "cannot start the compressor";
    return CURSUS_TEMPFAIL;
  }
  if (inflateInit2(in, -15) != Z_OK) {
    deflateEnd(out);
    g_free(out);
    g_free(in);
    *error_r = "cannot start the decompressor";
    return CURSUS_TEMPFAIL;
  }
  c->zout = out;
  c->zin = in;
  c->zin_fresh = true;
  return CURSUS_OK;
}

static const cursus_conn_ops the_conn_ops = {
    .size = sizeof(cursus_conn_ops),
    .write = c_write,
    .printf = c_printf,
    .pending_output = c_pending_output,
    .set_input_mode = c_set_input_mode,
    .set_line_limit = c_set_line_limit,
    .set_timeout = c_set_timeout,
    .suspend = c_suspend,
    .resume = c_resume,
    .start_tls = c_start_tls,
    .tls_available = c_tls_available,
    .close = c_close,
    .info = c_info,
    .set_log_context = c_set_log_context,
    .notify = c_notify,
    .service_option = c_service_option,
    .start_compress = c_start_compress,
};

const cursus_conn_ops *conn_ops(void) { return &the_conn_ops; }

/* ---------------------------------------------------------- start */

/* fill_addresses - the two ends the dispatcher handed over ("unknown"
 * for one it could not learn) */
static void fill_addresses(cursus_conn *c, const handoff_addr *a) {
  c->info.remote_ip = c->remote_ip;
  c->info.local_ip = c->local_ip;
  g_strlcpy(c->remote_ip, a->remote_ip[0] != '\0' ? a->remote_ip : "unknown",
            sizeof(c->remote_ip));
  g_strlcpy(c->local_ip, a->local_ip[0] != '\0' ? a->local_ip : "unknown",
            sizeof(c->local_ip));
  c->info.remote_port = a->remote_port;
  c->info.local_port = a->local_port;
}

bool conn_start(ev_loop *loop, const conn_params *params) {
  cursus_conn *c = g_new0(cursus_conn, 1);
  c->refs = 1;
  c->loop = loop;
  c->fd = params->fd;
  c->params = *params;
  c->mod = params->mod;
  c->proto = params->mod->desc->protocol;
  c->tls = params->tls;
  c->line_limit = DEFAULT_LINE_LIMIT;
  c->mode = CURSUS_INPUT_LINE;
  c->info.service = params->service;
  c->info.channel = params->channel;
  c->info.implicit_tls = params->implicit_tls;
  c->info.unix_socket = params->unix_socket;
  c->info.local_hostname = params->hostname;
  c->link.data = c;
  fill_addresses(c, params->addr);
  c->params.addr = NULL; /* the hand-off message it points to is gone */
  c->log_context = g_strdup_printf("%s %s", params->service, c->remote_ip);
  c->io = ev_io_new(loop, c->fd, 0, on_io_cb, c);
  g_queue_push_tail_link(&all_conns, &c->link);

  if (params->implicit_tls) {
    if (c->tls == NULL) {
      log_error("implicit TLS port but no TLS certificate configured "
                "([tls] certificate and key in cursus.conf)");
      conn_finish(c);
      return false;
    }
    if (!tls_begin(c) || !tls_step(c)) {
      conn_finish(c);
      return false;
    }
    /* everything the handshake needed may have been there already */
    if (!c->tls_handshaking)
      implicit_tls_open(c);
    return !c->closed;
  }
  const char *err = NULL;
  enter(c);
  int rc = c->proto->session_open(c->mod->ctx, c, &c->session, &err);
  leave(c);
  if (rc != CURSUS_OK) {
    log_warning("[%s] session refused to start: %s", c->log_context,
                err ? err : "?");
    conn_finish(c);
    return false;
  }
  c->session_open = true;
  conn_flush(c);
  return true;
}

void conn_shutdown_all(void) {
  for (GList *l = all_conns.head; l != NULL;) {
    cursus_conn *c = l->data;
    l = l->next;
    conn_ref(c);
    conn_event(c, CURSUS_EVENT_SHUTDOWN);
    if (!c->closed)
      conn_flush(c);
    conn_unref(c);
  }
}

void conn_close_all(void) {
  while (all_conns.head != NULL)
    conn_finish(all_conns.head->data);
}

unsigned conn_count(void) { return all_conns.length; }
