# SPDX-License-Identifier: MIT
# One line per fuzz target (see sl_fuzz_target in CMakeLists.txt).
sl_fuzz_target(fuzz_config SOURCES fuzz_config.c LIBS sl_core)
sl_fuzz_target(fuzz_card SOURCES fuzz_card.c LIBS sl_core)
if(CONFIG_SL_POS)
  sl_fuzz_target(fuzz_pos_request SOURCES fuzz_pos_request.c LIBS sl_core)
endif()
if(CONFIG_SL_WIFI)
  sl_fuzz_target(fuzz_wifi SOURCES fuzz_wifi.c LIBS hal_wifi)
endif()
if(CONFIG_SL_BLE)
  sl_fuzz_target(fuzz_ble SOURCES fuzz_ble.c LIBS hal_ble)
endif()
