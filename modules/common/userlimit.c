/*
 * userlimit.c - per-user session counting with POSIX record locks
 */
#include "userlimit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>

struct userlimit {
  char *dir;
  char *service;
  unsigned max;
  GMutex lock;
  GHashTable *users; /* user id -> held* */
};

typedef struct held {
  int fd;
  GArray *slots; /* guint, held by this process */
} held;

static void held_free(gpointer p) {
  held *h = p;
  if (h->fd >= 0)
    close(h->fd);
  g_array_free(h->slots, TRUE);
  g_free(h);
}

userlimit *userlimit_new(const char *dir, const char *service, unsigned max) {
  userlimit *ul = g_new0(userlimit, 1);
  ul->dir = g_strdup(dir);
  ul->service = g_strdup(service);
  ul->max = max;
  g_mutex_init(&ul->lock);
  ul->users = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, held_free);
  return ul;
}

void userlimit_free(userlimit **ulp) {
  userlimit *ul = *ulp;
  if (ul == NULL)
    return;
  *ulp = NULL;
  g_hash_table_destroy(ul->users);
  g_mutex_clear(&ul->lock);
  g_free(ul->dir);
  g_free(ul->service);
  g_free(ul);
}

/* user_path - the lock file of USER: a hash keeps odd names out of paths */
static char *user_path(const userlimit *ul, const char *user) {
  char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, user, -1);
  char *path = g_strdup_printf("%s/%s-%.32s", ul->dir, ul->service, sum);
  g_free(sum);
  return path;
}

static bool slot_held(const held *h, unsigned slot) {
  for (guint i = 0; i < h->slots->len; i++)
    if (g_array_index(h->slots, guint, i) == slot)
      return true;
  return false;
}

static int lock_byte(int fd, unsigned slot, short type) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET,
                     .l_start = (off_t)slot, .l_len = 1};
  return fcntl(fd, F_SETLK, &fl);
}

int userlimit_acquire(userlimit *ul, const char *user, const char **error_r) {
  if (ul == NULL || ul->max == 0)
    return 0;
  int result = -1;
  g_mutex_lock(&ul->lock);
  held *h = g_hash_table_lookup(ul->users, user);
  if (h == NULL) {
    char *path = user_path(ul, user);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ENOENT && g_mkdir_with_parents(ul->dir, 0700) == 0)
      fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    g_free(path);
    if (fd < 0) {
      *error_r = g_strerror(errno);
      g_mutex_unlock(&ul->lock);
      return -2;
    }
    h = g_new0(held, 1);
    h->fd = fd;
    h->slots = g_array_new(FALSE, FALSE, sizeof(guint));
    g_hash_table_insert(ul->users, g_strdup(user), h);
  }
  for (unsigned slot = 0; slot < ul->max; slot++) {
    if (slot_held(h, slot))
      continue;
    if (lock_byte(h->fd, slot, F_WRLCK) == 0) {
      g_array_append_val(h->slots, slot);
      result = (int)slot;
      break;
    }
    if (errno != EAGAIN && errno != EACCES) {
      *error_r = g_strerror(errno);
      result = -2;
      break;
    }
  }
  if (h->slots->len == 0)
    g_hash_table_remove(ul->users, user);
  g_mutex_unlock(&ul->lock);
  return result;
}

void userlimit_release(userlimit *ul, const char *user, int slot) {
  if (ul == NULL || ul->max == 0 || slot < 0 || user == NULL)
    return;
  g_mutex_lock(&ul->lock);
  held *h = g_hash_table_lookup(ul->users, user);
  if (h != NULL) {
    for (guint i = 0; i < h->slots->len; i++) {
      if (g_array_index(h->slots, guint, i) == (guint)slot) {
        lock_byte(h->fd, (unsigned)slot, F_UNLCK);
        g_array_remove_index_fast(h->slots, i);
        break;
      }
    }
    if (h->slots->len == 0)
      g_hash_table_remove(ul->users, user);
  }
  g_mutex_unlock(&ul->lock);
}
