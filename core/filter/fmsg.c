/*
 * fmsg.c - the message as content filters see and edit it
 */
#define _GNU_SOURCE
#include "build-config.h"
#include "fmsg.h"
#include "fconf.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Beyond this the header is taken to end: the rest is body. */
#define HEADER_MAX (4u * 1024 * 1024)
/* Longest field a filter may add (folded lines together). */
#define FIELD_MAX (64u * 1024)
#define NAME_MAX_LEN 256

/* ------------------------------------------------------------ fsource */

struct fsource {
  gint refs;
  GMutex lock;
  fsource_read_fn *read;
  void *data;
  uint64_t size;
};

fsource *fsource_new(fsource_read_fn *read, void *data, uint64_t size) {
  fsource *s = g_new0(fsource, 1);
  s->refs = 1;
  g_mutex_init(&s->lock);
  s->read = read;
  s->data = data;
  s->size = size;
  return s;
}

fsource *fsource_ref(fsource *s) {
  g_atomic_int_inc(&s->refs);
  return s;
}

void fsource_unref(fsource **sp) {
  fsource *s = *sp;
  *sp = NULL;
  if (s == NULL || !g_atomic_int_dec_and_test(&s->refs))
    return;
  g_mutex_clear(&s->lock);
  g_free(s);
}

void fsource_detach(fsource *s) {
  g_mutex_lock(&s->lock);
  s->read = NULL;
  s->data = NULL;
  g_mutex_unlock(&s->lock);
}

/* src_read - LEN octets at OFF, or -1 (detached or an I/O error) */
static long long src_read(fsource *s, uint64_t off, void *buf, size_t len) {
  g_mutex_lock(&s->lock);
  long long n = s->read != NULL ? s->read(s->data, off, buf, len) : -1;
  g_mutex_unlock(&s->lock);
  return n;
}

/* ------------------------------------------------------------- models */

static void hdr_free(void *p) {
  fhdr *h = p;
  g_free(h->name);
  g_free(h->value);
  g_free(h);
}

static fhdr *hdr_new(const char *name, size_t nlen, const char *value,
                     size_t vlen) {
  fhdr *h = g_new0(fhdr, 1);
  h->name = g_strndup(name, nlen);
  h->value = g_strndup(value, vlen);
  return h;
}

static void rcpt_free(void *p) {
  frcpt *r = p;
  g_free(r->address);
  g_free(r->routed);
  g_free(r->channel);
  g_free(r->orcpt);
  g_free(r->v_status);
  g_free(r->v_text);
  g_free(r->v_by);
  g_free(r);
}

/* rcpt_publish - point R's public view at its strings */
static void rcpt_publish(frcpt *r) {
  r->pub.address = r->address;
  r->pub.routed = r->routed;
  r->pub.channel = r->channel;
  r->pub.orcpt = r->orcpt;
  r->pub.added = r->added;
  r->verdict.status = r->v_status;
  r->verdict.text = r->v_text;
}

static frcpt *rcpt_copy(const frcpt *o) {
  frcpt *r = g_new0(frcpt, 1);
  *r = *o;
  r->address = g_strdup(o->address);
  r->routed = g_strdup(o->routed);
  r->channel = g_strdup(o->channel);
  r->orcpt = g_strdup(o->orcpt);
  r->v_status = g_strdup(o->v_status);
  r->v_text = g_strdup(o->v_text);
  r->v_by = g_strdup(o->v_by);
  rcpt_publish(r);
  return r;
}

static GPtrArray *hdrs_copy(const GPtrArray *a) {
  GPtrArray *c = g_ptr_array_new_full(a->len + 4, hdr_free);
  for (guint i = 0; i < a->len; i++) {
    const fhdr *h = a->pdata[i];
    g_ptr_array_add(c, hdr_new(h->name, strlen(h->name), h->value,
                               strlen(h->value)));
  }
  return c;
}

static GPtrArray *rcpts_copy(const GPtrArray *a) {
  GPtrArray *c = g_ptr_array_new_full(a->len + 4, rcpt_free);
  for (guint i = 0; i < a->len; i++)
    g_ptr_array_add(c, rcpt_copy(a->pdata[i]));
  return c;
}

