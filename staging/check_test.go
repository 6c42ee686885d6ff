package staging_test

import (
	"errors"
	"testing"

	"github.com/igmcp/igmcp/staging"
	"github.com/igmcp/igmcp/staging/stagingtest"
)

func TestCheck(t *testing.T) {
	cfg := stagingtest.Config(t)
	b, err := staging.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(t.Context()); err != nil {
		t.Fatalf("Check of an existing bucket: %v", err)
	}

	cfg.Bucket = "no-such-bucket"
	missing, err := staging.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = missing.Check(t.Context())
	var ce *staging.CheckError
	if !errors.As(err, &ce) || ce.HTTPStatus != 404 {
		t.Fatalf("Check of a missing bucket = %v, want HTTP 404", err)
	}
	if got := err.Error(); got != "staging: check bucket no-such-bucket: HTTP 404" {
		t.Errorf("message %q", got)
	}

	// Nothing listening: no HTTP status, a message without the endpoint's query.
	cfg = stagingtest.Config(t)
	cfg.Endpoint = "http://127.0.0.1:1"
	down, err := staging.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := down.Check(t.Context()); !errors.As(err, &ce) || ce.HTTPStatus != 0 {
		t.Fatalf("Check of an endpoint that is down = %v", err)
	}
}
