package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/facade"
)

// This file is "your app": a notifier that posts to Slack with a grant held by the vault. Its
// test (notify_test.go) runs it against vaulttest, the in-memory vault, with no network and no
// real Slack.

// Requester is what the notifier needs from the SDK. *facade.App and *facade.Agent both have it,
// and depending on the method rather than a concrete client keeps the notifier easy to test.
type Requester interface {
	Request(ctx context.Context, method, url string, p facade.RequestParams) (*facade.Response, error)
}

// ErrReconnectSlack means the Slack grant can no longer be used: someone must connect Slack again.
var ErrReconnectSlack = errors.New("notifier: Slack must be connected again")

// Notifier posts messages to Slack.
type Notifier struct {
	Vault    Requester
	Grant    uuid.UUID // the Slack grant
	SlackURL string    // https://slack.com in production
}

// Post sends text to channel. A grant that needs re-authorization becomes ErrReconnectSlack; any
// other failure is returned wrapped.
func (n *Notifier) Post(ctx context.Context, channel, text string) error {
	resp, err := n.Vault.Request(ctx, http.MethodPost, strings.TrimRight(n.SlackURL, "/")+"/api/chat.postMessage",
		facade.RequestParams{
			GrantID: n.Grant,
			JSON:    map[string]string{"channel": channel, "text": text},
			Reason:  "notify " + channel,
			Context: auditContext(ctx, channel),
		})
	if errors.Is(err, facade.ErrReAuthRequired) {
		return fmt.Errorf("%w: %w", ErrReconnectSlack, err)
	}
	if err != nil {
		return fmt.Errorf("post to %s: %w", channel, err)
	}
	return resp.Body.Close()
}

// auditContext is the audit metadata of a post: the channel, plus the run, thread and tool call
// of the ctx's trace, which a per-call Context replaces rather than extends.
func auditContext(ctx context.Context, channel string) map[string]string {
	m := map[string]string{"channel": channel}
	t := facade.TraceFrom(ctx)
	for k, v := range map[string]string{"run_id": t.RunID, "thread_id": t.ThreadID, "tool_call_id": t.ToolCallID} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}
