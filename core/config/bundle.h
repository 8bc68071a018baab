/*
 * bundle.h - the accepted configuration, frozen for the running server
 *
 * Files on disk may be edited at any time; the running server must only
 * ever use a configuration that passed the checks.  When the watcher
 * accepts a configuration (at start and on a successful refresh) it saves
 * the text of every file it read into one bundle file in the run
 * directory; the other processes read their configuration from that
 * bundle (CURSUS_CONFIG_BUNDLE names it), never from the edited files.
 * Tools read the files themselves.
 */
#ifndef CURSUS_BUNDLE_H
#define CURSUS_BUNDLE_H

#include <stdbool.h>
#include <glib.h>

/* bundle_get_contents - the text of configuration file PATH: from the
 * loaded bundle when one is active, else from disk (recorded when
 * recording).  Same contract as g_file_get_contents. */
bool bundle_get_contents(const char *path, char **text_r, gsize *len_r,
                         GError **error_r);
/* bundle_exists - PATH is part of the bundle being replayed, or, with
 * none active, exists on disk (for optional configuration files) */
bool bundle_exists(const char *path);
/* bundle_active - a bundle is being replayed (skip disk checks) */
bool bundle_active(void);
/* bundle_record - start (or restart, forgetting earlier files) recording */
void bundle_record(void);
/* bundle_save - write what was recorded to PATH (atomically) */
bool bundle_save(const char *path, char **error_r);
/* bundle_load - replay PATH from now on */
bool bundle_load(const char *path, char **error_r);
/* bundle_peek - the text of PATH as recorded in the bundle file BUNDLE
 * (e.g. to learn what a running server uses), without replaying it;
 * false when BUNDLE cannot be read or does not hold PATH */
bool bundle_peek(const char *bundle, const char *path, char **text_r);
/* bundle_env - the environment variable naming the bundle */
#define BUNDLE_ENV "CURSUS_CONFIG_BUNDLE"

#endif
