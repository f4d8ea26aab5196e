# SPDX-License-Identifier: MIT
# One line per fuzz target (see sl_fuzz_target in CMakeLists.txt).
sl_fuzz_target(fuzz_config SOURCES fuzz_config.c LIBS sl_core)
