// Package stagingtest runs a real S3-protocol server (gofakes3, in memory)
// on loopback with one bucket, for tests of media staging.
package stagingtest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/igmcp/igmcp/staging"
)

// Test credentials of the server (it accepts any).
const (
	AccessKeyID     = "AKIAIGMCPTEST"
	SecretAccessKey = "igmcp-test-secret-key"
	Bucket          = "igmcp-media"
)

// Config starts the server, creates the bucket and returns a staging
// config pointing at it (path-style, http on loopback).
func Config(t testing.TB) staging.Config {
	t.Helper()
	ts := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(ts.Close)
	admin := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")})
	if _, err := admin.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(Bucket)}); err != nil {
		t.Fatal(err)
	}
	return staging.Config{Bucket: Bucket, Endpoint: ts.URL, Region: "us-east-1", AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
}

// New is a staging bucket on a fresh server.
func New(t testing.TB) *staging.Bucket {
	t.Helper()
	b, err := staging.New(Config(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
