// Shim for the system libzmq (Debian: libzmq3-dev, pkg-config name "libzmq").
// Only the stable API is used; libzmq 4.3.4 in Debian is built without DRAFT APIs.
#include <zmq.h>
