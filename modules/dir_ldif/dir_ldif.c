/*
 * dir_ldif.c - the embedded directory: users, groups and domains read
 * from an LDIF file
 *
 * The file (`[module dir_ldif] file`, default directory.ldif in the
 * configuration directory) holds the same entries an LDAP server would,
 * so `ldapadd -f` moves it to LDAP unchanged.  It is read at open, read
 * again on refresh and, every `check_interval`, when it changed on disk;
 * a new version with an error is refused with "file:line: reason" and the
 * old data stays in use.  Provisioning rewrites the file atomically
 * (temporary file, fsync, rename) under a lock, keeping the comments and
 * layout of every record it does not change.
 *
 * Offers: the directory ops of directory.h.  Needs: the host table,
 * ldif.c, ldifdb.c, filter.c, direntry.
 */
#include "build-config.h"
#include "direntry/direntry.h"
#include "ldifdb.h"

#include <cursus/cursus.h>
#include <errno.h>
#include <fcntl.h>
#include <ldap.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const cursus_host *host;

typedef struct ldifdir {
  cursus_module_ctx *ctx;
  char *path;
  GMutex lock;        /* guards db, sig, bad_sig */
  ldifdb *db;
  struct stat sig;    /* of the file db was read from */
  struct stat bad_sig; /* of the last version refused (logged once) */
  GMutex reload_lock; /* one reader of the file at a time */
  gint64 interval_us;
  gint64 next_check;  /* monotonic time of the next look at the file */
  guint reloads, refusals;
} ldifdir;

static __thread char errbuf[1024];

/* err - a formatted message in this thread's buffer */
static G_GNUC_PRINTF(1, 2) const char *err(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  g_vsnprintf(errbuf, sizeof(errbuf), fmt, args);
  va_end(args);
  return errbuf;
}

/* err_take - MSG (allocated) in this thread's buffer; frees MSG */
static const char *err_take(char *msg) {
  g_strlcpy(errbuf, msg, sizeof(errbuf));
  g_free(msg);
  return errbuf;
}

static bool same_file(const struct stat *a, const struct stat *b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
         a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
         a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
         a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* check_value - the server's rules for VALUE of NAME (host->directory) */
static bool check_value(const char *name, const char *value,
                        const char **why_r) {
  const cursus_directory_access *a = host->directory;
  if (a == NULL || !CURSUS_HAS(a, check_value))
    return true;
  return a->check_value(name, value, why_r) == 1;
}

/* read_text - the whole of PATH, read through one descriptor (so the
 * stat and the text belong together); false with *error_r (allocated) */
static bool read_text(const char *path, char **text_r, gsize *len_r,
                      struct stat *st_r, char **error_r) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, st_r) < 0) {
    *error_r = g_strdup_printf("cannot read %s: %s", path, g_strerror(errno));
    if (fd >= 0)
      close(fd);
    return false;
  }
  GString *text = g_string_sized_new((gsize)st_r->st_size + 1);
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      *error_r = g_strdup_printf("cannot read %s: %s", path,
                                 g_strerror(errno));
      close(fd);
      g_string_free(text, TRUE);
      return false;
    }
    g_string_append_len(text, buf, n);
  }
  close(fd);
  *len_r = text->len;
  *text_r = g_string_free(text, FALSE);
  return true;
}

/* parse_db - the data of TEXT read from NAME; NULL with *error_r */
static ldifdb *parse_db(const char *name, const char *text, gsize len,
                        char **error_r) {
  ldif_file *f = ldif_parse(name, text, len, error_r);
  return f != NULL ? ldifdb_build(f, name, check_value, error_r) : NULL;
}

/* good_path - where the last version read without errors is kept: in the
 * state directory, so a process started after the file broke still
 * serves the data read before */
static char *good_path(ldifdir *d) {
  char *base = g_path_get_basename(d->path);
  char *name = g_strdup_printf("%s.good", base);
  char *path = g_build_filename(host->path(d->ctx, CURSUS_PATH_STATE),
                                "dir_ldif", name, NULL);
  g_free(name);
  g_free(base);
  return path;
}

