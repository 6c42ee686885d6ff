package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/igmcp/igmcp/store"
)

func TestTokenStore_NoTokenInClearOnDisk(t *testing.T) {
	ts := newTestStore(t)
	ctx := context.Background()
	exp := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tokA := Secret("IGAAsecret-token-of-account-a-0123456789")
	tokB := Secret("EAAsecret-token-of-account-b-9876543210")
	ts.put(t, Record{AccountID: "17841400000000001", Username: "a", Login: LoginInstagram, Token: tokA,
		IssuedAt: exp.Add(-60 * 24 * time.Hour), Expiry: exp, Scopes: []string{"instagram_business_basic"}})
	ts.put(t, Record{AccountID: "17841400000000002", Username: "b", Login: LoginFacebook, Token: tokB, Expiry: exp})

	recs, err := ts.tokens.List(ctx)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v %v", recs, err)
	}
	a := recs[0]
	if a.Token != tokA || a.Login != LoginInstagram || !a.Expiry.Equal(exp) || a.Scopes[0] != "instagram_business_basic" ||
		!a.IssuedAt.Equal(exp.Add(-60*24*time.Hour)) || a.Username != "a" {
		t.Fatalf("round trip: %+v", a)
	}
	// what the store itself sees: expiry, scopes, flow in clear; the token not
	raw, err := ts.st.GetToken(ctx, "17841400000000001")
	if err != nil {
		t.Fatal(err)
	}
	if raw.LoginFlow != "instagram" || !raw.ExpiresAt.Equal(exp) || bytes.Contains(raw.Ciphertext, []byte(tokA)) {
		t.Fatalf("stored row: %+v", raw)
	}
	if err := ts.st.Close(); err != nil { // flush the WAL into the file too
		t.Fatal(err)
	}
	disk := dirBytes(t, ts.dir)
	for _, tok := range []Secret{tokA, tokB} {
		if bytes.Contains(disk, []byte(tok)) {
			t.Fatalf("token %.8s… found in clear in the data dir", tok)
		}
	}
	if !bytes.Contains(disk, []byte("instagram_business_basic")) {
		t.Fatal("scopes are expected beside the token, in clear (sanity check of the grep)")
	}
}

func TestTokenStore_CiphertextBoundToAccount(t *testing.T) {
	ts := newTestStore(t)
	ctx := context.Background()
	ts.put(t, Record{AccountID: "1", Login: LoginFacebook, Token: "EAAone"})
	ts.put(t, Record{AccountID: "2", Login: LoginFacebook, Token: "EAAtwo"})
	one, _ := ts.st.GetToken(ctx, "1")
	two, _ := ts.st.GetToken(ctx, "2")
	two.Ciphertext = one.Ciphertext // moved to another row
	if _, err := ts.st.PutToken(ctx, two); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.tokens.Get(ctx, "2"); err == nil {
		t.Fatal("a ciphertext moved to another account must not decrypt")
	}
	if _, err := ts.tokens.Get(ctx, "3"); err == nil {
		t.Fatal("missing record")
	} else if !isNotFound(err) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, store.ErrNotFound) }

func TestRecord_PrintsNoToken(t *testing.T) {
	r := Record{AccountID: "1", Token: "EAAprinted-secret"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "rec", r, "tok", r.Token)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "rec", r, "tok", r.Token)
	j, _ := json.Marshal(r)
	out := fmt.Sprintf("%v %+v %#v %s %v", r, r, r, r.Token, &r) + buf.String() + string(j)
	assertNoSecrets(t, "printed record", out, "EAAprinted-secret")
}
