# SPDX-License-Identifier: MIT
#
# Kconfig for CMake: runs tools/kconfig.py (kconfiglib, Debian's
# python3-kconfiglib under /usr/bin/python3) to turn the board's defconfig
# into ${CMAKE_BINARY_DIR}/.config, include/generated/autoconf.h and
# kconfig.cmake (CONFIG_* as CMake variables). A .config edited with
# menuconfig is kept until BOARD changes; the build re-configures itself
# whenever Kconfig, the defconfig or .config change.
find_program(SL_KCONFIG_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT SL_KCONFIG_PYTHON)
  message(FATAL_ERROR "/usr/bin/python3 not found (apt-get install python3-kconfiglib)")
endif()

set(SL_KCONFIG_ROOT "${CMAKE_SOURCE_DIR}/Kconfig")
set(SL_DOTCONFIG "${CMAKE_BINARY_DIR}/.config")
set(SL_GENERATED_INCLUDE_DIR "${CMAKE_BINARY_DIR}/include/generated")
set(SL_KCONFIG_CMAKE "${CMAKE_BINARY_DIR}/kconfig.cmake")

execute_process(
  COMMAND ${SL_KCONFIG_PYTHON} ${CMAKE_SOURCE_DIR}/tools/kconfig.py
          --kconfig ${SL_KCONFIG_ROOT}
          --defconfig ${SL_BOARD_DIR}/defconfig
          --board ${BOARD}
          --config ${SL_DOTCONFIG}
          --autoconf ${SL_GENERATED_INCLUDE_DIR}/autoconf.h
          --cmake ${SL_KCONFIG_CMAKE}
          ${SL_KCONFIG_EXTRA}
  RESULT_VARIABLE sl_kconfig_rc)
if(NOT sl_kconfig_rc EQUAL 0)
  message(FATAL_ERROR "Kconfig failed (is python3-kconfiglib installed?)")
endif()
include(${SL_KCONFIG_CMAKE})

file(GLOB_RECURSE sl_kconfig_files ${CMAKE_SOURCE_DIR}/Kconfig*
     ${CMAKE_SOURCE_DIR}/*/Kconfig)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${sl_kconfig_files} ${SL_BOARD_DIR}/defconfig ${SL_DOTCONFIG})

add_custom_target(menuconfig
  COMMAND ${CMAKE_COMMAND} -E env KCONFIG_CONFIG=${SL_DOTCONFIG}
          srctree=${CMAKE_SOURCE_DIR}
          ${SL_KCONFIG_PYTHON} -m menuconfig ${SL_KCONFIG_ROOT}
  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  USES_TERMINAL
  COMMENT "menuconfig: saves to ${SL_DOTCONFIG}; the next build re-configures")
