# Raspberry Pi Zero 2 W: aarch64, Cortex-A53.
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/aarch64-linux-gnu.cmake)
set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-a53")
