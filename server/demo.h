/*
 * demo.h — `onecount demo`: seeds a demo portfolio and wires it to the simulators (see demo.c).
 */
#ifndef OC_DEMO_H
#define OC_DEMO_H

int oc_demo_main(int argc, char **argv);

#endif
