package twilioemu_test

import (
	"errors"

	"github.com/twilio/twilio-go/client"
)

func asRestError(err error, target **client.TwilioRestError) bool { return errors.As(err, target) }

func ptr[T any](v T) *T { return &v }
