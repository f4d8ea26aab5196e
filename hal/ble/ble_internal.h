/* SPDX-License-Identifier: MIT */
/*
 * Shared-but-internal parts of hal_ble: the HCI advertising-report parser
 * used by every backend, the per-sighting finishing step (decoders, IRK
 * resolution), and the live backend's socket reader, which is split from
 * the code that opens the real adapter so that tests can drive it through
 * a socketpair. Not an interface for code outside hal/ble and its tests.
 */
#ifndef HAL_BLE_INTERNAL_H
#define HAL_BLE_INTERNAL_H

#include <hal/ble.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* HCI packet indicators (H4) and the codes the backends look at. */
#define HCI_PKT_COMMAND 0x01
#define HCI_PKT_EVENT 0x04
#define HCI_EV_CMD_COMPLETE 0x0e
#define HCI_EV_CMD_STATUS 0x0f
#define HCI_EV_HW_ERROR 0x10
#define HCI_EV_LE_META 0x3e
#define HCI_LE_ADV_REPORT 0x02
#define HCI_LE_EXT_ADV_REPORT 0x0d
#define HCI_EVENT_MAX (2 + 255)		/* code + length + parameters */

/*
 * Iterates over the reports of one HCI event (code, length, parameters;
 * no H4 indicator). init validates the whole event first, so next never
 * yields a report from a malformed event.
 */
struct hal_ble__hci_iter {
	const uint8_t *p;	/* next report */
	uint8_t sub;		/* HCI_LE_ADV_REPORT or HCI_LE_EXT_ADV_REPORT */
	uint8_t left;		/* reports not yet returned */
};

/* 0; -ENOMSG: not an advertising report event (ignore it); -EBADMSG: malformed. */
int hal_ble__hci_iter_init(struct hal_ble__hci_iter *it, const uint8_t *evt, size_t len);
/* 1 with *out filled (raw fields only, see hal_ble__finish()), 0 when done. */
int hal_ble__hci_iter_next(struct hal_ble__hci_iter *it, uint64_t ts_us,
			   struct hal_ble_sighting *out);

/* What every backend keeps from the config to finish a sighting. */
struct hal_ble__common {
	bool has_app_uuid;
	uint8_t app_uuid[16];
	void *irk_aes;		/* mbedtls_aes_context[irk_count], NULL if no irk_file */
	unsigned irk_count;
};

/* 0, -EINVAL (app_uuid), hal_ble_irk_file_load() errors, -ENOMEM. */
int hal_ble__common_init(struct hal_ble__common *c, const struct hal_ble_cfg *cfg);
/* Zeroizes the IRK key schedules. Accepts a zeroed or half-built one. */
void hal_ble__common_free(struct hal_ble__common *c);
/* Decodes the AD payload (complete data only) and resolves RPAs. */
void hal_ble__finish(const struct hal_ble__common *c, struct hal_ble_sighting *s);

/* The btsnoop replay backend (ble_btsnoop.c). */
extern const struct hal_ble_ops hal_ble__btsnoop_ops;
/* The live backend (ble_bluez.c, CONFIG_SL_BLE_BLUEZ only). */
extern const struct hal_ble_ops hal_ble__bluez_ops;

/*
 * Live backend over an already open, bound raw HCI socket (or, in tests,
 * one end of a SOCK_SEQPACKET socketpair whose other end plays the kernel
 * and controller). Takes ownership of fd (closed on failure too) and
 * starts the scan: sends LE Read Local Supported Features; later steps run
 * from read(). 0, -errno (hal_ble__common_init(), send).
 */
int hal_ble__hci_attach(struct hal_ble *ble, int fd, const struct hal_ble_cfg *cfg);
int hal_ble__hci_fd(const struct hal_ble *ble);
int hal_ble__hci_read(struct hal_ble *ble, struct hal_ble_sighting *out);
void hal_ble__hci_close(struct hal_ble *ble);

/* Scan state of an attached socket, for tests. */
enum hal_ble__scan_state {
	HAL_BLE__SCAN_FEATURES,	/* waiting for the LE features */
	HAL_BLE__SCAN_PARAMS,	/* our Set Scan Parameters sent */
	HAL_BLE__SCAN_ENABLE,	/* our Set Scan Enable sent */
	HAL_BLE__SCAN_NUDGE,	/* someone else scans: our enable to turn duplicate filtering off */
	HAL_BLE__SCAN_ON,	/* scanning with our parameters */
	HAL_BLE__SCAN_FOREIGN,	/* scanning with someone else's parameters */
	HAL_BLE__SCAN_WAIT,	/* stopped; the timer restarts it */
};
enum hal_ble__scan_state hal_ble__hci_scan_state(const struct hal_ble *ble);
/* true when the extended scan commands are in use. */
bool hal_ble__hci_scan_extended(const struct hal_ble *ble);

#endif
