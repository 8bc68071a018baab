/*
 * imtacnf.h - imta.cnf: rewrite rules and channel definitions
 *
 * Layout (as in the classic system): rewrite rules, one per line, up to the
 * first blank line; then channel blocks separated by blank lines.  A block's
 * first line is the channel name and its keywords, the second the official
 * host name, further lines more host names (each optionally followed by a
 * routing name).  Pseudo-channels `defaults` (keywords inherited by every
 * later channel) and `nodefaults` (forget them) may precede channels.  The
 * first real channel is the local channel.
 */
#ifndef CURSUS_IMTACNF_H
#define CURSUS_IMTACNF_H

#include "keyword.h"
#include "srcfile.h"

/* Longest channel name. */
#define CHANNEL_NAME_MAX 32

typedef struct cnf_rule {
  char *pattern;
  char *template_;
  const char *file;
  unsigned line;
} cnf_rule;

typedef struct cnf_kw {
  char *name;        /* lower case */
  GPtrArray *values; /* of char* */
  const kwdef *def;
  bool inherited; /* came from a `defaults` line */
  const char *file;
  unsigned line;
  unsigned pos; /* index in its channel's keywords */
} cnf_kw;

typedef struct cnf_host {
  char *name;    /* lower case */
  char *routing; /* routing name, or NULL */
  const char *file;
  unsigned line;
} cnf_host;

typedef struct cnf_channel {
  char *name;
  const char *file;
  unsigned line;
  GPtrArray *keywords; /* of cnf_kw*: inherited defaults first, then own */
  GPtrArray *hosts;    /* of cnf_host*; [0] is the official host */
  char *module;        /* module serving the master side, or NULL */
  GHashTable *last;    /* keyword name -> its last cnf_kw* */
} cnf_channel;

typedef struct imtacnf {
  char *path;
  srcfile *src;
  GPtrArray *rules;    /* of cnf_rule* in file order */
  GPtrArray *channels; /* of cnf_channel* in file order; [0] = local */
  GHashTable *by_name; /* lower-case channel name -> cnf_channel* */
  GHashTable *by_host; /* lower-case host name -> cnf_channel* */
} imtacnf;

/* imtacnf_parse - read PATH (includes resolve in BASE_DIR) and check each
 * channel keyword against KEYWORDS.  Problems go to D; the result holds
 * what could be understood (NULL when the file cannot be read). */
imtacnf *imtacnf_parse(const char *path, const char *base_dir,
                       const kwtable *keywords, diag *d);
void imtacnf_free(imtacnf **cnf);

cnf_channel *imtacnf_channel(const imtacnf *cnf, const char *name);
/* imtacnf_channel_by_host - the channel one of whose host names is HOST */
cnf_channel *imtacnf_channel_by_host(const imtacnf *cnf, const char *host);
/* cnf_channel_kw - the effective (last) occurrence of NAME, or NULL */
const cnf_kw *cnf_channel_kw(const cnf_channel *ch, const char *name);
/* cnf_channel_has - NAME is present */
bool cnf_channel_has(const cnf_channel *ch, const char *name);
/* cnf_channel_last_of - which of the NULL-terminated NAMES appears last
 * (e.g. {"immnonurgent", "immnormal", "immurgent"}), or NULL */
const char *cnf_channel_last_of(const cnf_channel *ch,
                                const char *const *names);
/* cnf_channel_flag - a keyword and its opposite ("reverse" and
 * "noreverse"): true when ON comes last, false when OFF does, DEF when
 * neither is there */
bool cnf_channel_flag(const cnf_channel *ch, const char *on, const char *off,
                      bool def);
/* cnf_channel_int - the first value of NAME as an integer, or DEF */
long long cnf_channel_int(const cnf_channel *ch, const char *name,
                          long long def);

#endif