fmodel *fmodel_new(const cursus_filter_info *in) {
  fmodel *m = g_new0(fmodel, 1);
  m->refs = 1;
  m->info = *in;
  m->info.size = sizeof(m->info);
  const char **fields[] = {&m->info.queue_id,    &m->info.source_channel,
                           &m->info.client_ip,   &m->info.client_name,
                           &m->info.server_ip,   &m->info.helo,
                           &m->info.protocol,    &m->info.auth_user,
                           &m->info.sender,      &m->info.hostname};
  for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
    m->strings[i] = g_strdup(*fields[i]);
    *fields[i] = m->strings[i];
  }
  m->sender = g_strdup(in->sender != NULL ? in->sender : "");
  m->info.sender = m->sender;
  m->rcpts = g_ptr_array_new_with_free_func(rcpt_free);
  m->hdrs = g_ptr_array_new_with_free_func(hdr_free);
  m->sep = g_strdup("\r\n");
  return m;
}

fmodel *fmodel_clone(const fmodel *o) {
  fmodel *m = fmodel_new(&o->info);
  g_free(m->sender);
  m->sender = g_strdup(o->sender);
  m->info.sender = m->sender;
  m->info.per_recipient = o->info.per_recipient;
  m->info.tls = o->info.tls;
  g_ptr_array_free(m->rcpts, TRUE);
  m->rcpts = rcpts_copy(o->rcpts);
  g_ptr_array_free(m->hdrs, TRUE);
  m->hdrs = hdrs_copy(o->hdrs);
  g_free(m->sep);
  m->sep = g_strdup(o->sep);
  m->have_content = o->have_content;
  m->src = o->src != NULL ? fsource_ref(o->src) : NULL;
  m->body_off = o->body_off;
  m->body_len = o->body_len;
  m->body = o->body != NULL ? g_bytes_ref(o->body) : NULL;
  m->content_changed = o->content_changed;
  m->sender_changed = o->sender_changed;
  return m;
}

fmodel *fmodel_ref(fmodel *m) {
  g_atomic_int_inc(&m->refs);
  return m;
}

void fmodel_unref(fmodel **mp) {
  fmodel *m = *mp;
  *mp = NULL;
  if (m == NULL || !g_atomic_int_dec_and_test(&m->refs))
    return;
  for (size_t i = 0; i < G_N_ELEMENTS(m->strings); i++)
    g_free(m->strings[i]);
  g_free(m->sender);
  g_ptr_array_free(m->rcpts, TRUE);
  g_ptr_array_free(m->hdrs, TRUE);
  g_free(m->sep);
  fsource_unref(&m->src);
  if (m->body != NULL)
    g_bytes_unref(m->body);
  g_free(m);
}

frcpt *fmodel_add_rcpt(fmodel *m, unsigned id, const char *address,
                       const char *routed, const char *channel,
                       const char *orcpt, unsigned notify) {
  frcpt *r = g_new0(frcpt, 1);
  r->id = id;
  r->address = g_strdup(address);
  r->routed = g_strdup(routed);
  r->channel = g_strdup(channel);
  r->orcpt = g_strdup(orcpt);
  r->pub.notify = notify;
  rcpt_publish(r);
  g_ptr_array_add(m->rcpts, r);
  return r;
}

frcpt *fmodel_rcpt_by_id(const fmodel *m, unsigned id) {
  for (guint i = 0; i < m->rcpts->len; i++)
    if (((frcpt *)m->rcpts->pdata[i])->id == id)
      return m->rcpts->pdata[i];
  return NULL;
}

/* field_name_len - length of the field name LINE starts with (before the
 * colon), or 0 when LINE is not a field */
static size_t field_name_len(const char *line, size_t len) {
  for (size_t i = 0; i < len && i <= NAME_MAX_LEN; i++) {
    unsigned char c = (unsigned char)line[i];
    if (c == ':')
      return i;
    if (c <= 32 || c >= 127)
      return 0;
  }
  return 0;
}

