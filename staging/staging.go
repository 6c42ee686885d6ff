// Package staging puts a local image where Instagram can fetch it.
//
// Instagram takes images only from a public URL (docs/graph-api.md §6), so
// an image given as file_path is uploaded to an S3-compatible bucket the
// user configures (AWS S3, Cloudflare R2, MinIO, Backblaze B2, …) and
// Instagram gets a short-lived presigned GET URL: the bucket stays private
// and the object is readable only through that URL until it expires. The
// object is deleted once Instagram has fetched it; a bucket lifecycle rule
// on the prefix is the backstop for anything left behind.
package staging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/igmcp/igmcp/localfile"
	"github.com/igmcp/igmcp/netguard"
)

// Environment variables (docs/reference.md §2 style: every secret also as _FILE).
const (
	EnvBucket          = "IGMCP_STAGING_BUCKET"
	EnvEndpoint        = "IGMCP_STAGING_ENDPOINT"
	EnvRegion          = "IGMCP_STAGING_REGION"
	EnvAccessKeyID     = "IGMCP_STAGING_ACCESS_KEY_ID"
	EnvSecretAccessKey = "IGMCP_STAGING_SECRET_ACCESS_KEY" // also _FILE
	EnvSessionToken    = "IGMCP_STAGING_SESSION_TOKEN"     // also _FILE
	EnvPrefix          = "IGMCP_STAGING_PREFIX"
	EnvURLTTL          = "IGMCP_STAGING_URL_TTL"
	EnvPathStyle       = "IGMCP_STAGING_PATH_STYLE"
)

// Defaults.
const (
	DefaultRegion = "us-east-1"
	DefaultPrefix = "igmcp-staging/"
	DefaultURLTTL = time.Hour
	maxURLTTL     = 7 * 24 * time.Hour // SigV4 presigned URLs live at most 7 days
	minURLTTL     = 5 * time.Minute
)

// Config is a bucket to stage media in.
type Config struct {
	Bucket string
	// Endpoint is the S3 API URL of a non-AWS service (https://…); empty
	// means AWS S3 in Region.
	Endpoint        string
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Prefix of staged object keys (default igmcp-staging/).
	Prefix string
	// URLTTL is how long the presigned URL works (default 1 h).
	URLTTL time.Duration
	// PathStyle addresses the bucket as endpoint/bucket/key (default: on
	// with an Endpoint, off for AWS).
	PathStyle *bool
	// HTTPClient is used for the S3 API (tests).
	HTTPClient *http.Client
}

// FromEnv reads the IGMCP_STAGING_* settings. It returns nil (and no
// error) when IGMCP_STAGING_BUCKET is unset: staging is off. Credentials
// fall back to AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
func FromEnv(getenv func(string) string) (*Config, error) {
	bucket := strings.TrimSpace(getenv(EnvBucket))
	if bucket == "" {
		return nil, nil
	}
	secret := func(name, fallback string) (string, error) {
		if v := getenv(name); v != "" {
			return v, nil
		}
		if p := getenv(name + "_FILE"); p != "" {
			b, err := os.ReadFile(p)
			if err != nil {
				return "", fmt.Errorf("%s_FILE: %v", name, err)
			}
			return strings.TrimSpace(string(b)), nil
		}
		return getenv(fallback), nil
	}
	c := &Config{
		Bucket:      bucket,
		Endpoint:    strings.TrimSpace(getenv(EnvEndpoint)),
		Region:      strings.TrimSpace(getenv(EnvRegion)),
		AccessKeyID: strings.TrimSpace(getenv(EnvAccessKeyID)),
		Prefix:      getenv(EnvPrefix),
	}
	if c.AccessKeyID == "" {
		c.AccessKeyID = getenv("AWS_ACCESS_KEY_ID")
	}
	var err error
	if c.SecretAccessKey, err = secret(EnvSecretAccessKey, "AWS_SECRET_ACCESS_KEY"); err != nil {
		return nil, err
	}
	if c.SessionToken, err = secret(EnvSessionToken, "AWS_SESSION_TOKEN"); err != nil {
		return nil, err
	}
	if v := getenv(EnvURLTTL); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %v (e.g. 30m, 2h)", EnvURLTTL, err)
		}
		c.URLTTL = d
	}
	if v := getenv(EnvPathStyle); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s must be true or false", EnvPathStyle)
		}
		c.PathStyle = &b
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	if c.Bucket == "" {
		return fmt.Errorf("%s is required", EnvBucket)
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return fmt.Errorf("staging needs credentials: set %s and %s (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", EnvAccessKeyID, EnvSecretAccessKey)
	}
	if c.URLTTL != 0 && (c.URLTTL < minURLTTL || c.URLTTL > maxURLTTL) {
		return fmt.Errorf("%s must be between %s and %s", EnvURLTTL, minURLTTL, maxURLTTL)
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("%s must be an https URL such as https://<account>.r2.cloudflarestorage.com", EnvEndpoint)
		}
		// Instagram fetches only https; plain http is for a local
		// S3-compatible server (tests, development) alone.
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			return fmt.Errorf("%s must use https: Instagram fetches media only from https URLs", EnvEndpoint)
		}
	}
	return nil
}

