/* A tenants/ file's includes: its own layer and the runtime below it (tests/CMakeLists.txt, the layer probes). */
#include "runtime/db.h"
#include "tenants/ledger.h"

int probe_allowed;
