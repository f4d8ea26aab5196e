# SPDX-License-Identifier: MIT
#
# External libraries, all from Debian (native or :arm64 through multiarch).
# Each becomes an imported target sl::<name>; optional ones are looked up
# only when Kconfig enabled the code that needs them.
function(sl_find_lib name header lib)
  find_path(SL_${name}_INCLUDE ${header})
  find_library(SL_${name}_LIBRARY ${lib})
  if(NOT SL_${name}_INCLUDE OR NOT SL_${name}_LIBRARY)
    message(FATAL_ERROR "${lib} not found (${header}); ./tools/test installs the Debian packages")
  endif()
  add_library(sl::${name} UNKNOWN IMPORTED)
  set_target_properties(sl::${name} PROPERTIES
    IMPORTED_LOCATION "${SL_${name}_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${SL_${name}_INCLUDE}")
endfunction()

sl_find_lib(inih ini.h inih)
sl_find_lib(mbedcrypto mbedtls/md.h mbedcrypto)
sl_find_lib(mbedx509 mbedtls/x509_csr.h mbedx509)
sl_find_lib(sqlite3 sqlite3.h sqlite3)
sl_find_lib(mosquitto mosquitto.h mosquitto)
# libmosquitto is built on OpenSSL: the publisher reads the handshake's
# verify result from the SSL object it hands out (mosquitto_ssl_get)
sl_find_lib(ssl openssl/ssl.h ssl)
sl_find_lib(crypto openssl/x509_vfy.h crypto)
if(CONFIG_SL_BLE_BLUEZ)
  sl_find_lib(bluetooth bluetooth/bluetooth.h bluetooth)
endif()
if(CONFIG_SL_WIFI)
  sl_find_lib(pcap pcap/pcap.h pcap)
endif()
if(SL_TESTS)
  sl_find_lib(cmocka cmocka.h cmocka)
endif()
