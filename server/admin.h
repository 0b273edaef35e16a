/*
 * admin.h — `onecount admin`: first-run and operator tasks from the shell.
 */
#ifndef OC_ADMIN_H
#define OC_ADMIN_H

int oc_admin_main(int argc, char **argv);

#endif
