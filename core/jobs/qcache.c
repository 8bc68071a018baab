/*
 * qcache.c - the job controller's queue cache
 */
#include "build-config.h"
#include "qcache.h"
#include "queue/queue.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int prio_slot(cursus_priority p) {
  return p == CURSUS_PRIORITY_URGENT ? 0 : p == CURSUS_PRIORITY_NONURGENT ? 2 : 1;
}

static void chan_free(gpointer p) {
  qc_chan *c = p;
  for (int i = 0; i < 3; i++)
    g_queue_clear(&c->ready[i]);
  g_free(c->name);
  g_free(c);
}

static void entry_free(gpointer p) {
  qc_entry *e = p;
  g_free(e->path);
  g_free(e);
}

static gint by_retry(gconstpointer a, gconstpointer b, gpointer data) {
  const qc_entry *x = a, *y = b;
  if (x->next_retry != y->next_retry)
    return x->next_retry < y->next_retry ? -1 : 1;
  return strcmp(x->path, y->path);
}

qcache *qcache_new(void) {
  qcache *qc = g_new0(qcache, 1);
  qc->entries = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, entry_free);
  qc->chans = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, chan_free);
  qc->delayed = g_sequence_new(NULL);
  return qc;
}

void qcache_free(qcache **qcp) {
  qcache *qc = *qcp;
  if (qc == NULL)
    return;
  *qcp = NULL;
  g_sequence_free(qc->delayed);
  g_hash_table_destroy(qc->entries);
  g_hash_table_destroy(qc->chans);
  g_free(qc);
}

qc_chan *qcache_chan(qcache *qc, const char *name) {
  qc_chan *c = g_hash_table_lookup(qc->chans, name);
  if (c == NULL) {
    c = g_new0(qc_chan, 1);
    c->name = g_strdup(name);
    for (int i = 0; i < 3; i++)
      g_queue_init(&c->ready[i]);
    g_hash_table_insert(qc->chans, c->name, c);
  }
  return c;
}

qc_entry *qcache_find(qcache *qc, const char *path) {
  return g_hash_table_lookup(qc->entries, path);
}

/* unplace - take E out of the ready lists and the delayed set */
static void unplace(qcache *qc, qc_entry *e) {
  if (e->ready_link != NULL) {
    g_queue_delete_link(&e->chan->ready[prio_slot(e->priority)], e->ready_link);
    e->ready_link = NULL;
    e->chan->ready_rcpts -= e->rcpts;
  }
  if (e->delayed_iter != NULL) {
    g_sequence_remove(e->delayed_iter);
    e->delayed_iter = NULL;
  }
}

qc_entry *qcache_add(qcache *qc, const char *channel, const char *path,
                     cursus_priority priority, uint64_t size) {
  qc_entry *e = qcache_find(qc, path);
  if (e != NULL)
    return e;
  if (qcache_room(qc) == 0) {
    qc->left_on_disk = true;
    return NULL;
  }
  e = g_new0(qc_entry, 1);
  e->rcpts = 1;
  e->path = g_strdup(path);
  e->chan = qcache_chan(qc, channel);
  e->priority = priority;
  e->size = size;
  e->arrival = g_get_real_time() / G_USEC_PER_SEC;
  e->chan->count++;
  g_hash_table_insert(qc->entries, e->path, e);
  return e;
}

void qcache_admit(qcache *qc, qc_entry *e) {
  if (qc->admit != NULL)
    qc->admit(e, qc->admit_data);
}

unsigned qcache_room(const qcache *qc) {
  unsigned n = g_hash_table_size(qc->entries);
  if (qc->max_messages == 0)
    return G_MAXUINT - n;
  return n < qc->max_messages ? qc->max_messages - n : 0;
}

void qcache_place(qcache *qc, qc_entry *e, int64_t now) {
  unplace(qc, e);
  if (e->held || e->busy)
    return;
  if (e->next_retry <= now) {
    GQueue *q = &e->chan->ready[prio_slot(e->priority)];
    g_queue_push_tail(q, e);
    e->ready_link = g_queue_peek_tail_link(q);
    e->chan->ready_rcpts += e->rcpts;
  } else
    e->delayed_iter = g_sequence_insert_sorted(qc->delayed, e, by_retry, NULL);
}

