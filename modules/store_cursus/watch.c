/*
 * watch.c - change notifications: inotify on folder directories
 *
 * Every change to a folder is a write to its store.log (or a new log
 * after a checkpoint), whichever process makes it, so watching the
 * folder directory for those events tells IDLE sessions at once.
 */
#include "watch.h"
#include "folder.h"
#include "user.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

struct cursus_store_watch {
  sc_folder *f;
  void (*cb)(void *data);
  void *data;
  unsigned busy;  /* being called back; freed after */
  bool removed;
};

static GMutex mu;
static int ino_fd = -1;
static cursus_watch *ino_watch;
static GHashTable *by_wd; /* wd -> sc_folder* with watchers */

/* watch_free - after the last use (mu not held) */
static void watch_free(cursus_store_watch *w) {
  sc_folder_unref(&w->f);
  g_free(w);
}

static void on_events(void *unused, unsigned events) {
  char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
  GPtrArray *calls = g_ptr_array_new();
  g_mutex_lock(&mu);
  GHashTable *woken = g_hash_table_new(NULL, NULL);
  for (;;) {
    ssize_t n = read(ino_fd, buf, sizeof(buf));
    if (n <= 0)
      break;
    for (char *p = buf; p < buf + n;) {
      struct inotify_event *ev = (struct inotify_event *)(void *)p;
      bool relevant = (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) ||
                      (ev->len > 0 && strcmp(ev->name, "store.log") == 0);
      sc_folder *f = by_wd != NULL
                         ? g_hash_table_lookup(by_wd, GINT_TO_POINTER(ev->wd))
                         : NULL;
      if (f != NULL && relevant && g_hash_table_add(woken, f))
        for (guint i = 0; i < f->watchers->len; i++) {
          cursus_store_watch *w = f->watchers->pdata[i];
          w->busy++;
          g_ptr_array_add(calls, w);
        }
      p += sizeof(struct inotify_event) + ev->len;
    }
  }
  g_hash_table_destroy(woken);
  g_mutex_unlock(&mu);
  for (guint i = 0; i < calls->len; i++) {
    cursus_store_watch *w = calls->pdata[i];
    if (!w->removed)
      w->cb(w->data);
    g_mutex_lock(&mu);
    bool done = --w->busy == 0 && w->removed;
    g_mutex_unlock(&mu);
    if (done)
      watch_free(w);
  }
  g_ptr_array_free(calls, TRUE);
}

cursus_store_watch *sc_op_watch_add(cursus_store_mailbox *box,
                                    void (*cb)(void *data), void *data,
                                    const char **error_r) {
  GError *err = NULL;
  sc_folder *f = sc_folder_ref(box->f);
  g_mutex_lock(&mu);
  if (ino_fd < 0) {
    if (sc_host->io_watch == NULL) {
      g_mutex_unlock(&mu);
      sc_folder_unref(&f);
      sc_set_error(&err, CURSUS_STORE_E_UNSUPPORTED,
                   "no event loop in this process");
      sc_user_fail(box->user, err, error_r);
      return NULL;
    }
    ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ino_watch = ino_fd >= 0 ? sc_host->io_watch(ino_fd, CURSUS_IO_READ,
                                                on_events, NULL)
                            : NULL;
    if (ino_watch == NULL) {
      if (ino_fd >= 0)
        close(ino_fd);
      ino_fd = -1;
      g_mutex_unlock(&mu);
      sc_folder_unref(&f);
      sc_set_error(&err, CURSUS_STORE_E_UNSUPPORTED,
                   "change notification is not available here: %s",
                   g_strerror(errno));
      sc_user_fail(box->user, err, error_r);
      return NULL;
    }
    by_wd = g_hash_table_new(NULL, NULL);
  }
  if (f->wd < 0) {
    f->wd = inotify_add_watch(ino_fd, f->path,
                              IN_MODIFY | IN_MOVED_TO | IN_CREATE |
                                  IN_DELETE_SELF | IN_MOVE_SELF);
    if (f->wd < 0) {
      int e = errno;
      g_mutex_unlock(&mu);
      sc_folder_unref(&f);
      sc_set_error(&err, CURSUS_STORE_E_TEMP, "cannot watch %s: %s", f->path,
                   g_strerror(e));
      sc_user_fail(box->user, err, error_r);
      return NULL;
    }
    g_hash_table_insert(by_wd, GINT_TO_POINTER(f->wd), f);
  }
  cursus_store_watch *w = g_new0(cursus_store_watch, 1);
  w->f = f;
  w->cb = cb;
  w->data = data;
  g_ptr_array_add(f->watchers, w);
  g_mutex_unlock(&mu);
  return w;
}

void sc_op_watch_remove(cursus_store_watch **wp) {
  cursus_store_watch *w = *wp;
  if (w == NULL)
    return;
  *wp = NULL;
  g_mutex_lock(&mu);
  sc_folder *f = w->f;
  g_ptr_array_remove(f->watchers, w);
  if (f->watchers->len == 0 && f->wd >= 0) {
    inotify_rm_watch(ino_fd, f->wd);
    g_hash_table_remove(by_wd, GINT_TO_POINTER(f->wd));
    f->wd = -1;
  }
  w->removed = true;
  bool now = w->busy == 0;
  g_mutex_unlock(&mu);
  if (now)
    watch_free(w);
}

void sc_watch_folder_gone(sc_folder *f) {
  /* watchers hold a reference, so a folder being freed has none */
  if (f->wd < 0)
    return;
  g_mutex_lock(&mu);
  if (ino_fd >= 0) {
    inotify_rm_watch(ino_fd, f->wd);
    g_hash_table_remove(by_wd, GINT_TO_POINTER(f->wd));
  }
  f->wd = -1;
  g_mutex_unlock(&mu);
}

void sc_watch_shutdown(void) {
  g_mutex_lock(&mu);
  if (ino_watch != NULL)
    sc_host->io_unwatch(&ino_watch);
  if (ino_fd >= 0)
    close(ino_fd);
  ino_fd = -1;
  if (by_wd != NULL)
    g_hash_table_destroy(by_wd);
  by_wd = NULL;
  g_mutex_unlock(&mu);
}