bool fmodel_set_content(fmodel *m, fsource *src, char **error_r) {
  uint64_t want = MIN(src->size, (uint64_t)HEADER_MAX);
  char *buf = g_malloc(want + 1);
  uint64_t got = 0;
  while (got < want) {
    long long n = src_read(src, got, buf + got, (size_t)(want - got));
    if (n <= 0) {
      g_free(buf);
      *error_r = g_strdup("cannot read the message content");
      return false;
    }
    got += (uint64_t)n;
  }
  g_ptr_array_set_size(m->hdrs, 0);
  size_t pos = 0;
  fhdr *cur = NULL;
  GString *val = NULL;
  g_free(m->sep);
  m->sep = g_strdup("");
  size_t body = want;
  while (pos < want) {
    const char *nl = memchr(buf + pos, '\n', want - pos);
    size_t end = nl != NULL ? (size_t)(nl - buf) + 1 : want;
    if (nl == NULL && want < src->size) {
      body = pos; /* a header beyond HEADER_MAX: the rest is body */
      break;
    }
    const char *line = buf + pos;
    size_t len = end - pos;
    size_t text = len - (nl != NULL ? 1 : 0);
    if (text > 0 && line[text - 1] == '\r' && nl != NULL)
      text--;
    if (text == 0 && nl != NULL) {
      g_free(m->sep);
      m->sep = g_strndup(line, len);
      body = end;
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && cur != NULL) {
      g_string_append(val, "\r\n");
      g_string_append_len(val, line, (gssize)text);
    } else {
      size_t n = field_name_len(line, text);
      if (n == 0) {
        body = pos; /* not a field: the header ends here */
        break;
      }
      if (cur != NULL) {
        cur->value = g_string_free(val, FALSE);
        g_ptr_array_add(m->hdrs, cur);
      }
      cur = g_new0(fhdr, 1);
      cur->name = g_strndup(line, n);
      val = g_string_new_len(line + n + 1, (gssize)(text - n - 1));
    }
    pos = end;
    body = pos;
  }
  if (cur != NULL) {
    cur->value = g_string_free(val, FALSE);
    g_ptr_array_add(m->hdrs, cur);
  }
  g_free(buf);
  fsource_unref(&m->src);
  m->src = fsource_ref(src);
  m->body_off = body;
  m->body_len = src->size - body;
  m->have_content = true;
  return true;
}

uint64_t fmodel_content_size(const fmodel *m) {
  uint64_t n = strlen(m->sep);
  for (guint i = 0; i < m->hdrs->len; i++) {
    const fhdr *h = m->hdrs->pdata[i];
    n += strlen(h->name) + 1 + strlen(h->value) + 2;
  }
  return n + (m->body != NULL ? g_bytes_get_size(m->body) : m->body_len);
}

bool fmodel_write(const fmodel *m,
                  bool (*out)(void *data, const void *buf, size_t len),
                  void *data) {
  GString *head = g_string_sized_new(4096);
  for (guint i = 0; i < m->hdrs->len; i++) {
    const fhdr *h = m->hdrs->pdata[i];
    g_string_append_printf(head, "%s:%s\r\n", h->name, h->value);
  }
  g_string_append(head, m->sep);
  bool ok = out(data, head->str, head->len);
  g_string_free(head, TRUE);
  if (!ok)
    return false;
  if (m->body != NULL) {
    gsize n;
    const void *b = g_bytes_get_data(m->body, &n);
    return n == 0 || out(data, b, n);
  }
  char *buf = g_malloc(65536);
  uint64_t done = 0;
  while (ok && done < m->body_len) {
    size_t want = (size_t)MIN((uint64_t)65536, m->body_len - done);
    long long n = src_read(m->src, m->body_off + done, buf, want);
    if (n <= 0)
      ok = false;
    else
      ok = out(data, buf, (size_t)n);
    done += n > 0 ? (uint64_t)n : 0;
  }
  g_free(buf);
  return ok;
}

/* -------------------------------------------------------------- views */

struct cursus_filter_msg {
  GMutex lock;
  bool dead;
  fmodel *m;
  char *by;
  gint64 deadline_us;
  uint64_t limit;
  /* working copies, made on the first edit */
  GPtrArray *hdrs;
  GPtrArray *rcpts;
  char *sender;
  GByteArray *body;
  bool body_cr; /* the replaced body so far ends in CR */
  GPtrArray *visible; /* frcpt* of the snapshot that are not removed */
  char *err;
  int content_fd;
  uint64_t content_size;
};

