#include "benn_kernels.h"