static bool write_atomic(const char *path, const char *text, size_t len,
                         char **error_r);

/* keep_good - TEXT (read with stat ST) is the last good version; written
 * once per version of the file, by server processes only (a tool run as
 * root must not leave files the server cannot replace) */
static void keep_good(ldifdir *d, const char *text, gsize len,
                      const struct stat *st) {
  if (host->process == CURSUS_PROC_TOOL)
    return;
  char *path = good_path(d);
  char *stamp_path = g_strdup_printf("%s.stamp", path);
  char *stamp = g_strdup_printf("%llu %llu %lld %lld.%09ld\n",
                                (unsigned long long)st->st_dev,
                                (unsigned long long)st->st_ino,
                                (long long)st->st_size,
                                (long long)st->st_mtim.tv_sec,
                                st->st_mtim.tv_nsec);
  char *old = NULL, *error = NULL, *dir = g_path_get_dirname(path);
  if (!g_file_get_contents(stamp_path, &old, NULL, NULL) ||
      strcmp(old, stamp) != 0) {
    if (g_mkdir_with_parents(dir, 0750) < 0 ||
        !write_atomic(path, text, len, &error) ||
        !write_atomic(stamp_path, stamp, strlen(stamp), &error)) {
      host->log(d->ctx, CURSUS_LOG_WARNING,
                "cannot keep a copy of %s: %s", d->path,
                error != NULL ? error : g_strerror(errno));
    }
  }
  g_free(error);
  g_free(dir);
  g_free(old);
  g_free(stamp);
  g_free(stamp_path);
  g_free(path);
}

/* read_db - read, check and (for server processes) keep the file; NULL
 * with *error_r (allocated) */
static ldifdb *read_db(ldifdir *d, struct stat *st_r, char **error_r) {
  char *text = NULL;
  gsize len = 0;
  if (!read_text(d->path, &text, &len, st_r, error_r))
    return NULL;
  ldifdb *db = parse_db(d->path, text, len, error_r);
  if (db != NULL)
    keep_good(d, text, len, st_r);
  g_free(text);
  return db;
}

/* read_good - the last good version, after the file itself was refused
 * with ERROR; NULL when there is none */
static ldifdb *read_good(ldifdir *d, const char *error) {
  char *path = good_path(d), *text = NULL, *why = NULL;
  gsize len = 0;
  struct stat st;
  ldifdb *db = NULL;
  if (host->process != CURSUS_PROC_TOOL &&
      read_text(path, &text, &len, &st, &why))
    db = parse_db(path, text, len, &why);
  if (db != NULL)
    host->log(d->ctx, CURSUS_LOG_ERROR,
              "%s; still using the data read before (%s)", error, path);
  g_free(why);
  g_free(text);
  g_free(path);
  return db;
}

/* swap_db - make DB current */
static void swap_db(ldifdir *d, ldifdb *db, const struct stat *st) {
  g_mutex_lock(&d->lock);
  ldifdb *old = d->db;
  d->db = db;
  d->sig = *st;
  d->reloads++;
  g_mutex_unlock(&d->lock);
  ldifdb_unref(&old);
}

/* reload_if_changed - read the file again when it changed; CURSUS_OK,
 * CURSUS_NONE (unchanged), or PERMFAIL with *error_r (old data kept) */
static int reload_if_changed(ldifdir *d, bool force, const char **error_r) {
  struct stat st, cur;
  if (stat(d->path, &st) < 0) {
    *error_r = err("cannot read %s: %s; still using the data read before",
                   d->path, g_strerror(errno));
    return CURSUS_PERMFAIL;
  }
  g_mutex_lock(&d->lock);
  cur = d->sig;
  bool known_bad = same_file(&st, &d->bad_sig);
  g_mutex_unlock(&d->lock);
  if (!force && (same_file(&st, &cur) || known_bad))
    return CURSUS_NONE;
  char *error = NULL;
  ldifdb *db = read_db(d, &st, &error);
  if (db == NULL) {
    g_mutex_lock(&d->lock);
    bool first = !same_file(&st, &d->bad_sig);
    d->bad_sig = st;
    d->refusals++;
    g_mutex_unlock(&d->lock);
    if (first)
      host->log(d->ctx, CURSUS_LOG_ERROR,
                "%s; still using the data read before", error);
    *error_r = err_take(error);
    return CURSUS_PERMFAIL;
  }
  swap_db(d, db, &st);
  host->log(d->ctx, CURSUS_LOG_INFO, "read %s: %zu entries", d->path,
            ldifdb_count(db));
  return CURSUS_OK;
}

