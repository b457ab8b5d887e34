# loader.mk: filled by its area
