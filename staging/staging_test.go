package staging_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igmcp/igmcp/preflight/mediatest"
	"github.com/igmcp/igmcp/staging"
	"github.com/igmcp/igmcp/staging/stagingtest"
)

// S3Server is a real S3-protocol server (gofakes3) on loopback with one
// bucket; it returns the staging config that points at it.
func S3Server(t *testing.T) staging.Config { return stagingtest.Config(t) }

func TestStage_PresignedURLServesTheFile_ThenDelete(t *testing.T) {
	t.Parallel()
	cfg := S3Server(t)
	cfg.URLTTL = 15 * time.Minute
	b, err := staging.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	jpg := mediatest.JPEG(1080, 1350)
	path := filepath.Join(t.TempDir(), "Holiday Photo.JPG")
	if err := os.WriteFile(path, jpg, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := b.Stage(t.Context(), path, "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.Key, staging.DefaultPrefix) || strings.Contains(st.Key, "Holiday") || !strings.HasSuffix(st.Key, ".jpg") {
		t.Fatalf("key %q must be random under the prefix and keep the extension", st.Key)
	}
	u, err := url.Parse(st.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("X-Amz-Signature") == "" || q.Get("X-Amz-Expires") != "900" || !strings.Contains(u.Path, "/igmcp-media/") {
		t.Fatalf("not a path-style presigned URL with a 15-minute expiry: %s", st.URL)
	}
	if time.Until(st.Expires) > 16*time.Minute || time.Until(st.Expires) < 14*time.Minute {
		t.Fatalf("expires %v", st.Expires)
	}
	// Anyone holding the URL (Instagram) can fetch the object, with no
	// credentials of their own.
	resp, err := http.Get(st.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, jpg) || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("GET presigned: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
	}
	if err := b.Delete(t.Context(), st.Key); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(st.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("after delete: %d", resp.StatusCode)
	}
	if err := b.Delete(t.Context(), "other/key.jpg"); err == nil {
		t.Fatal("deleted outside the staging prefix")
	}
}

func TestStage_Errors(t *testing.T) {
	t.Parallel()
	cfg := S3Server(t)
	cfg.Bucket = "no-such-bucket"
	b, err := staging.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "a.jpg")
	if err := os.WriteFile(path, mediatest.JPEG(10, 10), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = b.Stage(t.Context(), path, "image/jpeg")
	if err == nil || strings.Contains(err.Error(), stagingtest.SecretAccessKey) || strings.Contains(err.Error(), "X-Amz-Signature") {
		t.Fatalf("missing bucket: %v", err)
	}
	if _, err := b.Stage(t.Context(), filepath.Join(t.TempDir(), "missing.jpg"), "image/jpeg"); err == nil {
		t.Fatal("staged a missing file")
	}
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte("s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if c, err := staging.FromEnv(env(nil)); c != nil || err != nil {
		t.Fatalf("no bucket: %+v %v", c, err)
	}
	c, err := staging.FromEnv(env(map[string]string{
		"IGMCP_STAGING_BUCKET": "b", "IGMCP_STAGING_ENDPOINT": "https://acct.r2.cloudflarestorage.com", "IGMCP_STAGING_REGION": "auto",
		"IGMCP_STAGING_ACCESS_KEY_ID": "id", "IGMCP_STAGING_SECRET_ACCESS_KEY_FILE": secretFile, "IGMCP_STAGING_URL_TTL": "30m",
	}))
	if err != nil || c.SecretAccessKey != "s3cr3t" || c.URLTTL != 30*time.Minute || c.Region != "auto" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = staging.FromEnv(env(map[string]string{"IGMCP_STAGING_BUCKET": "b", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"}))
	if err != nil || c.AccessKeyID != "a" || c.SecretAccessKey != "s" {
		t.Fatalf("AWS_* fallback: %+v %v", c, err)
	}
	for name, m := range map[string]map[string]string{
		"no credentials": {"IGMCP_STAGING_BUCKET": "b"},
		"http endpoint":  {"IGMCP_STAGING_BUCKET": "b", "IGMCP_STAGING_ACCESS_KEY_ID": "a", "IGMCP_STAGING_SECRET_ACCESS_KEY": "s", "IGMCP_STAGING_ENDPOINT": "http://minio.example.com"},
		"bad ttl":        {"IGMCP_STAGING_BUCKET": "b", "IGMCP_STAGING_ACCESS_KEY_ID": "a", "IGMCP_STAGING_SECRET_ACCESS_KEY": "s", "IGMCP_STAGING_URL_TTL": "30d"},
		"ttl too long":   {"IGMCP_STAGING_BUCKET": "b", "IGMCP_STAGING_ACCESS_KEY_ID": "a", "IGMCP_STAGING_SECRET_ACCESS_KEY": "s", "IGMCP_STAGING_URL_TTL": "200h"},
		"path style":     {"IGMCP_STAGING_BUCKET": "b", "IGMCP_STAGING_ACCESS_KEY_ID": "a", "IGMCP_STAGING_SECRET_ACCESS_KEY": "s", "IGMCP_STAGING_PATH_STYLE": "maybe"},
	} {
		if _, err := staging.FromEnv(env(m)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSandboxStageFunc(t *testing.T) {
	t.Parallel()
	u, remove, err := staging.SandboxStageFunc()(t.Context(), "/tmp/x.JPG", "image/jpeg")
	if err != nil || !strings.HasPrefix(u, "https://staging.sandbox.invalid/") || !strings.HasSuffix(u, ".jpg") || remove(t.Context()) != nil {
		t.Fatalf("%q %v", u, err)
	}
}