/* current - the data to answer from, after a look at the file when due */
static ldifdb *current(ldifdir *d, unsigned flags) {
  const char *error;
  gint64 now = g_get_monotonic_time();
  if (flags & CURSUS_DIR_FRESH) {
    g_mutex_lock(&d->reload_lock);
    reload_if_changed(d, false, &error);
    g_mutex_unlock(&d->reload_lock);
  } else if (d->interval_us > 0 &&
             now >= __atomic_load_n(&d->next_check, __ATOMIC_RELAXED) &&
             g_mutex_trylock(&d->reload_lock)) {
    __atomic_store_n(&d->next_check, now + d->interval_us, __ATOMIC_RELAXED);
    reload_if_changed(d, false, &error);
    g_mutex_unlock(&d->reload_lock);
  }
  g_mutex_lock(&d->lock);
  ldifdb *db = ldifdb_ref(d->db);
  g_mutex_unlock(&d->lock);
  return db;
}

static int ldif_open(cursus_module_ctx *ctx, void **dir_r,
                     const char **error_r) {
  const char *file = host->setting(ctx, "file");
  ldifdir *d = g_new0(ldifdir, 1);
  d->ctx = ctx;
  d->path = g_build_filename(host->path(ctx, CURSUS_PATH_CONFIG),
                             file != NULL ? file : "directory.ldif", NULL);
  if (file != NULL && g_path_is_absolute(file)) {
    g_free(d->path);
    d->path = g_strdup(file);
  }
  d->interval_us = host->setting_int(ctx, "check_interval", 2) * G_USEC_PER_SEC;
  g_mutex_init(&d->lock);
  g_mutex_init(&d->reload_lock);
  char *error = NULL;
  struct stat st;
  d->db = read_db(d, &st, &error);
  if (d->db == NULL && (d->db = read_good(d, error)) != NULL) {
    /* serve the old data; look at the file again when it changes */
    if (stat(d->path, &st) == 0)
      d->bad_sig = st;
    memset(&st, 0, sizeof(st));
    g_free(error);
    error = NULL;
  }
  if (d->db == NULL) {
    *error_r = err_take(error);
    g_mutex_clear(&d->lock);
    g_mutex_clear(&d->reload_lock);
    g_free(d->path);
    g_free(d);
    return CURSUS_PERMFAIL;
  }
  d->sig = st;
  d->next_check = g_get_monotonic_time() + d->interval_us;
  host->log(ctx, CURSUS_LOG_INFO, "read %s: %zu entries", d->path,
            ldifdb_count(d->db));
  *dir_r = d;
  return CURSUS_OK;
}

static void ldif_close(void *dir) {
  ldifdir *d = dir;
  ldifdb_unref(&d->db);
  g_mutex_clear(&d->lock);
  g_mutex_clear(&d->reload_lock);
  g_free(d->path);
  g_free(d);
}

static int ldif_reload(void *dir, const char **error_r) {
  ldifdir *d = dir;
  g_mutex_lock(&d->reload_lock);
  int rc = reload_if_changed(d, false, error_r);
  g_mutex_unlock(&d->reload_lock);
  return rc == CURSUS_NONE ? CURSUS_OK : rc;
}

