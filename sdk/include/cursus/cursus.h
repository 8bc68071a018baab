/*
 * cursus/cursus.h - the whole Cursus module SDK in one include
 *
 * Build a module with nothing but the installed SDK:
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags cursus-sdk) \
 *      mymod.c -o mymod.so
 */
#ifndef CURSUS_CURSUS_H
#define CURSUS_CURSUS_H

#include <cursus/common.h>
#include <cursus/module.h>
#include <cursus/host.h>
#include <cursus/channel.h>
#include <cursus/protocol.h>
#include <cursus/mapping.h>
#include <cursus/lookup.h>
#include <cursus/directory.h>
#include <cursus/store.h>
#include <cursus/auth.h>
#include <cursus/filter.h>

#endif /* CURSUS_CURSUS_H */
