package device

import "context"

// enrolmentKey is the context key of a request's enrolment credential.
type enrolmentKey struct{}

// WithEnrolment returns ctx carrying the request's Sotto-Enrolment
// credential, which an enrolment policy (package enrol) reads in Trusted:
// the Policy interface stays a question about the key, and the server
// passes what the device presented beside it.
func WithEnrolment(ctx context.Context, credential string) context.Context {
	if credential == "" {
		return ctx
	}
	return context.WithValue(ctx, enrolmentKey{}, credential)
}

// EnrolmentFrom returns the credential WithEnrolment put in ctx, or "".
func EnrolmentFrom(ctx context.Context) string {
	s, _ := ctx.Value(enrolmentKey{}).(string)
	return s
}
