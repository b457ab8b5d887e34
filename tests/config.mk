# config.mk: filled by its area
