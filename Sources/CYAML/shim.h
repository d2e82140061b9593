#ifndef RAYBRIDGE_CYAML_SHIM_H
#define RAYBRIDGE_CYAML_SHIM_H
// Debian's libyaml-dev: the YAML parser of `raybridge validate FILE.yaml`.
#include <yaml.h>
#endif
