package twilio

// Internal rules exposed to the black-box tests in package twilio_test.
var (
	Repeatable = repeatable
	RetryAfter = retryAfter
)
