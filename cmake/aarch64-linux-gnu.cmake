# Shared part of the aarch64 board toolchains: Debian multiarch cross build
# (gcc-aarch64-linux-gnu, lib*-dev:arm64 under /usr/lib/aarch64-linux-gnu).
# Test binaries run under qemu-aarch64-static with the arm64 libraries of /.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
find_program(SL_QEMU_AARCH64 qemu-aarch64-static)
if(SL_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${SL_QEMU_AARCH64};-L;/")
endif()
