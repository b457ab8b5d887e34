# hoist.m4 - Autoconf macros for out-of-tree hoist provider drivers.
# Installed by hoist into $(datadir)/aclocal.
#
# HOIST_PROVIDER_PREREQ([MIN-ABI])
# --------------------------------
# Find the hoist provider SDK with pkg-config (hoist-provider.pc) and check
# that its headers declare a provider ABI compatible with MIN-ABI (e.g. 1.0):
# the same major, and a minor at least MIN-ABI's.  Sets and substitutes:
#   HOIST_PROVIDER_CFLAGS, HOIST_PROVIDER_LIBS  (from pkg-config)
#   providerdir  where the core looks for drivers; override with
#                --with-providerdir=DIR
# Fails configure with a message saying what to install or set.
AC_DEFUN([HOIST_PROVIDER_PREREQ], [
m4_ifndef([PKG_CHECK_MODULES],
  [m4_fatal([HOIST_PROVIDER_PREREQ needs pkg.m4: install pkg-config (pkgconf) and rerun autoreconf])])
AC_REQUIRE([PKG_PROG_PKG_CONFIG])
m4_pushdef([hoist_want], m4_default([$1], [1.0]))
PKG_CHECK_MODULES([HOIST_PROVIDER], [hoist-provider], [],
  [AC_MSG_ERROR([the hoist provider SDK was not found by pkg-config:
$HOIST_PROVIDER_PKG_ERRORS
Install hoist (its 'make install' installs hoist-provider.pc and the headers),
or point PKG_CONFIG_PATH at PREFIX/lib/pkgconfig of the hoist you build against.])])
hoist_want_major=`echo "hoist_want" | cut -d. -f1`
hoist_want_minor=`echo "hoist_want" | cut -d. -f2`
AC_MSG_CHECKING([for hoist provider ABI >= hoist_want])
hoist_save_CPPFLAGS=$CPPFLAGS
CPPFLAGS="$CPPFLAGS $HOIST_PROVIDER_CFLAGS"
AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[#include <hoist/provider.h>
#include <hoist/host.h>
#if HOIST_ABI_MAJOR != $hoist_want_major || HOIST_ABI_MINOR < $hoist_want_minor
#error "provider ABI too old or of another major"
#endif
]], [[]])],
  [AC_MSG_RESULT([yes])],
  [AC_MSG_RESULT([no])
   AC_MSG_ERROR([the hoist SDK found by pkg-config (`$PKG_CONFIG --modversion hoist-provider`, in `$PKG_CONFIG --variable=includedir hoist-provider`) does not declare provider ABI hoist_want or a compatible 1.x newer one: upgrade hoist, or set PKG_CONFIG_PATH to a newer one's lib/pkgconfig])])
CPPFLAGS=$hoist_save_CPPFLAGS
AC_ARG_WITH([providerdir],
  [AS_HELP_STRING([--with-providerdir=DIR],
    [install the driver in DIR (default: the providerdir of hoist-provider.pc)])],
  [providerdir=$withval],
  [providerdir=`$PKG_CONFIG --variable=providerdir hoist-provider`])
AS_IF([test -z "$providerdir"],
  [AC_MSG_ERROR([hoist-provider.pc has no providerdir variable; pass --with-providerdir=DIR])])
AC_SUBST([providerdir])
m4_popdef([hoist_want])
])
