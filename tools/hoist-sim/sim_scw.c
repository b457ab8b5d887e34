#include "autoconfig.h"
#include "sim.h"
void sim_scw_register(void) {}
