# reliab.mk - hostile drivers, secrets, TLS and valgrind checks (issue 13).
