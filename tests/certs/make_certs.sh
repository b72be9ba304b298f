#!/bin/sh
# Writes the TLS fixtures of tests/unit/store/test_tls.py and the HTTPS index of index_fixtures.py:
# a test CA (ca.pem), a certificate for 127.0.0.1 and localhost signed by it with its key
# (server.pem), and hashed/<subject hash>.0, a copy of ca.pem named as `openssl rehash` names it
# (what OpenSSL looks issuers up by in an SSL_CERT_DIR). Valid for 100 years; run again to renew.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 36500 -subj "/CN=monotrail test CA" \
    -keyout "$work/ca.key" -out ca.pem \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=127.0.0.1" -keyout "$work/server.key" -out "$work/server.csr"
cat > "$work/ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
openssl x509 -req -in "$work/server.csr" -CA ca.pem -CAkey "$work/ca.key" -CAcreateserial -CAserial "$work/ca.srl" -sha256 -days 36500 \
    -extfile "$work/ext" -out "$work/server.crt"
cat "$work/server.crt" "$work/server.key" > server.pem
rm -rf hashed
mkdir hashed
cp ca.pem "hashed/$(openssl x509 -in ca.pem -noout -subject_hash).0"
