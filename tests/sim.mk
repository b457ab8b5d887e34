# sim.mk: filled by its area
