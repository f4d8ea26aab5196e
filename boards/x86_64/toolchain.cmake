# Generic x86_64 store PC: a native build with the host's compiler (a
# compiler given on the command line, -DCMAKE_C_COMPILER=clang-14, is kept).
# Nothing to set: naming CMAKE_SYSTEM_NAME here would make CMake treat the
# build as a cross build and skip the integration tests.
