/*
 * imap-utf7.h - IMAP modified UTF-7 mailbox names (RFC 3501 section 5.1.3)
 *
 * Offers: conversion between the UTF-8 names of the store and the
 * modified UTF-7 names IMAP4rev1 clients use on the wire.  Needs GLib.
 */
#ifndef IMAP_UTF7_H
#define IMAP_UTF7_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/* imap_utf7_encode - append the modified UTF-7 form of UTF8 (LEN octets)
 * to OUT; false when UTF8 is not valid UTF-8 */
bool imap_utf7_encode(const char *utf8, size_t len, GString *out);

/* imap_utf7_decode - append the UTF-8 form of the modified UTF-7 name
 * UTF7 to OUT; false (OUT unchanged) when it is not strictly well formed:
 * bad base64, a shift sequence that encodes printable ASCII, adjacent
 * shift sequences, broken surrogates or stray 8-bit octets */
bool imap_utf7_decode(const char *utf7, size_t len, GString *out);

/* imap_utf7_needs_encoding - true when UTF8 has octets outside printable
 * US-ASCII or an '&' */
bool imap_utf7_needs_encoding(const char *utf8, size_t len);

#endif
