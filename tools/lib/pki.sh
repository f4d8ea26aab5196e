# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# sl_pki DIR: a throwaway PKI for local brokers (demo): ca.pem/ca.key,
# server.pem/server.key for localhost + 127.0.0.1, client.pem/client.key
# (CN = the gateway), subscriber.pem/subscriber.key (CN = cdp). EC P-256,
# valid for 2 days. Never use these outside a test.
sl_pki() {
	local d=$1 name
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
		openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=storelink demo CA" \
			-out ca.pem 2>/dev/null
		for name in server client subscriber; do
			local cn=$name san=""
			[ "$name" = server ] && { cn=localhost; san="subjectAltName=DNS:localhost,IP:127.0.0.1"; }
			[ "$name" = client ] && cn=gw-1
			[ "$name" = subscriber ] && cn=cdp
			openssl ecparam -name prime256v1 -genkey -noout -out "$name.key" 2>/dev/null
			openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr" 2>/dev/null
			if [ -n "$san" ]; then
				printf '%s\n' "$san" >"$name.ext"
				openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
					-days 2 -sha256 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
			else
				openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
					-days 2 -sha256 -out "$name.pem" 2>/dev/null
			fi
		done
		chmod 600 ./*.key
	)
}

# sl_free_port: an unused TCP port on 127.0.0.1 (the kernel's choice).
sl_free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# sl_wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
sl_wait_for() {
	local what=$1 secs=$2 end
	shift 2
	end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "timed out after ${secs}s waiting for $what" >&2
			return 1
		fi
		sleep 0.1
	done
}
