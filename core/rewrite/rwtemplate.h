/*
 * rwtemplate.h - templates of rewrite rules
 *
 * A template rebuilds the address and names the routing host, in one of
 * the classic forms (A user, B host, C route, D routing host):
 *   A%B        A@B, rewritten again
 *   A@B        A@B, routed to B
 *   A%B@C      A@B, routed to C
 *   A@B@C      A@B with source route C, routed to C
 *   A@B@C@D    A@B with source route C, routed to D
 * Substitutions: $U user (quoted as needed), $0U without +subaddress,
 * $1U the +subaddress, $H unmatched host part, $nH from its n-th label,
 * $D matched part, $nD, $L unmatched part of a domain literal, $&n / $!n
 * n-th label of the unmatched part from the left / right, $*n / $#n of
 * the matched part, $W a unique string, $$ $% $@ the characters, $\ $^ $_
 * case, $= LDAP-filter quoting of later substitutions.
 * Call-outs: ${TABLE,KEY} mapping table (must set $Y; its output is
 * scanned again), $(KEY) / $(DB,KEY) general database (scanned again, no
 * further $(...)), $]URL[ URL lookup (inside: $A address, $S subaddress,
 * $~ACCOUNT home directory, and the usual substitutions), $[MOD,FN,ARG]
 * module function; a call-out that finds nothing makes the rule fail.
 * Controls (no output): $E envelope only, $B header only, $F forward-
 * pointing only, $R backward-pointing only, $A $P $S $X host location
 * (after '@', after '%', in a source route, before '!'), $1M / $1N only
 * when (not) reprocessing, $1~ (accepted; checks are immediate), and with
 * an argument up to the next '@', '%' or control: $M / $N source channel
 * is / is not, $Q / $C destination channel is / is not, $T new rewrite
 * tag, $?TEXT error text ($x00y00z?TEXT with status x.y.z), $V / $Z the
 * domain is / is not hosted here.
 */
#ifndef CURSUS_RWTEMPLATE_H
#define CURSUS_RWTEMPLATE_H

#include <stdbool.h>
#include <glib.h>
#include "config/imtacnf.h"
#include "mapping/mapset.h"
#include "mapping/source.h"

typedef struct rw_tmpl rw_tmpl;

/* What kind of address is rewritten. */
enum rewrite_flags {
  REWRITE_ENVELOPE = 1u << 0,  /* an envelope address ($E rules) */
  REWRITE_HEADER = 1u << 1,    /* a header address ($B rules) */
  REWRITE_TO = 1u << 2,        /* forward-pointing ($F rules) */
  REWRITE_FROM = 1u << 3,      /* backward-pointing ($R rules) */
  REWRITE_REPROCESS = 1u << 4, /* the message is being reprocessed ($1M) */
};

/* Static controls (rw_tmpl_controls). */
enum rw_ctl {
  RW_CTL_E = 1u << 0,
  RW_CTL_B = 1u << 1,
  RW_CTL_F = 1u << 2,
  RW_CTL_R = 1u << 3,
  RW_CTL_LOC_A = 1u << 4,
  RW_CTL_LOC_P = 1u << 5,
  RW_CTL_LOC_S = 1u << 6,
  RW_CTL_LOC_X = 1u << 7,
  RW_CTL_REPROC = 1u << 8,   /* $1M */
  RW_CTL_NOREPROC = 1u << 9, /* $1N */
};
#define RW_CTL_LOC_ANY                                                         \
  (RW_CTL_LOC_A | RW_CTL_LOC_P | RW_CTL_LOC_S | RW_CTL_LOC_X)

/* What compiling needs to check call-outs; any member may be NULL. */
typedef struct rw_compile_info {
  const mapset *maps;
  srcreg *sources;
} rw_compile_info;

/* rw_tmpl_compile - compile TEXT; NULL with *error_r when malformed.
 * With INFO, call-outs naming tables, databases, modules or URL schemes
 * that do not exist are errors too. */
rw_tmpl *rw_tmpl_compile(const char *text, const rw_compile_info *info,
                         char **error_r);
void rw_tmpl_free(rw_tmpl **t);
/* rw_tmpl_controls - the argument-less controls at the top level */
unsigned rw_tmpl_controls(const rw_tmpl *t);

/* What substitutions see. */
typedef struct rw_subst {
  const char *user;    /* $U (formatted local part) */
  const char *local;   /* decoded local part (for $0U, $1U, $S) */
  const char *host;    /* the host spec being rewritten */
  const char *h;       /* unmatched part */
  const char *d;       /* matched part */
  const char *l;       /* unmatched part of a literal */
  const char *address; /* the whole address ($A in URLs) */
} rw_subst;

/* Where the address is and who rewrites it. */
typedef struct rw_situation {
  unsigned flags;                 /* rewrite_flags of rewrite.h */
  char location;                  /* 'A', 'P', 'S' or 'X' */
  const cnf_channel *source;      /* NULL: no source checks */
  const cnf_channel *destination; /* NULL: $C/$Q ignored */
  const mapset *maps;
  srcreg *sources;
  GString *trace;
} rw_situation;

/* The outcome of one rule. */
typedef struct rw_outcome {
  char *user, *host, *route, *routing; /* A, B, C, D */
  bool repeat;                         /* A%B: rewrite again */
  bool error_only;                     /* only $?: stop with its error */
  char *new_tag;                       /* $T, or NULL */
  char *error_text;                    /* $?, or NULL */
  char error_code[12];                 /* "5.1.2" */
  char *why;                           /* why it failed (for the trace) */
} rw_outcome;

void rw_outcome_clear(rw_outcome *o);

/* Results of rw_tmpl_eval. */
enum rw_eval_status {
  RW_APPLIED = 1,
  RW_FAILED = 0,    /* a condition or call-out said no: try the next rule */
  RW_TEMPFAIL = -1, /* *error_r: a lookup could not be made */
  RW_MALFORMED = -2 /* *error_r: the result is no template form */
};

int rw_tmpl_eval(const rw_tmpl *t, const rw_subst *s, const rw_situation *sit,
                 rw_outcome *out, char **error_r);

#endif
