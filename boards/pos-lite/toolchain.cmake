# POS-only gateway on x86_64: the host's compiler (a native build). A compiler
# given on the command line (-DCMAKE_C_COMPILER=clang-14) is kept.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