fview *fview_new(fmodel *m, const char *by, gint64 deadline_us,
                 uint64_t limit) {
  fview *v = g_new0(fview, 1);
  g_mutex_init(&v->lock);
  v->m = fmodel_ref(m);
  v->by = g_strdup(by);
  v->deadline_us = deadline_us;
  v->limit = limit;
  v->content_fd = -1;
  v->visible = g_ptr_array_new();
  for (guint i = 0; i < m->rcpts->len; i++)
    if (!((frcpt *)m->rcpts->pdata[i])->removed)
      g_ptr_array_add(v->visible, m->rcpts->pdata[i]);
  return v;
}

void fview_kill(fview *v) {
  g_mutex_lock(&v->lock);
  v->dead = true;
  g_mutex_unlock(&v->lock);
}

void fview_free(fview **vp) {
  fview *v = *vp;
  *vp = NULL;
  if (v == NULL)
    return;
  if (v->hdrs != NULL)
    g_ptr_array_free(v->hdrs, TRUE);
  if (v->rcpts != NULL)
    g_ptr_array_free(v->rcpts, TRUE);
  if (v->body != NULL)
    g_byte_array_free(v->body, TRUE);
  if (v->content_fd >= 0)
    close(v->content_fd);
  g_ptr_array_free(v->visible, TRUE);
  g_free(v->sender);
  g_free(v->err);
  g_free(v->by);
  fmodel_unref(&v->m);
  g_mutex_clear(&v->lock);
  g_free(v);
}

fmodel *fview_result(fview *v) {
  if (v->hdrs == NULL && v->rcpts == NULL && v->sender == NULL &&
      v->body == NULL)
    return fmodel_ref(v->m);
  fmodel *n = fmodel_clone(v->m);
  if (v->hdrs != NULL) {
    g_ptr_array_free(n->hdrs, TRUE);
    n->hdrs = v->hdrs;
    v->hdrs = NULL;
    n->content_changed = true;
  }
  if (v->rcpts != NULL) {
    g_ptr_array_free(n->rcpts, TRUE);
    n->rcpts = v->rcpts;
    v->rcpts = NULL;
  }
  if (v->sender != NULL) {
    g_free(n->sender);
    n->sender = v->sender;
    n->info.sender = n->sender;
    v->sender = NULL;
    n->sender_changed = true;
  }
  if (v->body != NULL) {
    if (n->body != NULL)
      g_bytes_unref(n->body);
    n->body = g_byte_array_free_to_bytes(v->body);
    v->body = NULL;
    if (strcmp(n->sep, "") == 0) {
      /* a body needs the empty line before it */
      g_free(n->sep);
      n->sep = g_strdup("\r\n");
    }
    n->content_changed = true;
  }
  return n;
}

/* ---------------------------------------------------- host->filter */

/* enter - lock V; false (unlocked) when it is dead */
static bool enter(fview *v) {
  g_mutex_lock(&v->lock);
  if (!v->dead)
    return true;
  g_mutex_unlock(&v->lock);
  return false;
}

static void leave(fview *v) { g_mutex_unlock(&v->lock); }

