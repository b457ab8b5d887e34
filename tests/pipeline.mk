# pipeline.mk: filled by its area
