/*
 * srcdigest.h - a content digest of an application's source directory, so
 * that changing one app redeploys that app and nothing else.
 */
#ifndef HOIST_SRCDIGEST_H
#define HOIST_SRCDIGEST_H

/*
 * hoist_source_digest - "sha256:<hex>" over @dir: every regular file and
 * symlink below it in sorted relative-path order, each contributing its
 * path, its mode (type and permission bits) and its content (a symlink: its
 * target).  Skipped: .git, .hoist, node_modules, and the patterns of
 * .hoistignore (or else .dockerignore) at the top of @dir.  Files are read
 * in 64 KiB chunks, so memory does not grow with file sizes.  Ownership and
 * timestamps are ignored (a fresh checkout has the same digest).
 * Returns a new string, or NULL with *err set (e.g. @dir missing).
 * Thread-safe.
 */
char *hoist_source_digest(const char *dir, char **err);

#endif
