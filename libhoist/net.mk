# net.mk: filled by its area