void qcache_remove(qcache *qc, qc_entry *e) {
  unplace(qc, e);
  e->chan->count--;
  if (e->held)
    e->chan->held--;
  if (e->busy)
    e->chan->busy--;
  g_hash_table_remove(qc->entries, e->path);
}

qc_entry *qcache_pop_ready(qcache *qc, qc_chan *ch) {
  for (int i = 0; i < 3; i++) {
    qc_entry *e = g_queue_pop_head(&ch->ready[i]);
    if (e != NULL) {
      e->ready_link = NULL;
      ch->ready_rcpts -= e->rcpts;
      e->busy = true;
      ch->busy++;
      return e;
    }
  }
  return NULL;
}

unsigned qcache_ready_count(const qc_chan *ch) {
  return ch->ready[0].length + ch->ready[1].length + ch->ready[2].length;
}

int64_t qcache_wake(qcache *qc, int64_t now,
                    void (*woke)(qc_chan *ch, void *data), void *data) {
  GHashTable *touched = g_hash_table_new(NULL, NULL);
  for (;;) {
    GSequenceIter *it = g_sequence_get_begin_iter(qc->delayed);
    if (g_sequence_iter_is_end(it))
      break;
    qc_entry *e = g_sequence_get(it);
    if (e->next_retry > now)
      break;
    qcache_place(qc, e, now);
    g_hash_table_add(touched, e->chan);
  }
  GHashTableIter hi;
  gpointer key;
  g_hash_table_iter_init(&hi, touched);
  while (g_hash_table_iter_next(&hi, &key, NULL))
    woke(key, data);
  g_hash_table_destroy(touched);
  GSequenceIter *first = g_sequence_get_begin_iter(qc->delayed);
  return g_sequence_iter_is_end(first)
             ? 0
             : ((qc_entry *)g_sequence_get(first))->next_retry;
}

/* ------------------------------------------------------------- rebuild */

typedef struct file_state {
  char *channel, *path;
  int status;
  cursus_priority priority;
  uint64_t size;
  unsigned attempts, pending;
  int64_t arrival, next_retry;
  bool held, empty;
} file_state;

/* set_aside - move the damaged file FULL (queue path REL) to
 * QUEUE_DAMAGED_DIR, so it is reported once and kept for the admin */
static void set_aside(const char *queue_dir, const char *rel, const char *full,
                      const char *error) {
  char *err = NULL;
  char *flat = g_strdup(rel);
  g_strdelimit(flat, "/", '_');
  char *dest = g_build_filename(queue_dir, QUEUE_DAMAGED_DIR, flat, NULL);
  if (queue_mkdirs(queue_dir, QUEUE_DAMAGED_DIR, &err) && rename(full, dest) == 0)
    log_error("%s; set aside as %s", error, dest);
  else
    log_error("%s; cannot set it aside in %s: %s", error, dest,
              err != NULL ? err : g_strerror(errno));
  g_free(err);
  g_free(dest);
  g_free(flat);
}

static void read_state(const char *queue_dir, file_state *fs) {
  char *full = g_build_filename(queue_dir, fs->path, NULL);
  char *error = NULL;
  qmsg *q = NULL;
  fs->status = qmsg_open(full, false, &q, &error);
  if (fs->status == CURSUS_PERMFAIL)
    set_aside(queue_dir, fs->path, full, error);
  else if (fs->status != CURSUS_OK && fs->status != CURSUS_NONE)
    log_error("%s", error);
  g_free(full);
  if (fs->status != CURSUS_OK) {
    g_free(error);
    return;
  }
  fs->priority = q->env->priority;
  fs->size = q->env->size;
  fs->attempts = q->env->attempts;
  fs->arrival = q->env->arrival_us / G_USEC_PER_SEC;
  fs->next_retry = q->env->next_retry;
  fs->held = q->env->held;
  fs->pending = qenv_pending(q->env);
  fs->empty = fs->pending == 0;
  if (fs->channel == NULL)
    fs->channel = g_strdup(q->env->channel);
  qmsg_close(&q);
}

/* apply_state - take a file's state in: a new entry gets it whole (and
 * is admitted); a known one keeps the later of the two retry times, since
 * the cache learns of deferrals before a rescan sees them, unless the
 * file is AUTHORITATIVE (a tool changed it and asked for it to be read) */
