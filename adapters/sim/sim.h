/*
 * sim.h — `onecount sim`: local simulators of Shopify, Amazon SP-API and
 * Walmart Marketplace speaking each channel's real wire format on loopback,
 * with a control API for tests, demos and benchmarks.
 */
#ifndef OC_SIM_H
#define OC_SIM_H

/** Runs the simulators until SIGTERM/SIGINT; returns the process exit code. */
int oc_sim_main(int argc, char **argv);

#endif
