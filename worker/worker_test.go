package worker

import (
	"testing"

	"go.temporal.io/sdk/mocks"
)

func TestNewRequiresACrusoeClient(t *testing.T) {
	if _, err := New(&mocks.Client{}, Options{}); err == nil {
		t.Fatal("a worker without a Crusoe client would fail every activity; New must refuse it")
	}
}