/* normalize - DN as a key, or NULL with *error_r ("" stays "") */
static char *normalize(const char *dn, const char **error_r) {
  /* lookups name a few bases (the domains') over and over: remember the
   * normalised forms */
  static GMutex lock;
  static GHashTable *known;
  char *error = NULL;
  if (dn == NULL || *dn == '\0')
    return g_strdup("");
  g_mutex_lock(&lock);
  const char *hit = known != NULL ? g_hash_table_lookup(known, dn) : NULL;
  char *ndn = g_strdup(hit);
  g_mutex_unlock(&lock);
  if (ndn != NULL)
    return ndn;
  ndn = ldif_normalize_dn(dn, &error);
  if (ndn == NULL) {
    *error_r = err_take(error);
    return NULL;
  }
  g_mutex_lock(&lock);
  if (known == NULL || g_hash_table_size(known) >= 4096) {
    if (known != NULL)
      g_hash_table_destroy(known);
    known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  }
  g_hash_table_insert(known, g_strdup(dn), g_strdup(ndn));
  g_mutex_unlock(&lock);
  return ndn;
}

static int ldif_lookup_domain(void *dir, const char *domain, unsigned flags,
                              cursus_entry **entry_r, const char **error_r) {
  ldifdb *db = current(dir, flags);
  int rc = ldifdb_domain(db, domain, entry_r, error_r);
  ldifdb_unref(&db);
  return rc;
}

static int ldif_lookup_address(void *dir, const char *base_dn,
                               const char *address, unsigned kinds,
                               unsigned flags, cursus_entry **entry_r,
                               const char **error_r) {
  char *base = normalize(base_dn, error_r);
  if (base == NULL)
    return CURSUS_PERMFAIL;
  ldifdb *db = current(dir, flags);
  int rc = ldifdb_address(db, base, address, kinds, entry_r, error_r);
  ldifdb_unref(&db);
  g_free(base);
  return rc;
}

static int ldif_lookup_uid(void *dir, const char *base_dn, const char *uid,
                           unsigned flags, cursus_entry **entry_r,
                           const char **error_r) {
  char *base = normalize(base_dn, error_r);
  if (base == NULL)
    return CURSUS_PERMFAIL;
  ldifdb *db = current(dir, flags);
  int rc = ldifdb_uid(db, base, uid, entry_r, error_r);
  ldifdb_unref(&db);
  g_free(base);
  return rc;
}

static int ldif_lookup_dn(void *dir, const char *dn, unsigned flags,
                          cursus_entry **entry_r, const char **error_r) {
  char *ndn = normalize(dn, error_r);
  if (ndn == NULL)
    return CURSUS_PERMFAIL;
  ldifdb *db = current(dir, flags);
  int rc = ldifdb_dn(db, ndn, entry_r);
  ldifdb_unref(&db);
  g_free(ndn);
  return rc;
}

static int ldif_search(void *dir, const char *base_dn, int scope,
                       const char *filter_text, size_t max_entries,
                       unsigned flags, cursus_entry_cb *cb, void *data,
                       const char **error_r) {
  char *error = NULL;
  filter *f = filter_parse(filter_text, &error);
  if (f == NULL) {
    *error_r = err_take(error);
    return CURSUS_PERMFAIL;
  }
  char *base = normalize(base_dn, error_r);
  if (base == NULL) {
    filter_free(&f);
    return CURSUS_PERMFAIL;
  }
  ldifdb *db = current(dir, flags);
  int rc = ldifdb_search(db, base, scope, f, max_entries, cb, data, error_r);
  ldifdb_unref(&db);
  filter_free(&f);
  g_free(base);
  return rc;
}

static int ldif_search_url(void *dir, const char *url, size_t max_entries,
                           unsigned flags, cursus_entry_cb *cb, void *data,
                           const char **error_r) {
  char *base = NULL, *text = NULL;
  int scope;
  if (!direntry_url(url, &base, &scope, &text, error_r))
    return CURSUS_PERMFAIL;
  int rc = ldif_search(dir, base, scope, text, max_entries, flags, cb, data,
                       error_r);
  g_free(base);
  g_free(text);
  return rc;
}

/* ------------------------------------------------------------- writing */

