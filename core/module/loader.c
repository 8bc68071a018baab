/*
 * loader.c - module discovery and checks
 */
#include "build-config.h"
#include "loader.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "host.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Size of the descriptor of ABI 1.0: everything up to the last ops. */
#define DESC_MIN_SIZE                                                          \
  (offsetof(struct cursus_module, filter) + sizeof(((struct cursus_module *)0)->filter))

static const struct {
  uint32_t bit;
  const char *name;
} kind_names[] = {
    {CURSUS_KIND_CHANNEL, "channel"},   {CURSUS_KIND_PROTOCOL, "protocol"},
    {CURSUS_KIND_MAPPING, "mapping"},   {CURSUS_KIND_STORE, "store"},
    {CURSUS_KIND_DIRECTORY, "directory"}, {CURSUS_KIND_AUTH, "auth"},
    {CURSUS_KIND_FILTER, "filter"},
};

static const struct {
  uint32_t bit;
  const char *name;
} process_names[] = {
    {CURSUS_PROC_WATCHER, "watcher"},
    {CURSUS_PROC_DISPATCHER, "dispatcher"},
    {CURSUS_PROC_WORKER, "worker"},
    {CURSUS_PROC_JOB_CONTROLLER, "job-controller"},
    {CURSUS_PROC_CHANNEL_JOB, "channel-job"},
    {CURSUS_PROC_STORED, "stored"},
    {CURSUS_PROC_TOOL, "tool"},
};

char *module_kinds_string(uint32_t kinds) {
  GString *s = g_string_new(NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(kind_names); i++)
    if (kinds & kind_names[i].bit)
      g_string_append_printf(s, "%s%s", s->len ? ", " : "", kind_names[i].name);
  return g_string_free(s, FALSE);
}

char *module_processes_string(uint32_t processes) {
  if (processes == 0 || processes == CURSUS_PROC_ANY)
    return g_strdup("any");
  GString *s = g_string_new(NULL);
  for (size_t i = 0; i < G_N_ELEMENTS(process_names); i++)
    if (processes & process_names[i].bit)
      g_string_append_printf(s, "%s%s", s->len ? ", " : "",
                             process_names[i].name);
  return g_string_free(s, FALSE);
}

const char *process_name(unsigned process) {
  for (size_t i = 0; i < G_N_ELEMENTS(process_names); i++)
    if (process == process_names[i].bit)
      return process_names[i].name;
  return "unknown";
}

static void refusal_free(void *p) {
  module_refusal *r = p;
  g_free(r->path);
  g_free(r->name);
  g_free(r->reason);
  g_free(r);
}

static void module_free(void *p) {
  module *m = p;
  bool ran = m->ctx != NULL; /* module_init made a context: its code ran */
  if (m->ctx != NULL) {
    g_free(m->ctx->log_prefix);
    g_free(m->ctx);
  }
  /* a module that ran stays mapped until the process ends: the libraries
   * it brought (libldap, GnuTLS ...) keep process-wide state that would
   * otherwise be unmapped while still allocated (and their frames lost
   * from sanitizer reports) */
  if (m->handle != NULL && !ran)
    dlclose(m->handle);
  g_free(m->path);
  g_free(m);
}

static void refuse(modreg *reg, const char *path, const char *name,
                   const char *fmt, ...) CURSUS_PRINTF(4, 5);

static void refuse(modreg *reg, const char *path, const char *name,
                   const char *fmt, ...) {
  va_list args;
  module_refusal *r = g_new0(module_refusal, 1);
  va_start(args, fmt);
  r->reason = g_strdup_vprintf(fmt, args);
  va_end(args);
  r->path = g_strdup(path);
  r->name = g_strdup(name);
  g_ptr_array_add(reg->refused, r);
}

/* is_elf_shared_object - the file starts with an ELF header of type
 * ET_DYN for this machine's word size */
