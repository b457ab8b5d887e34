libhoist_la_SOURCES += libhoist/config.c libhoist/config.h
dist_man_MANS += doc/hoist.yml.5
