//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestSnapshotSeedsAnotherEmulator writes an account as a snapshot and seeds
// a second emulator from it: the snapshot format is the seed format.
func TestSnapshotSeedsAnotherEmulator(t *testing.T) {
	dir := t.TempDir()
	snap := filepath.Join(dir, "account.json")
	addr, _, _ := startEmulator(t, "--snapshot-out", snap)
	first := fetchSnapshot(t, "http://"+addr)
	addr2 := freeAddr(t)
	cmd := exec.Command(bin, "emulator", "--listen", addr2, "--seed", snap)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	waitHealthy(t, "http://"+addr2, nil)
	second := fetchSnapshot(t, "http://"+addr2)
	if len(second.Numbers) != 300 || len(first.Numbers) != 300 {
		t.Fatalf("numbers: first %d, seeded %d; want 300", len(first.Numbers), len(second.Numbers))
	}
	for i := range first.Numbers {
		a, b := first.Numbers[i], second.Numbers[i]
		if a.PhoneNumber != b.PhoneNumber || string(a.Records) != string(b.Records) || string(a.Routing) != string(b.Routing) {
			t.Fatalf("number %d differs after seeding:\n%+v\n%+v", i, a, b)
		}
	}
}

type snapshotView struct {
	Numbers []struct {
		PhoneNumber string          `json:"phone_number"`
		Routing     json.RawMessage `json:"routing"`
		Records     json.RawMessage `json:"records"`
	} `json:"numbers"`
}

func fetchSnapshot(t *testing.T, base string) snapshotView {
	t.Helper()
	resp, err := http.Get(base + "/__emulator/v1/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s snapshotView
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func waitHealthy(t *testing.T, base string, c *http.Client) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(base + "/__emulator/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became healthy: %v", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEmulatorServesTLS serves HTTPS with a given certificate, for SDKs in
// other languages pointed at it through a hosts entry.
func TestEmulatorServesTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeCert(t, certFile, keyFile)
	addr := freeAddr(t)
	cmd := exec.Command(bin, "emulator", "--listen", addr, "--tls-cert", certFile, "--tls-key", keyFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "api.twilio.com"}}}
	waitHealthy(t, "https://"+addr, c)
	req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/2010-04-01/Accounts/AC00000000000000000000000000000000/IncomingPhoneNumbers.json", nil)
	req.Host = "api.twilio.com"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated request over TLS: %d, want 401", resp.StatusCode)
	}
}

// writeCert makes a self-signed certificate for *.twilio.com.
func writeCert(t *testing.T, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "twilio.com"},
		DNSNames: []string{"twilio.com", "*.twilio.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
