#!/bin/sh
# SPDX-License-Identifier: MIT
# Wireshark's view of the vector files (see make_vectors.py): one line per
# record. Compare with the tables in tests/unit/test_wifi_parse.c.
cd "$(dirname "$0")" || exit 1
for f in accept.pcap reject.pcap; do
	echo "# $f: frame radiotap.length dbm_antsignal(all) antenna(all) channel.freq xchannel.freq flags.fcs flags.badfcs wlan.fc.type_subtype wlan.sa wlan.seq wlan.ssid wlan.fcs _ws.malformed _ws.expert.message"
	tshark -r "$f" -T fields -E separator='|' -E occurrence=a -E aggregator=, \
		-e frame.number -e radiotap.length -e radiotap.dbm_antsignal \
		-e radiotap.antenna -e radiotap.channel.freq -e radiotap.xchannel.freq \
		-e radiotap.flags.fcs -e radiotap.flags.badfcs -e wlan.fc.type_subtype \
		-e wlan.sa -e wlan.seq -e wlan.ssid -e wlan.fcs -e _ws.malformed \
		-e _ws.expert.message 2>/dev/null
done