static bool is_elf_shared_object(const char *path, const char **why_r) {
  ElfW(Ehdr) eh;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why_r = g_strerror(errno);
    return false;
  }
  ssize_t n = read(fd, &eh, sizeof(eh));
  close(fd);
  if (n != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
    *why_r = "not an ELF file";
    return false;
  }
  if (eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)) {
    *why_r = "ELF file for another word size";
    return false;
  }
  if (eh.e_type != ET_DYN) {
    *why_r = "ELF file that is not a shared object";
    return false;
  }
  return true;
}

/* ops_size - the `size` member every ops table starts with */
static uint32_t ops_size(const void *ops) { return *(const uint32_t *)ops; }

/* check_kinds - kinds declared and ops tables present agree; NULL when
 * they do, else the problem (in BUF or static) */
static const char *check_kinds(const struct cursus_module *d, char *buf,
                               size_t bufsize) {
  const void *ops[] = {d->channel, d->protocol, d->mapping, d->store,
                       d->directory, d->auth, d->filter};
  if (d->kinds == 0)
    return "declares no kind";
  if (d->kinds & ~CURSUS_KIND_ALL)
    return "declares a kind unknown to this server";
  for (size_t i = 0; i < G_N_ELEMENTS(kind_names); i++) {
    bool declared = (d->kinds & kind_names[i].bit) != 0;
    if (declared && ops[i] == NULL)
    {
      snprintf(buf, bufsize, "declares kind '%s' but has no %s ops table",
               kind_names[i].name, kind_names[i].name);
      return buf;
    }
    if (!declared && ops[i] != NULL)
    {
      snprintf(buf, bufsize, "has a %s ops table but does not declare kind '%s'",
               kind_names[i].name, kind_names[i].name);
      return buf;
    }
    if (declared && ops_size(ops[i]) < sizeof(uint32_t) * 2)
    {
      snprintf(buf, bufsize, "%s ops table is truncated (size %u)",
               kind_names[i].name, ops_size(ops[i]));
      return buf;
    }
  }
  return NULL;
}

static bool name_ok(const char *name) {
  if (name == NULL || *name == '\0' || strlen(name) > 64)
    return false;
  for (const char *p = name; *p != '\0'; p++)
    if (!(g_ascii_isalnum(*p) || *p == '_' || *p == '-'))
      return false;
  return true;
}