// guardedClient talks to the bucket only at a global unicast address
// (netguard): a presigned URL on a private address could never be fetched
// by Instagram, and the server must not be steered into its own network.
// An endpoint the operator set on loopback (a local S3-compatible server,
// validate allows it over plain http) is the one exception.
func guardedClient(endpoint string) *http.Client {
	n := netguard.Options{}
	if u, err := url.Parse(endpoint); err == nil && endpoint != "" && isLoopback(u.Hostname()) {
		n.AllowLoopback = true
	}
	return &http.Client{Transport: n.Transport(), CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // S3 redirects are errors to report, not hops to follow
	}}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Staged is one staged file.
type Staged struct {
	// URL is the presigned GET URL to give Instagram. It grants read
	// access to this one object until Expires; do not log it.
	URL     string
	Key     string
	Expires time.Time
}

// Bucket stages files in one S3-compatible bucket. It is safe for
// concurrent use.
type Bucket struct {
	cfg     Config
	client  *s3.Client
	presign *s3.PresignClient
}

// New builds a Bucket; nothing is sent until the first Stage.
func New(cfg Config) (*Bucket, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.URLTTL == 0 {
		cfg.URLTTL = DefaultURLTTL
	}
	pathStyle := cfg.Endpoint != ""
	if cfg.PathStyle != nil {
		pathStyle = *cfg.PathStyle
	}
	opts := s3.Options{
		Region:       cfg.Region,
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)),
		UsePathStyle: pathStyle,
		// Checksums only where S3 requires them: S3-compatible services
		// (R2, MinIO, older Ceph) reject the aws-chunked trailers the SDK
		// would otherwise add to every upload.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           3,
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(strings.TrimRight(cfg.Endpoint, "/"))
	}
	if cfg.HTTPClient != nil {
		opts.HTTPClient = cfg.HTTPClient
	} else {
		opts.HTTPClient = guardedClient(cfg.Endpoint)
	}
	client := s3.New(opts)
	return &Bucket{cfg: cfg, client: client, presign: s3.NewPresignClient(client)}, nil
}

// URLTTL is how long staged URLs work.
func (b *Bucket) URLTTL() time.Duration { return b.cfg.URLTTL }

// Stage uploads the file at path under a random key (the local file name
// is not revealed) and presigns a GET for it.
func (b *Bucket) Stage(ctx context.Context, path, contentType string) (*Staged, error) {
	// Only a regular file outside /proc, /sys and /dev, read within the
	// size it had when opened (localfile).
	f, err := localfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	key := b.cfg.Prefix + hex.EncodeToString(rnd[:]) + strings.ToLower(filepath.Ext(path))
	_, err = b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.cfg.Bucket),
		Key:           aws.String(key),
		Body:          io.NewSectionReader(f, 0, f.Size()),
		ContentLength: aws.Int64(f.Size()),
		ContentType:   aws.String(contentType),
		CacheControl:  aws.String("private, max-age=0"),
	})
	if err != nil {
		return nil, describe("upload to bucket "+b.cfg.Bucket, err)
	}
	req, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.cfg.Bucket), Key: aws.String(key)},
		s3.WithPresignExpires(b.cfg.URLTTL))
	if err != nil {
		return nil, describe("presign", err)
	}
	return &Staged{URL: req.URL, Key: key, Expires: time.Now().Add(b.cfg.URLTTL)}, nil
}

// Delete removes a staged object.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if !strings.HasPrefix(key, b.cfg.Prefix) {
		return errors.New("staging: refusing to delete a key outside the staging prefix")
	}
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		return describe("delete from bucket "+b.cfg.Bucket, err)
	}
	return nil
}

// describe keeps an SDK error short and free of request URLs (a presigned
// URL is a credential).
func describe(what string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("staging: %s: %v", what, ue.Err)
	}
	msg := err.Error()
	if i := strings.Index(msg, "?X-Amz-"); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Errorf("staging: %s: %s", what, msg)
}

// StageFunc adapts the bucket to publish.Stager: stage, and a function
// that deletes the staged copy.
func (b *Bucket) StageFunc() func(ctx context.Context, path, contentType string) (string, func(context.Context) error, error) {
	return func(ctx context.Context, path, contentType string) (string, func(context.Context) error, error) {
		st, err := b.Stage(ctx, path, contentType)
		if err != nil {
			return "", nil, err
		}
		return st.URL, func(ctx context.Context) error { return b.Delete(ctx, st.Key) }, nil
	}
}

// SandboxStageFunc is the stager of `--sandbox`: the simulated Graph API
// never fetches media, so nothing is uploaded anywhere (nothing may leave
// the machine); an image file_path gets a placeholder https URL under the
// reserved .invalid domain.
func SandboxStageFunc() func(ctx context.Context, path, contentType string) (string, func(context.Context) error, error) {
	return func(_ context.Context, path, _ string) (string, func(context.Context) error, error) {
		var rnd [8]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return "", nil, err
		}
		u := "https://staging.sandbox.invalid/" + hex.EncodeToString(rnd[:]) + strings.ToLower(filepath.Ext(path))
		return u, func(context.Context) error { return nil }, nil
	}
}
