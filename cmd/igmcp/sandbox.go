package main

import (
	"context"
	"fmt"

	"github.com/igmcp/igmcp/auth"
	"github.com/igmcp/igmcp/fakegraph"
	"github.com/igmcp/igmcp/graph"
	"github.com/igmcp/igmcp/webhooks"
)

// sandbox is the simulated Graph API of --sandbox (README "Sandbox"): no
// Meta app, no token, no network; permalinks on a host that cannot exist,
// comments from simulated users, media markers Instagram refuses.
type sandbox struct {
	fake    *fakegraph.Server
	url     string
	account fakegraph.Account
	stop    func()
}

func startSandbox(cfg *config) *sandbox {
	fake := fakegraph.NewSandbox(fakegraph.Options{ImageProcessing: cfg.sandboxImage, VideoProcessing: cfg.sandboxVideo})
	url, stop := fake.Start()
	return &sandbox{fake: fake, url: url, account: fakegraph.DefaultAccount, stop: stop}
}

// login is the sandbox account's login type.
func (s *sandbox) login() auth.Login {
	if s.account.Login == fakegraph.LoginInstagram {
		return auth.LoginInstagram
	}
	return auth.LoginFacebook
}

// subscribe puts the sandbox in the state a sandbox server is in when
// webhooks are configured (its simulated Meta subscribes every account when
// it connects to the receiver), for the commands that run no receiver
// (doctor, webhooks): they then report what the server's sandbox would.
func (s *sandbox) subscribe(ctx context.Context, cfg *config) error {
	opts := cfg.graphOptions(s, nil).forAccount(s.account.ID, s.login())
	c, err := graph.NewClient(append(opts, graph.WithTokenSource(staticToken(s.account.Token)))...)
	if err == nil {
		_, err = webhooks.Subscribe(ctx, c, s.account.ID, s.login(), webhooks.SubscribeOptions{})
	}
	if err != nil {
		return fmt.Errorf("sandbox webhooks: %w", err)
	}
	return nil
}
