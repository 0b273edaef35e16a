/*
 * sim.c — entry point of `onecount sim` (see sim.h).
 */
#include "adapters/sim/sim.h"

#include <stdio.h>

int oc_sim_main(int argc, char **argv)
{
    fprintf(stderr, "onecount sim: not built yet\n");
    return 1;
}