/* write_atomic - TEXT to PATH through a temporary file, keeping the
 * mode and owner of the file it replaces */
static bool write_atomic(const char *path, const char *text, size_t len,
                         char **error_r) {
  struct stat st;
  bool had = stat(path, &st) == 0;
  char *tmp = g_strdup_printf("%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                had ? (st.st_mode & 07777) : 0640);
  bool ok = fd >= 0;
  for (size_t done = 0; ok && done < len;) {
    ssize_t n = write(fd, text + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    ok = n > 0;
    done += ok ? (size_t)n : 0;
  }
  if (ok && had && geteuid() == 0)
    ok = fchown(fd, st.st_uid, st.st_gid) == 0;
  if (ok && had)
    ok = fchmod(fd, st.st_mode & 07777) == 0;
  ok = ok && fsync(fd) == 0;
  if (fd >= 0 && close(fd) < 0)
    ok = false;
  ok = ok && rename(tmp, path) == 0;
  if (!ok) {
    *error_r = g_strdup_printf("cannot write %s: %s", path, g_strerror(errno));
    unlink(tmp);
    g_free(tmp);
    return false;
  }
  g_free(tmp);
  char *dir = g_path_get_dirname(path);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  g_free(dir);
  return true;
}

/* A change of the file: applied to a private copy of its records. */
typedef int change_fn(ldif_file *f, void *data, const char **error_r);

/* record_index - where the record NDN is in F, or -1 */
static int record_index(const ldif_file *f, const char *ndn) {
  for (guint i = 0; i < f->records->len; i++)
    if (strcmp(((ldif_record *)f->records->pdata[i])->ndn, ndn) == 0)
      return (int)i;
  return -1;
}

/* find_record - the index of the existing record DN (its normalised name
 * in *ndn_r), or a failure with *error_r: PERMFAIL for a bad DN, NONE
 * when there is no such record */
static int find_record(const ldif_file *f, const char *dn, char **ndn_r,
                       int *index_r, const char **error_r) {
  *ndn_r = normalize(dn, error_r);
  if (*ndn_r == NULL)
    return CURSUS_PERMFAIL;
  *index_r = record_index(f, *ndn_r);
  if (*index_r >= 0)
    return CURSUS_OK;
  *error_r = err("no entry %s", dn);
  return CURSUS_NONE;
}

/* change_file - lock, read, change, check, write, and serve the result */
static int change_file(ldifdir *d, change_fn *fn, void *data,
                       const char **error_r) {
  char *lockpath = g_strdup_printf("%s.lock", d->path);
  int lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  g_free(lockpath);
  if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
    *error_r = err("cannot lock %s.lock: %s", d->path, g_strerror(errno));
    if (lfd >= 0)
      close(lfd);
    return CURSUS_TEMPFAIL;
  }
  g_mutex_lock(&d->reload_lock);
  char *text = NULL, *error = NULL;
  gsize len = 0;
  int rc = CURSUS_PERMFAIL;
  ldif_file *f = NULL;
  if (!g_file_get_contents(d->path, &text, &len, NULL))
    *error_r = err("cannot read %s: %s", d->path, g_strerror(errno));
  else if ((f = ldif_parse(d->path, text, len, &error)) == NULL)
    *error_r = err("%s (fix the file before changing it)", error);
  else
    rc = fn(f, data, error_r);
  g_free(text);
  g_free(error);
  error = NULL;
  if (rc == CURSUS_OK) {
    size_t out_len;
    char *out = ldif_write_file(f, &out_len);
    ldifdb *db = ldifdb_build(f, d->path, check_value, &error);
    f = NULL;
    struct stat st;
    if (db == NULL) {
      *error_r = err_take(error);
      rc = CURSUS_PERMFAIL;
    } else if (!write_atomic(d->path, out, out_len, &error) ||
               stat(d->path, &st) < 0) {
      *error_r = err_take(error != NULL ? error : g_strdup("cannot stat"));
      ldifdb_unref(&db);
      rc = CURSUS_TEMPFAIL;
    } else {
      swap_db(d, db, &st);
    }
    g_free(out);
  }
  ldif_file_free(&f);
  g_mutex_unlock(&d->reload_lock);
  close(lfd);
  return rc;
}

static int change_add(ldif_file *f, void *data, const char **error_r) {
  const cursus_entry *e = data;
  char *ndn = normalize(e->dn, error_r);
  if (ndn == NULL)
    return CURSUS_PERMFAIL;
  char *parent = ldif_parent_dn(ndn);
  int rc = CURSUS_PERMFAIL;
  if (record_index(f, ndn) >= 0)
    *error_r = err("entry %s already exists", e->dn);
  else if (*parent != '\0' && record_index(f, parent) < 0)
    *error_r = err("the parent of %s does not exist", e->dn);
  else
    rc = CURSUS_OK;
  if (rc == CURSUS_OK) {
    ldif_record *r = ldif_record_new(e->dn, ndn);
    for (size_t i = 0; i < e->n_attrs; i++)
      for (size_t v = 0; v < e->attrs[i].n_values; v++)
        ldif_record_add(r, e->attrs[i].name, e->attrs[i].values[v]);
    g_ptr_array_add(f->records, r);
  }
  g_free(parent);
  g_free(ndn);
  return rc;
}

static int ldif_add(void *dir, const cursus_entry *entry,
                    const char **error_r) {
  return change_file(dir, change_add, (void *)entry, error_r);
}

typedef struct modify_req {
  const char *dn;
  const cursus_mod *mods;
  size_t n_mods;
} modify_req;

/* keeps_rdn - E still has the attribute value its DN is named by */
static bool keeps_rdn(const cursus_entry *e) {
  LDAPDN dn = NULL;
  bool ok = true;
  if (ldap_str2dn(e->dn, &dn, LDAP_DN_FORMAT_LDAP) != LDAP_SUCCESS || !dn)
    return false;
  for (LDAPRDN rdn = dn[0]; rdn != NULL && ok && *rdn != NULL; rdn++) {
    LDAPAVA *ava = *rdn;
    char *name = g_strndup(ava->la_attr.bv_val, ava->la_attr.bv_len);
    char *value = g_strndup(ava->la_value.bv_val, ava->la_value.bv_len);
    ok = cursus_entry_has(e, name, value);
    g_free(name);
    g_free(value);
  }
  ldap_dnfree(dn);
  return ok;
}

/* touched - a change names attribute NAME */
static bool touched(const modify_req *m, const char *name) {
  for (size_t i = 0; i < m->n_mods; i++)
    if (g_ascii_strcasecmp(m->mods[i].name, name) == 0)
      return true;
  return false;
}

static int change_modify(ldif_file *f, void *data, const char **error_r) {
  const modify_req *m = data;
  char *ndn = NULL;
  int i = -1, rc = find_record(f, m->dn, &ndn, &i, error_r);
  if (rc != CURSUS_OK) {
    g_free(ndn);
    return rc;
  }
  ldif_record *old = f->records->pdata[i];
  cursus_entry *e = ldifdb_record_entry(old), *ne = NULL;
  char *error = NULL;
  if (!direntry_apply(e, m->mods, m->n_mods, &ne, &error)) {
    *error_r = err_take(error);
    rc = CURSUS_PERMFAIL;
  } else if (!keeps_rdn(ne)) {
    *error_r = err("the change removes the value the entry is named by (%s)",
                   m->dn);
    rc = CURSUS_PERMFAIL;
  } else if (cursus_entry_attr(ne, "objectClass") == NULL) {
    *error_r = err("the change removes every objectClass of %s", m->dn);
    rc = CURSUS_PERMFAIL;
  }
  if (rc == CURSUS_OK) {
    ldif_record *r = ldif_record_new(old->dn, old->ndn);
    r->lead = g_strdup(old->lead);
    for (size_t a = 0; a < ne->n_attrs; a++)
      for (size_t v = 0; v < ne->attrs[a].n_values; v++)
        ldif_record_add(r, ne->attrs[a].name, ne->attrs[a].values[v]);
    for (guint v = 0; v < old->values->len; v++) {
      const ldif_value *ov = &g_array_index(old->values, ldif_value, v);
      if (ov->binary && !touched(m, ov->name)) {
        ldif_value copy = *ov;
        copy.value = g_memdup2(ov->value, ov->len + 1);
        g_array_append_val(r->values, copy);
      }
    }
    r->line = old->line;
    g_ptr_array_index(f->records, i) = r;
    ldif_record_free(old);
  }
  direntry_unref(e);
  direntry_unref(ne);
  g_free(ndn);
  return rc;
}

static int ldif_modify(void *dir, const char *dn, const cursus_mod *mods,
                       size_t n_mods, const char **error_r) {
  modify_req m = {dn, mods, n_mods};
  return change_file(dir, change_modify, &m, error_r);
}

static int change_remove(ldif_file *f, void *data, const char **error_r) {
  const char *dn = data;
  char *ndn = NULL;
  int i = -1, rc = find_record(f, dn, &ndn, &i, error_r);
  for (guint k = 0; rc == CURSUS_OK && k < f->records->len; k++) {
    char *parent = ldif_parent_dn(((ldif_record *)f->records->pdata[k])->ndn);
    if (strcmp(parent, ndn) == 0) {
      *error_r = err("entry %s has entries below it; remove them first", dn);
      rc = CURSUS_PERMFAIL;
    }
    g_free(parent);
  }
  if (rc == CURSUS_OK)
    g_ptr_array_remove_index(f->records, (guint)i);
  g_free(ndn);
  return rc;
}

static int ldif_remove(void *dir, const char *dn, const char **error_r) {
  return change_file(dir, change_remove, (void *)dn, error_r);
}

static void ldif_entry_free(void *dir, cursus_entry *entry) {
  direntry_unref(entry);
}

static void ldif_stats(void *dir, cursus_buf *out) {
  ldifdir *d = dir;
  g_mutex_lock(&d->lock);
  host->buf_printf(out, "file %s\nentries %zu\nreads %u\nrefused %u\n",
                   d->path, ldifdb_count(d->db), d->reloads + 1,
                   d->refusals);
  g_mutex_unlock(&d->lock);
}

static const cursus_directory_ops ldif_ops = {
    .size = sizeof(cursus_directory_ops),
    .open = ldif_open,
    .close = ldif_close,
    .reload = ldif_reload,
    .flush = NULL,
    .lookup_domain = ldif_lookup_domain,
    .lookup_address = ldif_lookup_address,
    .lookup_uid = ldif_lookup_uid,
    .lookup_dn = ldif_lookup_dn,
    .search = ldif_search,
    .search_url = ldif_search_url,
    .authenticate = NULL,
    .add = ldif_add,
    .modify = ldif_modify,
    .remove = ldif_remove,
    .entry_free = ldif_entry_free,
    .stats = ldif_stats,
};

static const cursus_keyword ldif_settings[] = {
    {"file", CURSUS_VALUE_PATH, 1, 1,
     "LDIF file of users, groups and domains (default directory.ldif in the "
     "configuration directory)"},
    {"check_interval", CURSUS_VALUE_DURATION, 1, 1,
     "how often to look whether the file changed (default 2 s; 0: only on "
     "refresh)"},
    {NULL, 0, 0, 0, NULL},
};

static int ldif_init(cursus_module_ctx *ctx, const cursus_host *h,
                     const char **error_r) {
  host = h;
  return CURSUS_OK;
}

CURSUS_MODULE(.name = "dir_ldif", .version = PACKAGE_VERSION,
              .vendor = "Cursus", .license = "GPL-3.0-or-later",
              .description = "embedded directory read from an LDIF file",
              .kinds = CURSUS_KIND_DIRECTORY, .processes = CURSUS_PROC_ANY,
              .flags = CURSUS_MODULE_LOCAL_LOOKUPS,
              .settings = ldif_settings, .init = ldif_init,
              .directory = &ldif_ops);
