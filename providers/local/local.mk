# local.mk: filled by its area
