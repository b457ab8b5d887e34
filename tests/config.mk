# config.mk (tests): the hoist.yml parser suite and its corpus of bad files
# (each NAME.yml with the exact diagnostics expected in NAME.expect).
check_PROGRAMS += tests/check_config
TESTS += tests/check_config
tests_check_config_SOURCES = tests/check_config.c
tests_check_config_CFLAGS = $(TEST_CFLAGS)
tests_check_config_LDADD = $(TEST_LIBS)
EXTRA_DIST += \
	tests/config/bad/01-unknown-top-key.expect \
	tests/config/bad/01-unknown-top-key.yml \
	tests/config/bad/02-missing-project.expect \
	tests/config/bad/02-missing-project.yml \
	tests/config/bad/03-project-name.expect \
	tests/config/bad/03-project-name.yml \
	tests/config/bad/04-project-too-long.expect \
	tests/config/bad/04-project-too-long.yml \
	tests/config/bad/05-environments-type.expect \
	tests/config/bad/05-environments-type.yml \
	tests/config/bad/06-env-missing-provider.expect \
	tests/config/bad/06-env-missing-provider.yml \
	tests/config/bad/07-provider-not-installed.expect \
	tests/config/bad/07-provider-not-installed.yml \
	tests/config/bad/08-env-protected.expect \
	tests/config/bad/08-env-protected.yml \
	tests/config/bad/09-env-name.expect \
	tests/config/bad/09-env-name.yml \
	tests/config/bad/10-env-not-mapping.expect \
	tests/config/bad/10-env-not-mapping.yml \
	tests/config/bad/11-cluster.expect \
	tests/config/bad/11-cluster.yml \
	tests/config/bad/12-db-missing-fields.expect \
	tests/config/bad/12-db-missing-fields.yml \
	tests/config/bad/13-db-engine.expect \
	tests/config/bad/13-db-engine.yml \
	tests/config/bad/14-db-mode.expect \
	tests/config/bad/14-db-mode.yml \
	tests/config/bad/15-db-version.expect \
	tests/config/bad/15-db-version.yml \
	tests/config/bad/16-db-storage.expect \
	tests/config/bad/16-db-storage.yml \
	tests/config/bad/17-db-duplicate.expect \
	tests/config/bad/17-db-duplicate.yml \
	tests/config/bad/18-app-path-and-image.expect \
	tests/config/bad/18-app-path-and-image.yml \
	tests/config/bad/19-app-no-source.expect \
	tests/config/bad/19-app-no-source.yml \
	tests/config/bad/20-app-path-missing.expect \
	tests/config/bad/20-app-path-missing.yml \
	tests/config/bad/21-app-port.expect \
	tests/config/bad/21-app-port.yml \
	tests/config/bad/22-app-instances.expect \
	tests/config/bad/22-app-instances.yml \
	tests/config/bad/23-app-healthcheck.expect \
	tests/config/bad/23-app-healthcheck.yml \
	tests/config/bad/24-app-unknown-db.expect \
	tests/config/bad/24-app-unknown-db.yml \
	tests/config/bad/25-app-db-none-declared.expect \
	tests/config/bad/25-app-db-none-declared.yml \
	tests/config/bad/26-app-duplicate.expect \
	tests/config/bad/26-app-duplicate.yml \
	tests/config/bad/27-app-build.expect \
	tests/config/bad/27-app-build.yml \
	tests/config/bad/28-app-env.expect \
	tests/config/bad/28-app-env.yml \
	tests/config/bad/29-app-public.expect \
	tests/config/bad/29-app-public.yml \
	tests/config/bad/30-yaml-syntax.expect \
	tests/config/bad/30-yaml-syntax.yml \
	tests/config/bad/31-tabs.expect \
	tests/config/bad/31-tabs.yml \
	tests/config/bad/32-empty.expect \
	tests/config/bad/32-empty.yml \
	tests/config/bad/33-scalar-document.expect \
	tests/config/bad/33-scalar-document.yml \
	tests/config/bad/34-two-documents.expect \
	tests/config/bad/34-two-documents.yml \
	tests/config/bad/35-alias.expect \
	tests/config/bad/35-alias.yml \
	tests/config/bad/36-unset-variable.expect \
	tests/config/bad/36-unset-variable.yml \
	tests/config/bad/37-bad-reference.expect \
	tests/config/bad/37-bad-reference.yml \
	tests/config/bad/38-duplicate-key.expect \
	tests/config/bad/38-duplicate-key.yml \
	tests/config/bad/39-many-errors.expect \
	tests/config/bad/39-many-errors.yml \
	tests/config/bad/40-wrong-types.expect \
	tests/config/bad/40-wrong-types.yml \
	tests/config/bad/41-nul-escape.expect \
	tests/config/bad/41-nul-escape.yml \
	tests/config/bad/42-domains.expect \
	tests/config/bad/42-domains.yml \
	tests/config/bad/43-unknown-app-key.expect \
	tests/config/bad/43-unknown-app-key.yml \
	tests/config/bad/44-items-not-mappings.expect \
	tests/config/bad/44-items-not-mappings.yml \
	tests/config/bad/45-name-too-long.expect \
	tests/config/bad/45-name-too-long.yml
