#ifndef RAYBRIDGE_CINOTIFYTOOLS_SHIM_H
#define RAYBRIDGE_CINOTIFYTOOLS_SHIM_H
// The library header only forward-declares struct inotify_event; the IN_* masks and the struct
// itself come from the kernel header.
#include <sys/inotify.h>
#include <inotifytools/inotifytools.h>
#endif
