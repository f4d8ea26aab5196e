# Raspberry Pi 4: aarch64, Cortex-A72.
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/aarch64-linux-gnu.cmake)
set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-a72")