static void apply_state(qcache *qc, file_state *fs, bool authoritative) {
  if (fs->status != CURSUS_OK)
    return;
  bool known = qcache_find(qc, fs->path) != NULL;
  qc_entry *e = qcache_add(qc, fs->channel, fs->path, fs->priority, fs->size);
  if (e == NULL)
    return;
  int64_t next = fs->empty ? 0 : fs->next_retry;
  if (fs->held != e->held)
    e->chan->held += fs->held ? 1 : (unsigned)-1;
  e->held = fs->held;
  if (!known) {
    e->attempts = fs->attempts;
    e->arrival = fs->arrival;
    e->rcpts = MAX(fs->pending, 1u);
    e->next_retry = next;
    qcache_admit(qc, e);
  } else {
    e->next_retry = authoritative ? next : MAX(e->next_retry, next);
  }
  if (!e->busy)
    qcache_place(qc, e, g_get_real_time() / G_USEC_PER_SEC);
}

int qcache_load_file(qcache *qc, const char *queue_dir, const char *rel_path) {
  file_state fs = {.path = (char *)rel_path};
  read_state(queue_dir, &fs);
  if (fs.status == CURSUS_OK)
    apply_state(qc, &fs, true);
  g_free(fs.channel);
  return fs.status;
}

typedef struct rebuild {
  const char *queue_dir;
  qcache *qc;
  bool all;      /* read known files again too */
  GArray *files; /* of file_state */
} rebuild;

static bool collect(void *data, const char *channel, const char *rel_path,
                    const char *name) {
  rebuild *rb = data;
  if (!rb->all && qcache_find(rb->qc, rel_path) != NULL)
    return true;
  file_state fs = {.channel = g_strdup(channel), .path = g_strdup(rel_path)};
  g_array_append_val(rb->files, fs);
  return true;
}

/* base_name - the file name of a queue path: ids sort by creation time */
static const char *base_name(const char *rel_path) {
  const char *slash = strrchr(rel_path, '/');
  return slash != NULL ? slash + 1 : rel_path;
}

static gint oldest_first(gconstpointer a, gconstpointer b) {
  return strcmp(base_name(((const file_state *)a)->path),
                base_name(((const file_state *)b)->path));
}

typedef struct slice {
  rebuild *rb;
  guint from, to;
} slice;

static gpointer read_slice(gpointer data) {
  slice *s = data;
  for (guint i = s->from; i < s->to; i++)
    read_state(s->rb->queue_dir, &g_array_index(s->rb->files, file_state, i));
  return NULL;
}

unsigned qcache_rebuild(qcache *qc, const char *queue_dir, unsigned threads) {
  /* with a limit, the files already known are all there is to re-read
   * (their state is the cache's); without one, a full scan refreshes
   * held flags changed behind the controller's back */
  rebuild rb = {.queue_dir = queue_dir, .qc = qc,
                .all = qc->max_messages == 0,
                .files = g_array_new(FALSE, TRUE, sizeof(file_state))};
  queue_scan(queue_dir, NULL, collect, &rb);
  guint n = rb.files->len;
  qc->left_on_disk = false;
  if (qc->max_messages > 0) {
    unsigned room = qcache_room(qc);
    if (n > room) {
      g_array_sort(rb.files, oldest_first);
      for (guint i = room; i < n; i++) {
        g_free(g_array_index(rb.files, file_state, i).channel);
        g_free(g_array_index(rb.files, file_state, i).path);
      }
      g_array_set_size(rb.files, room);
      n = room;
      qc->left_on_disk = true;
    }
  }
  threads = CLAMP(threads, 1u, 16u);
  if (n < 256)
    threads = 1;
  GThread **t = g_new0(GThread *, threads);
  slice *slices = g_new0(slice, threads);
  for (unsigned i = 0; i < threads; i++) {
    slices[i] = (slice){&rb, n * i / threads, n * (i + 1) / threads};
    t[i] = g_thread_new("rebuild", read_slice, &slices[i]);
  }
  unsigned loaded = 0;
  for (unsigned i = 0; i < threads; i++)
    g_thread_join(t[i]);
  for (guint i = 0; i < n; i++) {
    file_state *fs = &g_array_index(rb.files, file_state, i);
    if (fs->status == CURSUS_OK) {
      apply_state(qc, fs, false);
      loaded++;
    }
    g_free(fs->channel);
    g_free(fs->path);
  }
  g_free(t);
  g_free(slices);
  g_array_free(rb.files, TRUE);
  return loaded;
}
