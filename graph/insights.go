package graph

import (
	"context"
	"net/url"
	"strconv"
	"strings"
)

// MediaInsights: GET /{mediaID}/insights.
func (c *Client) MediaInsights(ctx context.Context, mediaID string, opts *InsightsOptions) ([]Insight, *Response, error) {
	return c.insights(ctx, "MediaInsights", mediaID, opts)
}

// UserInsights: GET /{igUserID}/insights.
func (c *Client) UserInsights(ctx context.Context, igUserID string, opts *InsightsOptions) ([]Insight, *Response, error) {
	return c.insights(ctx, "UserInsights", igUserID, opts)
}

func (c *Client) insights(ctx context.Context, op, id string, opts *InsightsOptions) ([]Insight, *Response, error) {
	if id == "" {
		return nil, nil, argError(op, "empty id")
	}
	if opts == nil || len(opts.Metrics) == 0 {
		// metric is required by Graph; failing here saves a call.
		return nil, nil, argError(op, "no metrics")
	}
	return list[Insight](ctx, c, seg(id)+"/insights", opts.values())
}

func (o *InsightsOptions) values() url.Values {
	v := url.Values{"metric": {strings.Join(o.Metrics, ",")}}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("period", o.Period)
	set("metric_type", o.MetricType)
	set("breakdown", o.Breakdown)
	set("timeframe", o.Timeframe)
	if !o.Since.IsZero() {
		v.Set("since", strconv.FormatInt(o.Since.Unix(), 10))
	}
	if !o.Until.IsZero() {
		v.Set("until", strconv.FormatInt(o.Until.Unix(), 10))
	}
	return v
}
