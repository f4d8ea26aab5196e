# POS-only gateway on x86_64: a native build with the host's compiler.
# Nothing to set (see boards/x86_64/toolchain.cmake).
