#!/bin/sh
# banned_calls.sh - the tree calls no libc function that is unsafe when
# several threads run at once.  The run executor, plan's observers, the HTTP
# layer and every driver run on worker threads, so a function that keeps its
# result or position in one static buffer (or changes process-wide state that
# other threads read without a lock) corrupts another thread's answer.
#
# Scanned: the C sources of libhoist/, providers/, tools/ and plugins-api/
# (the template is what out-of-tree drivers copy).  Not scanned: tests/ and
# bench/, which set the environment (setenv) on one thread before anything
# starts.  Comments and string literals are blanked first, so prose such as
# "strerror(3)" does not count; member calls (x.rand(), p->strtok()) and
# longer names (hoist_strerror, gmtime_r) are not these functions.
#
# Looked at and allowed, with the reason:
#   readdir    each caller opens and owns its DIR stream; POSIX.1-2024 and
#              glibc make readdir safe on distinct streams, and readdir_r is
#              deprecated (it cannot size d_name correctly).
#   dirname    glibc returns a pointer into the argument (every caller passes
#              its own copy) or a constant string, never a shared buffer.
#   getenv     safe while nothing modifies the environment, which setenv,
#              putenv and unsetenv being banned below makes sure of.
#   system     called by the CLI only, on its main thread (it changes signal
#              dispositions process-wide, not a buffer).
. "$HOIST_SRCDIR/tests/lib.sh"

# NAME|WHAT TO USE|WHY: the functions checked, one a line.
banned='gmtime|gmtime_r, or hoist_utc_iso() in the core|returns one static struct tm shared by all threads
localtime|localtime_r|returns one static struct tm shared by all threads
ctime|localtime_r + strftime|formats into one static buffer
asctime|strftime|formats into one static buffer
strtok|strtok_r|keeps its position in a hidden static pointer
strerror|hoist_strerror() in the core, a strerror_r helper in a driver, %m in a direct printf|POSIX lets it return a buffer the next call overwrites, from any thread
strsignal|a table of names, or just the number|may format into one static buffer
getpwnam|getpwnam_r|returns one static struct passwd
getpwuid|getpwuid_r|returns one static struct passwd
getgrnam|getgrnam_r|returns one static struct group
getgrgid|getgrgid_r|returns one static struct group
gethostbyname|getaddrinfo|returns one static struct hostent
gethostbyaddr|getnameinfo|returns one static struct hostent
inet_ntoa|inet_ntop|formats into one static buffer
rand|RAND_bytes or getrandom (rand_r for a test seed)|one hidden generator state for all threads, and not fit for secrets
srand|RAND_bytes or getrandom|reseeds the generator every thread shares
random|RAND_bytes or getrandom|one hidden generator state for all threads
tmpnam|mkstemp or hoist_tmp_name()|static buffer, and the name races with other processes
ttyname|ttyname_r|returns a static buffer
getlogin|getlogin_r|returns a static buffer
setlocale|the C locale, set once in main before any thread|changes the locale every other thread is formatting with
localeconv|nl_langinfo_l|returns a static struct another call overwrites
setenv|an envp built for the child (execve)|modifies the environment while other threads getenv()
putenv|an envp built for the child (execve)|modifies the environment while other threads getenv()
unsetenv|an envp built for the child (execve)|modifies the environment while other threads getenv()'

# Print "FILE:LINE:code" for every line of each FILE, with comments and
# string/char literals blanked (so columns and line numbers stay).
strip_c() {
    awk '
    FNR == 1 { incomment = 0 }
    {
        line = $0; out = ""; n = length(line); i = 1
        while (i <= n) {
            c = substr(line, i, 1); d = substr(line, i, 2)
            if (incomment) {
                if (d == "*/") { incomment = 0; out = out "  "; i += 2 } else { out = out " "; i++ }
            } else if (d == "/*") { incomment = 1; out = out "  "; i += 2
            } else if (d == "//") { break
            } else if (c == "\"" || c == "\047") {
                q = c; out = out c; i++
                while (i <= n) {
                    c = substr(line, i, 1)
                    if (c == "\\") { out = out "  "; i += 2; continue }
                    if (c == q) break
                    out = out " "; i++
                }
                out = out q; i++
            } else { out = out c; i++ }
        }
        print FILENAME ":" FNR ":" out
    }' "$@"
}

# scan FILE...: print "FILE:LINE: NAME: source line" for every call of a
# banned NAME, once per name and line.
scan() {
    names=$(printf '%s\n' "$banned" | cut -d'|' -f1 | paste -sd'|' -)
    call="(^|[^A-Za-z0-9_.>])($names)[[:space:]]*\\("
    strip_c "$@" | grep -E "^[^:]+:[0-9]+:.*$call" |
        while IFS= read -r hit; do
            f=${hit%%:*}
            rest=${hit#*:}
            num=${rest%%:*}
            for name in $(printf '%s\n' "${rest#*:}" | grep -oE "$call" |
                              sed -E 's/^[^A-Za-z_]?//; s/[[:space:]]*\($//' | sort -u); do
                printf '%s:%s: %s: %s\n' "$f" "$num" "$name" \
                    "$(sed -n "${num}p" "$f" | sed -E 's/^[[:space:]]+//')"
            done
        done
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The scanner itself: a fixture with one real call of each shape it must
# find, and the shapes it must not (comments, strings, members, longer names).
cat > "$tmp/fixture.c" <<'EOF'
#include <string.h>
/* strtok( in a comment, and gmtime(
   over two lines */
static const char *s = "rand() strerror(x)"; // localtime( here too
static char c = '(';
int f(char *p, struct x *o)
{
    char *save, *t = strtok(p, ",");
    const char *e = hoist_strerror(1), *g = o->strerror(2);
    o->x.rand();
    t = strtok_r(NULL, ",", &save);
    return gmtime (&o->t) != 0 && *e && *g && c && s;
}
EOF
found=$(cd "$tmp" && scan fixture.c | cut -d: -f1-3 | paste -sd' ' -)
check "the scanner finds exactly the two real calls in its fixture (got: $found)" \
    test "$found" = "fixture.c:8: strtok fixture.c:12: gmtime"

# The tree.
cd "$HOIST_SRCDIR" || exit 1
files=$(find libhoist providers tools plugins-api -name '*.[ch]' | LC_ALL=C sort)
check "found the tree's C sources under $HOIST_SRCDIR" test -n "$files"
# shellcheck disable=SC2086 # the list is file names without spaces
scan $files > "$tmp/hits"
printf '%s\n' "$banned" > "$tmp/banned"
while IFS='|' read -r name instead why; do
    hits=$(grep -E "^[^:]+:[0-9]+: $name: " "$tmp/hits")
    if [ -z "$hits" ]; then
        ok "no $name() in the tree"
    else
        not_ok "$name() $why: use $instead instead, at: $(printf '%s\n' "$hits" |
            cut -d: -f1-2 | paste -sd' ' -)"
        printf '%s\n' "$hits" | sed 's/^/#   /'
    fi
done < "$tmp/banned"
done_testing