module *modreg_add_file(modreg *reg, const char *path) {
  char *error = NULL;
  const char *why = NULL;

  if (!fs_check_trusted(path, true, &error)) {
    refuse(reg, path, NULL, "refused: %s", error);
    g_free(error);
    return NULL;
  }
  if (!is_elf_shared_object(path, &why)) {
    refuse(reg, path, NULL, "refused: not a shared object (%s)", why);
    return NULL;
  }
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL) {
    refuse(reg, path, NULL, "refused: cannot load: %s", dlerror());
    return NULL;
  }
  const struct cursus_module *d = dlsym(handle, CURSUS_MODULE_SYMBOL);
  if (d == NULL) {
    refuse(reg, path, NULL,
           "refused: no '" CURSUS_MODULE_SYMBOL
           "' descriptor symbol: not a Cursus module");
    dlclose(handle);
    return NULL;
  }

  Dl_info info;
  const ElfW(Sym) *sym = NULL;
  size_t symsize = 0;
  if (dladdr1(d, &info, (void **)&sym, RTLD_DL_SYMENT) != 0 && sym != NULL)
    symsize = sym->st_size;
  if (symsize < offsetof(struct cursus_module, size) + sizeof(d->size)) {
    refuse(reg, path, NULL,
           "refused: truncated descriptor (%zu bytes; the ABI %d.%d "
           "descriptor has %zu)",
           symsize, CURSUS_ABI_MAJOR, CURSUS_ABI_MINOR, DESC_MIN_SIZE);
    dlclose(handle);
    return NULL;
  }
  if (d->magic != CURSUS_MODULE_MAGIC) {
    refuse(reg, path, NULL,
           "refused: garbled descriptor (magic 0x%08x, expected 0x%08x)",
           d->magic, CURSUS_MODULE_MAGIC);
    dlclose(handle);
    return NULL;
  }
  const char *name = symsize >= DESC_MIN_SIZE && name_ok(d->name) ? d->name : NULL;
  if (d->abi_major != CURSUS_ABI_MAJOR) {
    refuse(reg, path, name,
           "refused: module %s is built for module ABI %u.%u; this server "
           "has ABI %d.%d and needs major %d",
           name ? name : "(unnamed)", d->abi_major, d->abi_minor,
           CURSUS_ABI_MAJOR, CURSUS_ABI_MINOR, CURSUS_ABI_MAJOR);
    dlclose(handle);
    return NULL;
  }
  if (d->abi_minor > CURSUS_ABI_MINOR) {
    refuse(reg, path, name,
           "refused: module %s is built for module ABI %u.%u, newer than "
           "this server's %d.%d: upgrade the server or use a module built "
           "for ABI %d.%d",
           name ? name : "(unnamed)", d->abi_major, d->abi_minor,
           CURSUS_ABI_MAJOR, CURSUS_ABI_MINOR, CURSUS_ABI_MAJOR,
           CURSUS_ABI_MINOR);
    dlclose(handle);
    return NULL;
  }
  if (symsize < DESC_MIN_SIZE || d->size < DESC_MIN_SIZE || d->size > symsize) {
    refuse(reg, path, name,
           "refused: truncated descriptor (symbol %zu bytes, descriptor "
           "claims %u; ABI %u.%u needs %zu)",
           symsize, d->size, d->abi_major, d->abi_minor, DESC_MIN_SIZE);
    dlclose(handle);
    return NULL;
  }
  if (name == NULL) {
    refuse(reg, path, NULL,
           "refused: invalid module name (letters, digits, '_' and '-', at "
           "most 64)");
    dlclose(handle);
    return NULL;
  }
  char kind_buf[256];
  const char *kind_error = check_kinds(d, kind_buf, sizeof(kind_buf));
  if (kind_error != NULL) {
    refuse(reg, path, name, "refused: module %s %s", name, kind_error);
    dlclose(handle);
    return NULL;
  }
  module *other = g_hash_table_lookup(reg->by_name, name);
  if (other != NULL) {
    refuse(reg, path, name,
           "refused: duplicate module name %s (version %s; already loaded "
           "from %s, version %s)",
           name, d->version ? d->version : "?", other->path,
           other->desc->version ? other->desc->version : "?");
    dlclose(handle);
    return NULL;
  }

  module *m = g_new0(module, 1);
  m->path = g_strdup(path);
  m->handle = handle;
  m->desc = d;
  m->symbol_size = symsize;
  g_ptr_array_add(reg->modules, m);
  g_hash_table_insert(reg->by_name, (gpointer)d->name, m);
  return m;
}

static gint compare_names(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

modreg *modreg_scan(const char *const *dirs, unsigned process) {
  modreg *reg = g_new0(modreg, 1);
  reg->process = process;
  reg->modules = g_ptr_array_new_with_free_func(module_free);
  reg->refused = g_ptr_array_new_with_free_func(refusal_free);
  reg->by_name = g_hash_table_new(g_str_hash, g_str_equal);

  for (; dirs != NULL && *dirs != NULL; dirs++) {
    if (**dirs == '\0')
      continue;
    GError *error = NULL;
    GDir *dir = g_dir_open(*dirs, 0, &error);
    if (dir == NULL) {
      refuse(reg, *dirs, NULL, "module directory unreadable: %s",
             error->message);
      g_error_free(error);
      continue;
    }
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while ((n = g_dir_read_name(dir)) != NULL)
      if (g_str_has_suffix(n, ".so"))
        g_ptr_array_add(names, g_strdup(n));
    g_dir_close(dir);
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
      char *path = g_build_filename(*dirs, names->pdata[i], NULL);
      modreg_add_file(reg, path);
      g_free(path);
    }
    g_ptr_array_free(names, TRUE);
  }
  modreg_check_requires(reg);
  return reg;
}

