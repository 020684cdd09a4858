# Sourced by the bench scripts, in their work directory: a key directory (sets PIN), an enrolled
# device (device.key, allow), and a CA (ca.pem) with worker and router certificates for 127.0.0.1
# (serverAuth and clientAuth: mutual TLS between router and worker). Needs S, the sotto binary.
$S keys init --dir keys >/dev/null
PIN=$($S keys show --dir keys --pin); DEV=$($S device init --out device.key); $S device allow $DEV --allow-list allow >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=bench-ca 2>/dev/null
for n in worker router; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr -subj /CN=$n 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > ext
  openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 1 -extfile ext 2>/dev/null
done
chmod 600 *.key
