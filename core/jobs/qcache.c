/*
 * qcache.c - the job controller's queue cache
 */
#include "build-config.h"
#include "qcache.h"
#include "queue/queue.h"
#include "util/log.h"

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
  e = g_new0(qc_entry, 1);
  e->path = g_strdup(path);
  e->chan = qcache_chan(qc, channel);
  e->priority = priority;
  e->size = size;
  e->arrival = g_get_real_time() / G_USEC_PER_SEC;
  e->chan->count++;
  g_hash_table_insert(qc->entries, e->path, e);
  return e;
}

void qcache_place(qcache *qc, qc_entry *e, int64_t now) {
  unplace(qc, e);
  if (e->held || e->busy)
    return;
  if (e->next_retry <= now)
    e->ready_link = (g_queue_push_tail(&e->chan->ready[prio_slot(e->priority)], e),
                     g_queue_peek_tail_link(&e->chan->ready[prio_slot(e->priority)]));
  else
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
  unsigned attempts;
  int64_t arrival, next_retry;
  bool held, empty;
} file_state;

static void read_state(const char *queue_dir, file_state *fs) {
  char *full = g_build_filename(queue_dir, fs->path, NULL);
  char *error = NULL;
  qmsg *q = NULL;
  fs->status = qmsg_open(full, false, &q, &error);
  g_free(full);
  if (fs->status != CURSUS_OK) {
    if (fs->status != CURSUS_NONE)
      log_error("%s", error);
    g_free(error);
    return;
  }
  fs->priority = q->env->priority;
  fs->size = q->env->size;
  fs->attempts = q->env->attempts;
  fs->arrival = q->env->arrival_us / G_USEC_PER_SEC;
  fs->next_retry = q->env->next_retry;
  fs->held = q->env->held;
  fs->empty = qenv_pending(q->env) == 0;
  if (fs->channel == NULL)
    fs->channel = g_strdup(q->env->channel);
  qmsg_close(&q);
}

static void apply_state(qcache *qc, file_state *fs) {
  if (fs->status != CURSUS_OK)
    return;
  qc_entry *e = qcache_add(qc, fs->channel, fs->path, fs->priority, fs->size);
  e->attempts = fs->attempts;
  e->arrival = fs->arrival;
  e->next_retry = fs->empty ? 0 : fs->next_retry;
  if (fs->held != e->held)
    e->chan->held += fs->held ? 1 : (unsigned)-1;
  e->held = fs->held;
  if (!e->busy)
    qcache_place(qc, e, g_get_real_time() / G_USEC_PER_SEC);
}

int qcache_load_file(qcache *qc, const char *queue_dir, const char *rel_path) {
  file_state fs = {.path = (char *)rel_path};
  read_state(queue_dir, &fs);
  if (fs.status == CURSUS_OK)
    apply_state(qc, &fs);
  g_free(fs.channel);
  return fs.status;
}

typedef struct rebuild {
  const char *queue_dir;
  GArray *files; /* of file_state */
} rebuild;

static bool collect(void *data, const char *channel, const char *rel_path,
                    const char *name) {
  rebuild *rb = data;
  file_state fs = {.channel = g_strdup(channel), .path = g_strdup(rel_path)};
  g_array_append_val(rb->files, fs);
  return true;
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
  rebuild rb = {.queue_dir = queue_dir,
                .files = g_array_new(FALSE, TRUE, sizeof(file_state))};
  queue_scan(queue_dir, NULL, collect, &rb);
  guint n = rb.files->len;
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
      apply_state(qc, fs);
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
