// Nothing to compile: the target exists for its header (LLVMFuzzerRunDriver, defined by libFuzzer).
#include "CFuzzerDriver.h"
