package staging

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// CheckError is a bucket that did not answer HeadBucket with success.
type CheckError struct {
	// HTTPStatus is the bucket service's answer (404: no such bucket,
	// 403: the credentials may not list it, 301: another region); 0 when
	// there was no answer.
	HTTPStatus int
	Err        error
}

func (e *CheckError) Error() string { return e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// Check asks the service whether the bucket exists and the credentials
// may use it (HeadBucket, which needs s3:ListBucket); nothing is written.
// `igmcp doctor` uses it.
func (b *Bucket) Check(ctx context.Context) error {
	_, err := b.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b.cfg.Bucket)})
	if err == nil {
		return nil
	}
	ce := &CheckError{Err: describe("check bucket "+b.cfg.Bucket, err)}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		ce.HTTPStatus = status.HTTPStatusCode()
		ce.Err = fmt.Errorf("staging: check bucket %s: HTTP %d", b.cfg.Bucket, ce.HTTPStatus)
	}
	return ce
}