void modreg_check_requires(modreg *reg) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (guint i = 0; i < reg->modules->len; i++) {
      module *m = reg->modules->pdata[i];
      const char *const *req = m->desc->requires;
      for (; req != NULL && *req != NULL; req++)
        if (g_hash_table_lookup(reg->by_name, *req) == NULL)
          break;
      if (req == NULL || *req == NULL)
        continue;
      refuse(reg, m->path, m->desc->name,
             "refused: module %s requires module %s, which is not available",
             m->desc->name, *req);
      g_hash_table_remove(reg->by_name, m->desc->name);
      g_ptr_array_remove_index(reg->modules, i);
      changed = true;
      break;
    }
  }
}

void modreg_free(modreg **regp) {
  modreg *reg = *regp;
  if (reg == NULL)
    return;
  *regp = NULL;
  /* fini in reverse order of loading */
  for (guint i = reg->modules->len; i > 0; i--) {
    module *m = reg->modules->pdata[i - 1];
    if (m->initialized && m->desc->fini != NULL)
      m->desc->fini(m->ctx);
    m->initialized = false;
  }
  g_hash_table_destroy(reg->by_name);
  g_ptr_array_free(reg->modules, TRUE);
  g_ptr_array_free(reg->refused, TRUE);
  g_free(reg);
}

module *modreg_find(const modreg *reg, const char *name) {
  return g_hash_table_lookup(reg->by_name, name);
}

const module_refusal *modreg_refusal(const modreg *reg, const char *name) {
  for (guint i = 0; i < reg->refused->len; i++) {
    const module_refusal *r = reg->refused->pdata[i];
    char *base = g_path_get_basename(r->path);
    bool match = (r->name != NULL && strcmp(r->name, name) == 0) ||
                 strcmp(r->path, name) == 0 ||
                 (g_str_has_suffix(base, ".so") &&
                  strncmp(base, name, strlen(base) - 3) == 0 &&
                  strlen(name) == strlen(base) - 3);
    g_free(base);
    if (match)
      return r;
  }
  return NULL;
}

static bool in_list(const char *const *list, const char *s, bool glob) {
  for (; list != NULL && *list != NULL; list++)
    if (glob ? fnmatch(*list, s, FNM_CASEFOLD) == 0
             : g_ascii_strcasecmp(*list, s) == 0)
      return true;
  return false;
}

module *modreg_channel_by_keyword(const modreg *reg, const char *keyword) {
  for (guint i = 0; i < reg->modules->len; i++) {
    module *m = reg->modules->pdata[i];
    if (m->desc->channel != NULL &&
        in_list(m->desc->channel->select_keywords, keyword, false))
      return m;
  }
  return NULL;
}

module *modreg_channel_by_name(const modreg *reg, const char *channel) {
  for (guint i = 0; i < reg->modules->len; i++) {
    module *m = reg->modules->pdata[i];
    if (m->desc->channel != NULL &&
        in_list(m->desc->channel->channel_names, channel, true))
      return m;
  }
  return NULL;
}

module *modreg_protocol(const modreg *reg, const char *name) {
  for (guint i = 0; i < reg->modules->len; i++) {
    module *m = reg->modules->pdata[i];
    if (m->desc->protocol != NULL && in_list(m->desc->protocol->names, name, false))
      return m;
  }
  return NULL;
}

module *modreg_mapping_scheme(const modreg *reg, const char *scheme) {
  for (guint i = 0; i < reg->modules->len; i++) {
    module *m = reg->modules->pdata[i];
    if (m->desc->mapping != NULL &&
        in_list(m->desc->mapping->schemes, scheme, false))
      return m;
  }
  return NULL;
}
