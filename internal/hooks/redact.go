package hooks

import (
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

const redactedText = "[redacted]"

// minFragment is the shortest piece of a URL redacted on its own. Tokens are
// long; redacting every short path segment ("v1", "hooks") would make output
// unreadable without protecting anything.
const minFragment = 8

// redactor removes a hook URL, and the parts of it that can carry a token,
// from text the hook's endpoint or the transport produced: an endpoint may
// echo its own URL, and JSON encoders escape "&" and "/" so the whole URL
// would not match while its token still would.
type redactor struct{ secrets []string }

func newRedactor(u *url.URL, secret bool) redactor {
	var s []string
	add := func(v string) {
		if v != "" {
			s = append(s, v)
		}
	}
	addLong := func(v string) {
		if len(v) >= minFragment {
			s = append(s, v)
		}
	}
	if u.User != nil {
		add(u.User.String())
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	add(u.RawQuery)
	for _, vs := range u.Query() {
		for _, v := range vs {
			addLong(v)
		}
	}
	if secret {
		// From a reference, the whole URL is the secret (Slack-style hooks
		// put the token in the path), so its path goes too.
		add(u.String())
		if p := u.EscapedPath(); p != "" && p != "/" {
			add(p)
		}
		for _, seg := range strings.Split(u.Path, "/") {
			addLong(seg)
		}
	}
	// Longest first, so a URL is replaced whole rather than piece by piece.
	slices.SortStableFunc(s, func(a, b string) int { return len(b) - len(a) })
	return redactor{secrets: s}
}

func (r redactor) redact(text string) string {
	for _, s := range r.secrets {
		text = strings.ReplaceAll(text, s, redactedText)
	}
	return text
}

// captureLimit is how much output to keep so that a secret starting inside
// the first outputLimit bytes is captured whole and can be redacted.
func (r redactor) captureLimit() int {
	n := outputLimit
	if len(r.secrets) > 0 {
		n += len(r.secrets[0])
	}
	return n
}

// output turns captured bytes into Result.Output: the first outputLimit
// bytes, redacted. The cut is moved back before any secret it would split,
// so no prefix of a secret survives truncation.
func (r redactor) output(b []byte) string {
	text := string(b)
	cut := min(len(text), outputLimit)
	for moved := true; moved; {
		moved = false
		for _, s := range r.secrets {
			for i := 0; ; {
				k := strings.Index(text[i:], s)
				if k < 0 || i+k >= cut {
					break
				}
				if start := i + k; start+len(s) > cut {
					cut, moved = start, true
					break
				}
				i += k + 1
			}
		}
	}
	truncated := cut < len(text)
	out := r.redact(text[:cut])
	if len(out) > outputLimit {
		out, truncated = out[:outputLimit], true
	}
	if truncated {
		// The cut may split a multi-byte character; drop its pieces
		// rather than journal a replacement character.
		for i := 0; i < utf8.UTFMax-1 && out != ""; i++ {
			if r, size := utf8.DecodeLastRuneInString(out); r != utf8.RuneError || size != 1 {
				break
			}
			out = out[:len(out)-1]
		}
	}
	// The journal is JSON: make the text valid UTF-8 once, here, so a
	// binary answer is stored the same way every time.
	return strings.ToValidUTF8(out, "\uFFFD")
}

// wrap gives err a redacted text while keeping it in the chain for
// errors.Is and errors.As.
func (r redactor) wrap(err error) error {
	if err == nil {
		return nil
	}
	return redactedError{msg: r.redact(err.Error()), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// limitedBuffer keeps the first limit bytes written to it and discards the
// rest while reporting success, so a chatty command is never blocked on a
// full pipe and never fills memory.
type limitedBuffer struct {
	limit int
	buf   []byte
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *limitedBuffer) Bytes() []byte { return b.buf }
