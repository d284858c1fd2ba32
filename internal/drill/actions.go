package drill

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/store"
)

// Errors CloseAction classifies, for the CLI's exit codes and the API's
// statuses.
var (
	ErrNoAction     = errors.New("no such action item")
	ErrActionClosed = errors.New("action item already closed")
	ErrNoNote       = errors.New("a note saying what was done is required")
)

// CloseAction closes a drill's action item as person, with a note, and
// audits it: the one path `voicedr drill actions close` and the API share.
// The audit entry follows the save: an item closed without its entry is
// visible (closed_by, note), an entry for an item not closed would be a
// false record. Callers serialise concurrent closes of one item.
func CloseAction(ctx context.Context, st store.Store, audit execute.Auditor, id, person, note string, now time.Time) (store.ActionItem, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return store.ActionItem{}, ErrNoNote
	}
	items, err := st.ActionItems(ctx, false)
	if err != nil {
		return store.ActionItem{}, err
	}
	var item *store.ActionItem
	for i := range items {
		if items[i].ID == id {
			item = &items[i]
		}
	}
	switch {
	case item == nil:
		return store.ActionItem{}, fmt.Errorf("action item %s: %w", id, ErrNoAction)
	case !item.ClosedAt.IsZero():
		return *item, fmt.Errorf("action item %s was closed by %s on %s (%s): %w",
			id, item.ClosedBy, item.ClosedAt.UTC().Format(time.RFC3339), item.Note, ErrActionClosed)
	}
	item.ClosedAt, item.ClosedBy, item.Note = now.UTC(), person, note
	if err := st.SaveActionItem(ctx, *item); err != nil {
		return store.ActionItem{}, err
	}
	if audit != nil {
		if _, err := audit.Append(ctx, "drill.action_closed", person, item.ID, item); err != nil {
			return *item, fmt.Errorf("action item %s closed, but not audited: %w", item.ID, err)
		}
	}
	return *item, nil
}