static int fail(fview *v, const char **error_r, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static int fail(fview *v, const char **error_r, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  g_free(v->err);
  v->err = g_strdup_vprintf(fmt, args);
  va_end(args);
  if (error_r != NULL)
    *error_r = v->err;
  return CURSUS_PERMFAIL;
}

static const char dead_error[] = "the call was abandoned (timeout)";

static const cursus_filter_info *a_info(fview *v) { return &v->m->info; }

static unsigned a_time_left(fview *v) {
  gint64 left = v->deadline_us - g_get_monotonic_time();
  return left > 0 ? (unsigned)MIN(left / 1000, (gint64)G_MAXUINT) : 0;
}

static size_t a_rcpt_count(fview *v) { return v->visible->len; }

static const cursus_filter_rcpt *a_rcpt(fview *v, size_t i) {
  return i < v->visible->len ? &((frcpt *)v->visible->pdata[i])->pub : NULL;
}

static size_t a_header_count(fview *v) { return v->m->hdrs->len; }

static int a_header(fview *v, size_t i, const char **name_r,
                    const char **value_r) {
  if (i >= v->m->hdrs->len)
    return CURSUS_NONE;
  const fhdr *h = v->m->hdrs->pdata[i];
  *name_r = h->name;
  *value_r = h->value;
  return CURSUS_OK;
}

static uint64_t a_body_size(fview *v) {
  return v->m->body != NULL ? g_bytes_get_size(v->m->body) : v->m->body_len;
}

static long long a_body_read(fview *v, uint64_t off, void *buf, size_t len) {
  const fmodel *m = v->m;
  if (m->body != NULL) {
    gsize n;
    const char *b = g_bytes_get_data(m->body, &n);
    if (off >= n)
      return 0;
    size_t take = (size_t)MIN((uint64_t)len, n - off);
    memcpy(buf, b + off, take);
    return (long long)take;
  }
  if (!m->have_content || off >= m->body_len)
    return 0;
  size_t take = (size_t)MIN((uint64_t)len, m->body_len - off);
  return m->src != NULL ? src_read(m->src, m->body_off + off, buf, take) : -1;
}

static bool fd_out(void *data, const void *buf, size_t len) {
  int fd = *(int *)data;
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

static int a_content_fd(fview *v, uint64_t *off_r, uint64_t *size_r) {
  if (!enter(v)) {
    errno = ECANCELED;
    return -1;
  }
  if (v->content_fd < 0 && v->m->have_content) {
    int fd = memfd_create("cursus-filter", MFD_CLOEXEC);
    if (fd >= 0 && !fmodel_write(v->m, fd_out, &fd)) {
      close(fd);
      fd = -1;
      errno = EIO;
    }
    if (fd >= 0) {
      v->content_size = (uint64_t)lseek(fd, 0, SEEK_CUR);
      (void)lseek(fd, 0, SEEK_SET);
    }
    v->content_fd = fd;
  }
  int fd = v->content_fd;
  *off_r = 0;
  *size_r = v->content_size;
  leave(v);
  return fd;
}

/* ------------------------------------------------------------- edits */

/* check_name - a field name a filter may write */
static bool check_name(const char *name) {
  size_t n = name != NULL ? strlen(name) : 0;
  if (n == 0 || n > NAME_MAX_LEN)
    return false;
  for (const char *p = name; *p != '\0'; p++)
    if ((unsigned char)*p <= 32 || (unsigned char)*p >= 127 || *p == ':')
      return false;
  return true;
}

/* field_value - VALUE as the text after the colon: a leading space,
 * CRLF line ends; NULL with *why when it is not a valid field body */
static char *field_value(const char *value, const char **why) {
  GString *o = g_string_new(NULL);
  if (value[0] != ' ' && value[0] != '\t')
    g_string_append_c(o, ' ');
  for (const char *p = value; *p != '\0'; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '\r' && p[1] == '\n')
      continue;
    if (c == '\n') {
      if (p[1] != ' ' && p[1] != '\t') {
        *why = "a continuation line of a header value must start with "
               "white space";
        g_string_free(o, TRUE);
        return NULL;
      }
      g_string_append(o, "\r\n");
      continue;
    }
    if ((c < 32 && c != '\t') || c == 127) {
      *why = "a header value may not contain control characters";
      g_string_free(o, TRUE);
      return NULL;
    }
    g_string_append_c(o, (char)c);
  }
  if (o->len > FIELD_MAX) {
    *why = "the header value is too long";
    g_string_free(o, TRUE);
    return NULL;
  }
  return g_string_free(o, FALSE);
}

static GPtrArray *work_hdrs(fview *v) {
  if (v->hdrs == NULL)
    v->hdrs = hdrs_copy(v->m->hdrs);
  return v->hdrs;
}

static GPtrArray *work_rcpts(fview *v) {
  if (v->rcpts == NULL)
    v->rcpts = rcpts_copy(v->m->rcpts);
  return v->rcpts;
}

static int insert_field(fview *v, size_t index, const char *name,
                        const char *value, const char **error_r) {
  if (!enter(v)) {
    *error_r = dead_error;
    return CURSUS_PERMFAIL;
  }
  int rc = CURSUS_OK;
  const char *why = NULL;
  char *val = NULL;
  if (!v->m->have_content)
    rc = fail(v, error_r, "header fields can be edited at the DATA stage "
                          "only");
  else if (!check_name(name))
    rc = fail(v, error_r, "not a valid header field name: \"%s\"",
              name != NULL ? name : "(null)");
  else if (value == NULL || (val = field_value(value, &why)) == NULL)
    rc = fail(v, error_r, "header %s: %s", name,
              why != NULL ? why : "no value");
  if (rc == CURSUS_OK) {
    GPtrArray *h = work_hdrs(v);
    fhdr *f = hdr_new(name, strlen(name), "", 0);
    g_free(f->value);
    f->value = val;
    g_ptr_array_insert(h, index >= h->len ? -1 : (gint)index, f);
  }
  leave(v);
  return rc;
}

static int a_header_add(fview *v, const char *name, const char *value,
                        const char **error_r) {
  return insert_field(v, (size_t)-1, name, value, error_r);
}

static int a_header_insert(fview *v, size_t index, const char *name,
                           const char *value, const char **error_r) {
  return insert_field(v, index, name, value, error_r);
}

static int a_header_change(fview *v, const char *name, size_t occurrence,
                           const char *value, const char **error_r) {
  if (!enter(v)) {
    *error_r = dead_error;
    return CURSUS_PERMFAIL;
  }
  const char *why = NULL;
  char *val = NULL;
  int rc = CURSUS_NONE;
  if (!v->m->have_content)
    rc = fail(v, error_r, "header fields can be edited at the DATA stage "
                          "only");
  else if (!check_name(name))
    rc = fail(v, error_r, "not a valid header field name: \"%s\"",
              name != NULL ? name : "(null)");
  else if (value != NULL && (val = field_value(value, &why)) == NULL)
    rc = fail(v, error_r, "header %s: %s", name, why);
  if (rc == CURSUS_NONE) {
    GPtrArray *h = work_hdrs(v);
    size_t seen = 0;
    for (guint i = 0; i < h->len; i++) {
      fhdr *f = h->pdata[i];
      if (g_ascii_strcasecmp(f->name, name) != 0 || ++seen != occurrence)
        continue;
      if (val == NULL) {
        g_ptr_array_remove_index(h, i);
      } else {
        g_free(f->value);
        f->value = val;
        val = NULL;
      }
      rc = CURSUS_OK;
      break;
    }
  }
  g_free(val);
  leave(v);
  return rc;
}

static uint64_t header_size(const GPtrArray *h, const char *sep) {
  uint64_t n = strlen(sep);
  for (guint i = 0; i < h->len; i++) {
    const fhdr *f = h->pdata[i];
    n += strlen(f->name) + 1 + strlen(f->value) + 2;
  }
  return n;
}

static int a_body_replace(fview *v, const void *data, size_t len,
                          const char **error_r) {
  if (!enter(v)) {
    *error_r = dead_error;
    return CURSUS_PERMFAIL;
  }
  if (!v->m->have_content) {
    int rc = fail(v, error_r, "the body can be replaced at the DATA stage "
                              "only");
    leave(v);
    return rc;
  }
  if (v->body == NULL)
    v->body = g_byte_array_new();
  const char *p = data;
  for (size_t i = 0; i < len; i++) {
    if (p[i] == '\n' && !v->body_cr)
      g_byte_array_append(v->body, (const guint8 *)"\r", 1);
    g_byte_array_append(v->body, (const guint8 *)&p[i], 1);
    v->body_cr = p[i] == '\r';
  }
  int rc = CURSUS_OK;
  const GPtrArray *h = v->hdrs != NULL ? v->hdrs : v->m->hdrs;
  if (v->limit != 0 && header_size(h, "\r\n") + v->body->len > v->limit)
    rc = fail(v, error_r, "the new body makes the message larger than the "
                          "limit of %llu octets",
              (unsigned long long)v->limit);
  leave(v);
  return rc;
}

/* check_address - an envelope address a filter may give */
static bool check_address(const char *a) {
  if (a == NULL || strlen(a) > 1024)
    return false;
  for (const char *p = a; *p != '\0'; p++)
    if ((unsigned char)*p <= 32 || *p == '<' || *p == '>' || *p == 127)
      return false;
  return true;
}

static int a_rcpt_add(fview *v, const char *address, const char **error_r) {
  if (!enter(v)) {
    *error_r = dead_error;
    return CURSUS_PERMFAIL;
  }
  int rc = CURSUS_OK;
  if (!check_address(address) || *address == '\0') {
    rc = fail(v, error_r, "not a valid recipient address: \"%s\"",
              address != NULL ? address : "(null)");
  } else {
    GPtrArray *r = work_rcpts(v);
    unsigned id = 0;
    for (guint i = 0; i < r->len; i++)
      id = MAX(id, ((frcpt *)r->pdata[i])->id + 1);
    frcpt *n = g_new0(frcpt, 1);
    n->id = id;
    n->added = true;
    n->address = g_strdup(address);
    n->v_by = g_strdup(v->by);
    rcpt_publish(n);
    g_ptr_array_add(r, n);
  }
  leave(v);
  return rc;
}

static int a_rcpt_delete(fview *v, const char *address, const char **error_r) {
  if (!enter(v)) {
    *error_r = dead_error;
    return CURSUS_PERMFAIL;
  }
  int rc = CURSUS_NONE;
  GPtrArray *r = work_rcpts(v);
  for (guint i = 0; address != NULL && i < r->len; i++) {
    frcpt *x = r->pdata[i];
    if (x->removed)
      continue;
    if (g_ascii_strcasecmp(x->address, address) == 0 ||
        (x->routed != NULL && g_ascii_strcasecmp(x->routed, address) == 0)) {
      x->removed = true;
      g_free(x->v_by);
      x->v_by = g_strdup(v->by);
      rc = CURSUS_OK;
    }
  }
  leave(v);
  return rc;
}

static int a_sender_change(fview *v, const char *address,
                           const char **error_r) {
  if (!enter(v)) {
    *error_r = dead_error;
    return CURSUS_PERMFAIL;
  }
  int rc = CURSUS_OK;
  if (!check_address(address))
    rc = fail(v, error_r, "not a valid sender address: \"%s\"",
              address != NULL ? address : "(null)");
  else {
    g_free(v->sender);
    v->sender = g_strdup(address);
  }
  leave(v);
  return rc;
}

/* verdict_ok - a verdict's texts are fit for a reply */
static bool text_ok(const char *t) {
  for (const char *p = t; p != NULL && *p != '\0'; p++)
    if ((unsigned char)*p < 32 || *p == 127)
      return false;
  return t == NULL || strlen(t) <= 512;
}

static int a_rcpt_verdict(fview *v, size_t index,
                          const cursus_filter_verdict *vd,
                          const char **error_r) {
  if (!enter(v)) {
    *error_r = dead_error;
    return CURSUS_PERMFAIL;
  }
  int rc = CURSUS_OK;
  if (!v->m->have_content)
    rc = fail(v, error_r, "recipient verdicts are given at the DATA stage");
  else if (index >= v->visible->len || vd == NULL)
    rc = fail(v, error_r, "no recipient number %zu", index);
  else if (vd->action > CURSUS_FILTER_QUARANTINE || !text_ok(vd->text) ||
           !text_ok(vd->status))
    rc = fail(v, error_r, "malformed verdict for recipient %zu", index);
  if (rc == CURSUS_OK) {
    unsigned id = ((frcpt *)v->visible->pdata[index])->id;
    GPtrArray *r = work_rcpts(v);
    for (guint i = 0; i < r->len; i++) {
      frcpt *x = r->pdata[i];
      if (x->id != id)
        continue;
      g_free(x->v_status);
      g_free(x->v_text);
      g_free(x->v_by);
      x->verdict = *vd;
      x->v_status = g_strdup(vd->status);
      x->v_text = g_strdup(vd->text);
      x->v_by = g_strdup(v->by);
      rcpt_publish(x);
    }
  }
  leave(v);
  return rc;
}

/* Reads need no lock: the model a view shows never changes, and a dead
 * view's model stays alive with the view. */
const cursus_filter_access *fmsg_access(void) {
  static const cursus_filter_access table = {
      .size = sizeof(cursus_filter_access),
      .info = a_info,
      .time_left = a_time_left,
      .rcpt_count = a_rcpt_count,
      .rcpt = a_rcpt,
      .header_count = a_header_count,
      .header = a_header,
      .body_size = a_body_size,
      .body_read = a_body_read,
      .content_fd = a_content_fd,
      .header_add = a_header_add,
      .header_insert = a_header_insert,
      .header_change = a_header_change,
      .body_replace = a_body_replace,
      .rcpt_add = a_rcpt_add,
      .rcpt_delete = a_rcpt_delete,
      .sender_change = a_sender_change,
      .rcpt_verdict = a_rcpt_verdict,
      .def_name = fconf_def_name,
      .def_setting = fconf_def_setting,
      .def_setting_int = fconf_def_setting_int,
  };
  return &table;
}
