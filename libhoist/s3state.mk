# Shared state: the S3 state backend (libhoist) and hoist-sim's S3 service.
libhoist_la_SOURCES += libhoist/state_s3.c
tools_hoist_sim_hoist_sim_SOURCES += tools/hoist-sim/sim_s3.c
# sim_s3.c computes MD5 ETags and decodes base64 with libcrypto.
tools_hoist_sim_hoist_sim_CFLAGS += $(OPENSSL_CFLAGS)
tools_hoist_sim_hoist_sim_LDADD += $(OPENSSL_LIBS)
