libhoist_la_SOURCES += libhoist/config.c libhoist/config.h
