# Sourced by the benches (bench-gateway.sh GW_TLS=1, bench-idle-memory.sh TLS=1): the gateway's sessions over its wss
# listener. bench_tls DIR PORT writes a self-signed P-256 certificate for 127.0.0.1 into DIR, sets BENCH_TLS_GW_ARGS
# (the gateway's certificate, key and HTTPS port) and makes LOADGEN trust the certificate (SSL_CERT_FILE).
bench_tls() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/tls-key.pem" -out "$1/tls-cert.pem" \
    -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null || { echo "bench: openssl could not make a test certificate" >&2; exit 2; }
  # The load generator is one client address opening thousands of wss sessions: no per-address handshake rate.
  BENCH_TLS_GW_ARGS=(--Gateway:CertificatePath="$1/tls-cert.pem" --Gateway:CertificateKeyPath="$1/tls-key.pem" --Gateway:HttpsPort="$2"
    --Gateway:TlsHandshakesPerSecondPerAddress=0)
  LOADGEN=(env SSL_CERT_FILE="$1/tls-cert.pem" "${LOADGEN[@]}")
}
