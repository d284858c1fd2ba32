package twilioemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// nstr is a string that is JSON null when empty: Twilio emits every field,
// null when unset.
type nstr string

func (s nstr) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

// date2822 is a 2010-04-01 API date: RFC 2822, UTC, null when zero.
type date2822 time.Time

func (d date2822) MarshalJSON() ([]byte, error) {
	t := time.Time(d)
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(time.RFC1123Z) + `"`), nil
}

// date3339 is a v1/v2 API date: RFC 3339, UTC, null when zero.
type date3339 time.Time

func (d date3339) MarshalJSON() ([]byte, error) {
	t := time.Time(d)
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(time.RFC3339) + `"`), nil
}

// apiError is Twilio's error body for the 2010 and v1/v2 APIs.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func newAPIError(status, code int, format string, args ...any) *apiError {
	return &apiError{
		Code:     code,
		Message:  fmt.Sprintf(format, args...),
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		Status:   status,
	}
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %d: %s", e.Status, e.Code, e.Message) }

// Errors the emulator answers with, as Twilio words them.
func errNotFound(what string) *apiError {
	return newAPIError(http.StatusNotFound, 20404, "The requested resource %s was not found", what)
}
func errAuth() *apiError { return newAPIError(http.StatusUnauthorized, 20003, "Authenticate") }
func errTooMany() *apiError {
	return newAPIError(http.StatusTooManyRequests, 20429, "Too Many Requests")
}
func errUnavailable() *apiError {
	return newAPIError(http.StatusServiceUnavailable, 20503, "Service Unavailable")
}
func errMissing(param string) *apiError {
	return newAPIError(http.StatusBadRequest, 21201, "No '%s' provided", param)
}
func errInvalid(param, value string) *apiError {
	return newAPIError(http.StatusBadRequest, 21218, "Invalid %s: %q", param, value)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	b, err := json.Marshal(v)
	if err != nil {
		// Every value the emulator writes is its own struct; a failure here is a bug.
		status, b = http.StatusInternalServerError, []byte(`{"code":20500,"message":"Internal Server Error","more_info":"https://www.twilio.com/docs/errors/20500","status":500}`)
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) { writeJSON(w, e.Status, e) }

// formBool parses Twilio's boolean form values.
func formBool(v string) (bool, error) {
	switch v {
	case "true", "True", "TRUE", "1":
		return true, nil
	case "false", "False", "FALSE", "0":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

// httpMethod normalises a GET/POST form value, defaulting to POST.
func httpMethod(param, v string) (string, *apiError) {
	switch m := strings.ToUpper(v); m {
	case "":
		return "POST", nil
	case "GET", "POST":
		return m, nil
	}
	return "", errInvalid(param, v)
}

func itoa(n int) string { return strconv.Itoa(n) }
